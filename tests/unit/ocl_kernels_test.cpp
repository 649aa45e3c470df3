// The OCL device's kernel families against REF on small graphs: each test
// compiles ONE model (one program build) holding several ops of a family, one
// graph output per checked op, and compares every output with REF
// (rtol 1e-3, atol 1e-4).
#include <gtest/gtest.h>

#include "autosched/plugin/device_registry.hpp"
#include "model/zoo/graph_builder.hpp"
#include "ocl_test_support.hpp"

namespace autosched::ocl_test {
namespace {

using zoo::GraphBuilder;
using Ints = std::vector<std::int64_t>;
using Attrs = GraphBuilder::Attributes;

TEST(OclKernels, UnaryAndBroadcastingBinary) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_elementwise", 11);
  const auto x = b.add_input("x", {2, 3, 4, 5});
  const auto pos = b.add_node("Abs", {x}, {}, "abs");
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Neg", "Floor", "Softplus", "HardSwish", "Sin"})
    b.add_output(b.add_node(op, {x}, {}, std::string("u_") + op));
  b.add_output(b.add_node("Sqrt", {pos}, {}, "sqrt"));
  b.add_output(b.add_node("Log", {b.add_node("Add", {pos, b.add_scalar("one", 1.0f)}, {}, "pos1")}, {}, "log"));
  b.add_output(b.add_node("LeakyRelu", {x}, {{"alpha", 0.2}}, "leaky"));
  b.add_output(b.add_node("HardSigmoid", {x}, {{"alpha", 0.3}, {"beta", 0.4}}, "hsig"));
  b.add_output(b.add_node("Elu", {x}, {{"alpha", 0.7}}, "elu"));
  b.add_output(b.add_node("Clip", {x, b.add_scalar("lo", -0.5f), b.add_scalar("hi", 0.25f)}, {}, "clip"));
  b.add_output(b.add_node("Clip", {x, "", b.add_scalar("hi2", 0.1f)}, {}, "clip_max_only"));
  const auto row = b.add_normal("row", {4, 1}, 1.0);
  const auto chan = b.add_normal("chan", {1, 3, 1, 1}, 1.0, 2.0);
  const auto y = b.add_input("y", {3, 1, 5});
  b.add_output(b.add_node("Add", {x, row}, {}, "add_bcast"));
  b.add_output(b.add_node("Sub", {row, x}, {}, "sub_bcast_lhs"));
  b.add_output(b.add_node("Mul", {x, y}, {}, "mul_inputs"));
  b.add_output(b.add_node("Div", {x, chan}, {}, "div_chan"));
  b.add_output(b.add_node("Pow", {x, b.add_scalar("two", 2.0f)}, {}, "pow2"));
  b.add_output(b.add_node("Pow", {pos, b.add_scalar("p", 1.5f)}, {}, "pow_frac"));
  b.add_output(b.add_node("Max", {x, y}, {}, "max"));
  b.add_output(b.add_node("Min", {x, row}, {}, "min"));
  b.add_output(b.add_node("PRelu", {x, b.add_normal("slope", {5}, 0.5)}, {}, "prelu"));
  expect_matches_reference(Model(b.finish()));
}

TEST(OclKernels, ConvolutionPoolingBatchNorm) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_conv", 12);
  const auto x = b.add_input("x", {2, 8, 9, 9});
  // Conv 3x3/s2 + BN + Relu (im2col + GEMM, BN folded, Relu fused).
  b.add_output(b.conv_bn(x, "c3", 8, 16, 3, 2, 1, zoo::Activation::relu));
  // Pointwise conv (no im2col) with bias, not fused (two readers).
  const auto pw = b.add_node("Conv", {x, b.add_normal("pw.w", {4, 8, 1, 1}, 0.3), b.add_normal("pw.b", {4}, 0.1)},
                             {}, "pointwise");
  b.add_output(pw);
  b.add_output(b.add_node("Sigmoid", {pw}, {}, "pw_sigmoid"));
  // Depthwise 3x3 + BN + Relu6 (direct kernel), grouped conv with dilation and asymmetric pads.
  b.add_output(b.conv_bn(x, "dw", 8, 8, 3, 1, 8, zoo::Activation::relu6));
  b.add_output(b.add_node("Conv", {x, b.add_normal("g.w", {6, 4, 3, 3}, 0.3)},
                          {{"group", std::int64_t{2}}, {"dilations", Ints{2, 2}}, {"pads", Ints{1, 2, 0, 1}}},
                          "grouped"));
  b.add_output(b.add_node("Conv", {x, b.add_normal("same.w", {3, 8, 4, 4}, 0.3)},
                          {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}}, "same_upper"));
  // 1-D conv.
  const auto x1 = b.add_input("x1", {1, 3, 17});
  b.add_output(b.add_node("Conv", {x1, b.add_normal("c1.w", {5, 3, 3}, 0.3)}, {{"strides", Ints{2}}}, "conv1d"));
  // Pooling.
  b.add_output(b.add_node("MaxPool", {x}, {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}},
                          "maxpool"));
  b.add_output(b.add_node("MaxPool", {x}, {{"kernel_shape", Ints{2, 2}}, {"ceil_mode", std::int64_t{1}}, {"strides", Ints{2, 2}}},
                          "maxpool_ceil"));
  b.add_output(b.add_node("AveragePool", {x}, {{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}}, "avgpool"));
  b.add_output(b.add_node("AveragePool", {x},
                          {{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}, {"count_include_pad", std::int64_t{1}}},
                          "avgpool_incl"));
  b.add_output(b.add_node("GlobalAveragePool", {x}, {}, "gap"));
  b.add_output(b.add_node("GlobalMaxPool", {x}, {}, "gmp"));
  // Standalone BatchNormalization on a graph input.
  b.add_output(b.add_node("BatchNormalization",
                          {x, b.add_normal("bn.g", {8}, 0.1, 1.0), b.add_normal("bn.b", {8}, 0.1),
                           b.add_normal("bn.m", {8}, 0.1), b.add_filled("bn.v", {8}, 0.5f)},
                          {{"epsilon", 1e-3}}, "bn_alone"));
  expect_matches_reference(Model(b.finish()));
}

TEST(OclKernels, GemmAndMatMul) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_gemm", 13);
  const auto a = b.add_input("a", {6, 20});
  b.add_output(b.gemm(a, "fc", 20, 7, "gemm_transB_bias"));
  b.add_output(b.add_node("Gemm", {a, b.add_normal("w2", {6, 5}, 0.3), b.add_normal("c2", {20, 1}, 0.3)},
                          {{"transA", std::int64_t{1}}, {"alpha", 0.5}, {"beta", 2.0}}, "gemm_transA_col_bias"));
  b.add_output(b.add_node("Gemm", {a, b.add_normal("w3", {20, 3}, 0.3)}, {}, "gemm_no_bias"));
  const auto s = b.add_input("s", {2, 3, 4, 20});
  b.add_output(b.add_node("MatMul", {s, b.add_normal("w4", {20, 9}, 0.3)}, {}, "matmul_weights"));
  const auto t = b.add_input("t", {2, 3, 20, 5});
  b.add_output(b.add_node("MatMul", {s, t}, {}, "matmul_batched"));
  const auto u = b.add_input("u", {1, 3, 20, 4});
  const auto v = b.add_input("v", {2, 1, 4, 20});
  b.add_output(b.add_node("MatMul", {v, u}, {}, "matmul_broadcast_batch"));
  const auto vec = b.add_input("vec", {20});
  b.add_output(b.add_node("MatMul", {vec, t}, {}, "matmul_vector_lhs"));
  b.add_output(b.add_node("MatMul", {a, vec}, {}, "matmul_vector_rhs"));
  // One-row products run as GEMV.
  const auto col = b.add_input("col", {20, 1});
  const auto row = b.add_input("row", {1, 20});
  b.add_output(b.add_node("Gemm", {col, b.add_normal("w5", {20, 4}, 0.3)}, {{"transA", std::int64_t{1}}, {"alpha", 1.5}},
                          "gemv_transA"));
  b.add_output(b.add_node("MatMul", {row, "w4"}, {}, "gemv_matmul"));
  b.add_output(b.add_node("Gemm", {row, b.add_normal("w6", {7, 20}, 0.3), b.add_normal("c6", {7}, 0.3)},
                          {{"transB", std::int64_t{1}}, {"beta", 0.5}}, "gemv_transB_bias"));
  expect_matches_reference(Model(b.finish()));
}

TEST(OclKernels, NormalizationSoftmaxReduce) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_norm", 14);
  const auto x = b.add_input("x", {2, 3, 4, 6});
  b.add_output(b.add_node("Softmax", {x}, {{"axis", std::int64_t{-1}}}, "softmax_last"));
  b.add_output(b.add_node("Softmax", {x}, {{"axis", std::int64_t{1}}}, "softmax_axis1"));
  b.add_output(b.add_node("LogSoftmax", {x}, {{"axis", std::int64_t{2}}}, "logsoftmax"));
  b.add_output(b.add_node("LayerNormalization", {x, b.add_normal("ln.g", {6}, 0.1, 1.0), b.add_normal("ln.b", {6}, 0.1)},
                          {{"axis", std::int64_t{-1}}, {"epsilon", 1e-5}}, "layernorm"));
  b.add_output(b.add_node("LayerNormalization", {x, b.add_normal("ln2.g", {4, 6}, 0.1, 1.0)},
                          {{"axis", std::int64_t{2}}}, "layernorm_2d_no_bias"));
  b.add_output(b.add_node("ReduceMean", {x}, {{"axes", Ints{-1}}, {"keepdims", std::int64_t{1}}}, "reduce_mean"));
  b.add_output(b.add_node("ReduceMax", {x}, {{"axes", Ints{1, 2}}, {"keepdims", std::int64_t{0}}}, "reduce_max"));
  b.add_output(b.add_node("ReduceSum", {x, b.add_i64("sum.axes", {0})}, {}, "reduce_sum_axes_input"));
  b.add_output(b.add_node("ReduceL2", {x}, {}, "reduce_l2_all"));
  b.add_output(b.add_node("ReduceLogSumExp", {x}, {{"axes", Ints{3}}}, "reduce_logsumexp"));
  expect_matches_reference(Model(b.finish()));
}

TEST(OclKernels, DataMovement) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_movement", 15);
  const auto x = b.add_input("x", {2, 3, 4, 5});
  b.add_output(b.add_node("Transpose", {x}, {{"perm", Ints{0, 2, 3, 1}}}, "transpose"));
  b.add_output(b.add_node("Transpose", {x}, {}, "transpose_reverse"));
  const auto y = b.add_input("y", {2, 1, 4, 5});
  b.add_output(b.add_node("Concat", {x, y, b.add_normal("cat.c", {2, 2, 4, 5}, 1.0)}, {{"axis", std::int64_t{1}}},
                          "concat"));
  const auto r = b.add_node("Reshape", {x, b.add_i64("shape", {6, 20})}, {}, "reshape");
  b.add_output(b.add_node("Relu", {r}, {}, "relu_of_view"));
  b.add_output(b.add_node("Flatten", {x}, {{"axis", std::int64_t{2}}}, "flatten"));
  b.add_output(b.add_node("Unsqueeze", {b.add_node("Squeeze", {y, b.add_i64("sq.axes", {1})}, {}, "squeeze"),
                                        b.add_i64("unsq.axes", {0})},
                          {}, "unsqueeze"));
  b.add_output(b.add_node("Gather", {x, b.add_i64("gidx", {2, 0, -1})}, {{"axis", std::int64_t{2}}}, "gather"));
  b.add_output(b.add_node("Slice", {x, b.add_i64("sl.s", {1, -1}), b.add_i64("sl.e", {3, 0}), b.add_i64("sl.a", {2, 3}),
                                    b.add_i64("sl.st", {1, -2})},
                          {}, "slice"));
  b.add_output(b.add_node("Expand", {y, b.add_i64("ex.shape", {2, 3, 4, 5})}, {}, "expand"));
  b.add_output(b.add_node("Pad", {x, b.add_i64("pads", {0, 1, 0, 2, 0, 0, 1, 0}), b.add_scalar("padv", 0.5f)}, {},
                          "pad"));
  // A graph output that is a view of a graph input.
  b.add_output(b.add_node("Identity", {x}, {}, "identity"));
  expect_matches_reference(Model(b.finish()));
}

TEST(OclKernels, GatherWithRuntimeIndicesAndSplit) {
  AUTOSCHED_REQUIRE_OCL();
  auto g = std::make_shared<ir::Graph>();
  g->name = "ocl_runtime_gather";
  g->inputs = {PortInfo{"data", ElementType::f32, PartialShape(Shape{10, 6})},
               PortInfo{"ids", ElementType::i64, PartialShape(Shape{2, 3})}};
  Tensor split(ElementType::i64, {2});
  split.data<std::int64_t>()[0] = 2;
  split.data<std::int64_t>()[1] = 4;
  g->initializers["split"] = split;
  g->nodes.push_back(ir::Node{"gather", "Gather", {"data", "ids"}, {"emb"}, {}});
  g->nodes.push_back(ir::Node{"split", "Split", {"emb", "split"}, {"left", "right"}, {{"axis", std::int64_t{-1}}}});
  for (const char* out : {"emb", "left", "right"})
    g->outputs.push_back(PortInfo{out, ElementType::undefined, PartialShape::dynamic_rank()});
  g->finalize();
  const Model model(g);
  auto inputs = make_inputs(model);
  inputs[1] = uniform_tensor(ElementType::i64, {2, 3}, 99, 10);
  inputs[1].data<std::int64_t>()[0] = -1;  // from the end
  expect_close(run(model, "REF", inputs), run(model, "OCL.0", inputs), model.outputs());
}

TEST(OclKernels, UnsupportedOpIsReportedNotRun) {
  AUTOSCHED_REQUIRE_OCL();
  GraphBuilder b("ocl_unsupported", 16);
  const auto x = b.add_input("x", {2, 5});
  const auto relu = b.add_node("Relu", {x}, {}, "relu");
  b.add_output(b.add_node("CumSum", {relu, b.add_i64("axis", {1})}, {}, "cumsum"));
  const Model model(b.finish());
  for (const auto& entry : plugin::device_providers())
    if (entry.family == "OCL") {
      const auto devices = entry.provider(plugin::DeviceContext{});
      ASSERT_FALSE(devices.empty());
      EXPECT_EQ(devices.front()->query_model(model), (std::set<std::string>{"relu"}));
    }
  try {
    core().compile_model(model, "OCL.0");
    FAIL() << "compiling CumSum on OCL.0 should fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("cumsum"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace autosched::ocl_test
