// The CPU (oneDNN) device: each lowering path against REF on small graphs,
// fusion visible in the "cpu_plan" property, per-node fallback, dynamic
// shapes with the program cache, stream pinning, bf16, builtin models.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"
#include "devices/cpu/cpu_isa.hpp"
#include "devices/cpu/omp_wait_policy.hpp"
#include "devices/cpu/program_builder.hpp"
#include "tests/unit/cpu_test_support.hpp"

namespace autosched {
namespace {

using test::Attrs;
using test::core;
using test::expect_close;
using test::Ints;
using test::random_tensor;
using test::TestGraph;

std::vector<Tensor> run_on(const Model& model, const std::string& device, const std::vector<Tensor>& inputs,
                           const Properties& props = {}) {
  auto compiled = core().compile_model(model, device, props);
  auto request = compiled.create_infer_request();
  for (std::size_t k = 0; k < inputs.size(); ++k) request.set_input_tensor(k, inputs[k]);
  request.infer();
  std::vector<Tensor> out;
  for (std::size_t k = 0; k < compiled.outputs().size(); ++k) out.push_back(request.get_output_tensor(k).clone());
  return out;
}

// Runs `model` on REF and CPU with random inputs of `shapes` and compares.
void expect_matches_ref(const Model& model, const std::vector<Shape>& shapes, double rtol = 1e-4,
                        double atol = 1e-5, const Properties& props = {}) {
  std::vector<Tensor> inputs;
  for (std::size_t k = 0; k < shapes.size(); ++k) inputs.push_back(random_tensor(shapes[k], 1000 + std::uint32_t(k)));
  const auto expected = run_on(model, "REF", inputs);
  const auto actual = run_on(model, "CPU", inputs, props);
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t k = 0; k < expected.size(); ++k)
    expect_close(expected[k], actual[k], rtol, atol, "output " + std::to_string(k));
}

std::string plan_of(const Model& model, const Properties& props = {}) {
  return core().compile_model(model, "CPU", props).get_property("cpu_plan");
}

bool plan_has_line_with(const std::string& plan, const std::vector<std::string>& parts) {
  std::size_t start = 0;
  while (start <= plan.size()) {
    const std::size_t end = std::min(plan.find('\n', start), plan.size());
    const std::string line = plan.substr(start, end - start);
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return true;
    start = end + 1;
  }
  return false;
}

TEST(CpuDevice, IsRegisteredAndReportsIsa) {
  const auto devices = core().get_available_devices();
  ASSERT_NE(std::find(devices.begin(), devices.end(), "CPU"), devices.end());
  auto model = core().read_model("builtin:mlp");
  auto compiled = core().compile_model(model, "CPU");
  EXPECT_EQ(compiled.get_property("execution_devices"), "CPU");
  EXPECT_EQ(compiled.get_property("inference_precision"), "f32");
  EXPECT_FALSE(compiled.get_property("cpu_isa").empty());
  EXPECT_GE(compiled.get_property(optimal_number_of_infer_requests), 1);
}

TEST(CpuDevice, ConvBatchNormReluBecomeOneStepAndMatchRef) {
  TestGraph g;
  auto x = g.input("x", Shape{1, 8, 10, 10});
  auto c = g.node("Conv", {x, g.weight("w", {16, 8, 3, 3}), g.weight("b", {16})}, {{"pads", Ints{1, 1, 1, 1}}}, "conv");
  auto bn = g.node("BatchNormalization", {c, g.weight("gamma", {16}, 0.5f, 1.5f), g.weight("beta", {16}),
                                          g.weight("mean", {16}), g.weight("var", {16}, 0.5f, 2.f)}, {}, "bn");
  auto r = g.node("Relu", {bn}, {}, "relu");
  auto model = g.finish({r});
  expect_matches_ref(model, {{1, 8, 10, 10}});
  const std::string plan = plan_of(model);
  EXPECT_TRUE(plan_has_line_with(plan, {"convolution", "Conv:conv", "BatchNormalization:bn", "Relu:relu"})) << plan;
  EXPECT_EQ(plan.find("reference"), std::string::npos) << plan;
}

TEST(CpuDevice, ResidualAddAndReluFuseIntoTheSecondConv) {
  TestGraph g;
  auto x = g.input("x", Shape{1, 16, 8, 8});
  auto a = g.node("Relu", {g.node("Conv", {x, g.weight("w1", {16, 16, 1, 1})}, {}, "conv1")}, {}, "relu1");
  auto b = g.node("Conv", {a, g.weight("w2", {16, 16, 3, 3}), g.weight("b2", {16})}, {{"pads", Ints{1, 1, 1, 1}}}, "conv2");
  auto add = g.node("Add", {b, x}, {}, "add");
  auto out = g.node("Relu", {add}, {}, "relu2");
  auto model = g.finish({out});
  expect_matches_ref(model, {{1, 16, 8, 8}});
  EXPECT_TRUE(plan_has_line_with(plan_of(model), {"Conv:conv2", "Add:add", "Relu:relu2"})) << plan_of(model);
}

// A ResNet block: the block input `a` is read by conv1 and by the Add. The Add's convolution
// writes over `a` when nothing reads `a` later, and copies it when something still does.
TEST(CpuDevice, ResidualIsOverwrittenInPlaceOnlyWhenNothingReadsItLater) {
  for (const bool read_later : {false, true}) {
    TestGraph g;
    auto x = g.input("x", Shape{1, 16, 8, 8});
    auto a = g.node("Relu", {g.node("Conv", {x, g.weight("w0", {16, 16, 1, 1})}, {}, "conv0")}, {}, "a");
    auto b = g.node("Relu", {g.node("Conv", {a, g.weight("w1", {16, 16, 1, 1})}, {}, "conv1")}, {}, "b");
    auto c = g.node("Conv", {b, g.weight("w2", {16, 16, 3, 3})}, {{"pads", Ints{1, 1, 1, 1}}}, "conv2");
    auto out = g.node("Relu", {g.node("Add", {c, a}, {}, "add")}, {}, "relu2");
    std::vector<std::string> outputs = {out};
    if (read_later) outputs.push_back(g.node("Sigmoid", {a}, {}, "late"));
    auto model = g.finish(outputs);
    SCOPED_TRACE(read_later ? "read later" : "not read later");
    expect_matches_ref(model, {{1, 16, 8, 8}});
    const std::string plan = plan_of(model);
    EXPECT_TRUE(plan_has_line_with(plan, {"Conv:conv2", "Add:add", "Relu:relu2"})) << plan;
    EXPECT_EQ(plan.find("(residual)") != std::string::npos, read_later) << plan;
  }
}

TEST(CpuDevice, ConvVariantsMatchRef) {
  struct Case {
    Shape x, w;
    Attrs attrs;
  };
  const std::vector<Case> cases = {
      {{1, 3, 17, 17}, {8, 3, 3, 3}, {{"strides", Ints{2, 2}}, {"auto_pad", std::string("SAME_UPPER")}}},
      {{2, 8, 9, 9}, {8, 1, 3, 3}, {{"group", std::int64_t(8)}, {"pads", Ints{1, 1, 1, 1}}}},
      {{1, 4, 12, 12}, {6, 2, 3, 3}, {{"group", std::int64_t(2)}, {"dilations", Ints{2, 2}}}},
      {{1, 4, 20}, {5, 4, 3}, {{"pads", Ints{1, 0}}}},
  };
  for (const auto& c : cases) {
    TestGraph g;
    auto x = g.input("x", c.x);
    auto y = g.node("Conv", {x, g.weight("w", c.w)}, c.attrs);
    expect_matches_ref(g.finish({y}), {c.x});
  }
}

TEST(CpuDevice, GemmAndMatMulMatchRefWithFusedBias) {
  {
    TestGraph g;
    auto x = g.input("x", Shape{3, 20});
    auto y = g.node("Gemm", {x, g.weight("w", {12, 20}), g.weight("b", {12})},
                    {{"transB", std::int64_t(1)}, {"alpha", 0.5}, {"beta", 2.0}}, "gemm");
    auto model = g.finish({g.node("Relu", {y}, {}, "relu")});
    expect_matches_ref(model, {{3, 20}});
    EXPECT_TRUE(plan_has_line_with(plan_of(model), {"inner_product", "Gemm:gemm", "Relu:relu"}));
  }
  {
    TestGraph g;
    auto x = g.input("x", Shape{1, 6, 16});
    auto m = g.node("MatMul", {x, g.weight("w", {16, 24})}, {}, "mm");
    auto model = g.finish({g.node("Add", {m, g.weight("b", {24})}, {}, "bias")});
    expect_matches_ref(model, {{1, 6, 16}});
    EXPECT_TRUE(plan_has_line_with(plan_of(model), {"MatMul:mm", "Add:bias"}));
  }
  {  // two activations, batched, with a scalar scale fused
    TestGraph g;
    auto a = g.input("a", Shape{2, 3, 5, 8});
    auto b = g.input("b", Shape{2, 3, 8, 4});
    auto m = g.node("MatMul", {a, b}, {}, "scores");
    auto model = g.finish({g.node("Div", {m, g.scalar("s", 8.f)}, {}, "scale")});
    expect_matches_ref(model, {{2, 3, 5, 8}, {2, 3, 8, 4}});
    EXPECT_TRUE(plan_has_line_with(plan_of(model), {"matmul", "MatMul:scores", "Div:scale"}));
  }
}

// Multi-head attention's transposes: q, k, v are read by the matmuls through permuted strides and
// the context matmul writes its transposed output directly, so no transpose step remains; a
// transposed value that something else reads too (here: a model output) is still copied.
TEST(CpuDevice, AttentionTransposesBecomeStridesOfTheMatmuls) {
  for (const bool q_is_output : {false, true}) {
    TestGraph g;
    auto x = g.input("x", Shape{1, 8, 16});
    auto heads = [&](const std::string& name, const Ints& perm) {
      auto p = g.node("MatMul", {x, g.weight(name + ".w", {16, 16})}, {}, name + ".proj");
      auto r = g.node("Reshape", {p, g.ints(name + ".shape", {1, 8, 2, 8})}, {}, name + ".split");
      return g.node("Transpose", {r}, {{"perm", perm}}, name + ".t");
    };
    auto q = heads("q", {0, 2, 1, 3});
    auto k = heads("k", {0, 2, 3, 1});
    auto v = heads("v", {0, 2, 1, 3});
    auto p = g.node("Softmax", {g.node("MatMul", {q, k}, {}, "scores")}, {{"axis", std::int64_t(-1)}}, "softmax");
    auto ctx = g.node("Transpose", {g.node("MatMul", {p, v}, {}, "context")}, {{"perm", Ints{0, 2, 1, 3}}}, "ctx.t");
    auto out = g.node("Reshape", {ctx, g.ints("merge", {1, 8, 16})}, {}, "merge_heads");
    std::vector<std::string> outputs = {out};
    if (q_is_output) outputs.push_back(q);
    auto model = g.finish(outputs);
    SCOPED_TRACE(q_is_output ? "q is an output" : "q is read by the matmul only");
    expect_matches_ref(model, {{1, 8, 16}});
    if (cpu::has_bf16(cpu::effective_isa()))  // bf16: the transposes convert on the way
      expect_matches_ref(model, {{1, 8, 16}}, 5e-2, 5e-2, {hint::inference_precision(ElementType::bf16)});
    const std::string plan = plan_of(model);
    EXPECT_TRUE(plan_has_line_with(plan, {"matmul", "MatMul:context", "Transpose:ctx.t"})) << plan;
    EXPECT_EQ(plan.find("transpose Transpose:k.t"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("transpose Transpose:v.t"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("transpose Transpose:q.t") != std::string::npos, q_is_output) << plan;
  }
}

TEST(CpuDevice, PoolingMatchesRef) {
  const std::vector<std::pair<std::string, Attrs>> cases = {
      {"MaxPool", {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}},
      {"MaxPool", {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"ceil_mode", std::int64_t(1)}}},
      {"AveragePool", {{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}, {"count_include_pad", std::int64_t(1)}}},
      {"AveragePool", {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}},
      {"GlobalAveragePool", {}},
      {"GlobalMaxPool", {}},
  };
  for (const auto& [op, attrs] : cases) {
    TestGraph g;
    auto x = g.input("x", Shape{1, 5, 9, 9});
    auto model = g.finish({g.node(op, {x}, attrs)});
    SCOPED_TRACE(op);
    expect_matches_ref(model, {{1, 5, 9, 9}});
    EXPECT_TRUE(plan_has_line_with(plan_of(model), {"pooling"})) << plan_of(model);
  }
}

TEST(CpuDevice, EltwiseOpsMatchRef) {
  const std::vector<std::pair<std::string, Attrs>> ops = {
      {"Relu", {}}, {"Sigmoid", {}}, {"Tanh", {}}, {"Elu", {{"alpha", 0.7}}}, {"LeakyRelu", {{"alpha", 0.2}}},
      {"Exp", {}}, {"Abs", {}}, {"Neg", {}}, {"HardSwish", {}}, {"Softplus", {}}, {"Round", {}}};
  for (const auto& [op, attrs] : ops) {
    TestGraph g;
    auto x = g.input("x", Shape{2, 3, 7});
    auto model = g.finish({g.node(op, {x}, attrs)});
    SCOPED_TRACE(op);
    expect_matches_ref(model, {{2, 3, 7}});
    EXPECT_TRUE(plan_has_line_with(plan_of(model), {"eltwise"})) << plan_of(model);
  }
  TestGraph g;  // Clip with constant bounds, Sqrt/Log on positive data
  auto x = g.input("x", Shape{4, 9});
  auto clip = g.node("Clip", {x, g.scalar("lo", -0.3f), g.scalar("hi", 0.4f)});
  auto lg = g.node("Log", {g.node("Add", {g.node("Abs", {x}), g.scalar("one", 1.f)})});
  auto sq = g.node("Sqrt", {g.node("Abs", {x})});
  expect_matches_ref(g.finish({clip, lg, sq}), {{4, 9}});
}

TEST(CpuDevice, BinaryOpsBroadcastAndMatchRef) {
  for (const std::string op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    TestGraph g;
    auto a = g.input("a", Shape{2, 3, 4, 5});
    auto b = g.input("b", Shape{3, 1, 1});
    auto c = g.input("c", Shape{2, 3, 4, 5});
    auto bias = g.weight("bias", {5}, 0.5f, 1.5f);
    auto y1 = g.node(op, {a, b});
    auto y2 = g.node(op, {a, c});
    auto y3 = g.node(op, {a, bias});
    auto y4 = g.node(op, {a, g.scalar("k", 1.5f)});
    SCOPED_TRACE(op);
    expect_matches_ref(g.finish({y1, y2, y3, y4}), {{2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}}, 1e-4, 1e-5);
  }
  TestGraph g;  // broadcast operand first for a commutative op; Pow with a scalar exponent
  auto a = g.input("a", Shape{1, 4});
  auto b = g.input("b", Shape{3, 4});
  expect_matches_ref(g.finish({g.node("Mul", {a, b}), g.node("Pow", {b, g.scalar("two", 2.f)})}), {{1, 4}, {3, 4}});
}

TEST(CpuDevice, SoftmaxConcatLayerNormBatchNormMatchRef) {
  TestGraph g;
  auto x = g.input("x", Shape{2, 6, 10});
  auto sm = g.node("Softmax", {x}, {{"axis", std::int64_t(-1)}});
  auto lsm = g.node("LogSoftmax", {x}, {{"axis", std::int64_t(1)}});
  auto cat = g.node("Concat", {x, sm}, {{"axis", std::int64_t(1)}});
  auto ln = g.node("LayerNormalization", {x, g.weight("s", {10}), g.weight("b", {10})},
                   {{"axis", std::int64_t(-1)}, {"epsilon", 1e-5}});
  auto bn = g.node("BatchNormalization", {x, g.weight("g", {6}), g.weight("be", {6}), g.weight("m", {6}),
                                          g.weight("v", {6}, 0.5f, 2.f)});
  auto model = g.finish({sm, lsm, cat, ln, bn});
  expect_matches_ref(model, {{2, 6, 10}});
  const std::string plan = plan_of(model);
  for (const char* kind : {"softmax", "logsoftmax", "concat", "layer_normalization", "batch_normalization"})
    EXPECT_TRUE(plan_has_line_with(plan, {kind})) << kind << "\n" << plan;
}

TEST(CpuDevice, ViewsTransposeAndFallbackNodesInterleave) {
  // Conv (blocked) → Reshape → Transpose → Erf (reference) → MatMul → Shape-driven Reshape.
  TestGraph g;
  auto x = g.input("x", Shape{1, 4, 6, 6});
  auto c = g.node("Conv", {x, g.weight("w", {8, 4, 3, 3})}, {{"pads", Ints{1, 1, 1, 1}}});
  auto r = g.node("Reshape", {c, g.ints("shape", {1, 8, 36})});
  auto t = g.node("Transpose", {r}, {{"perm", Ints{0, 2, 1}}});
  auto e = g.node("Erf", {t}, {}, "erf");
  auto m = g.node("MatMul", {e, g.weight("w2", {8, 5})});
  auto flat = g.node("Reshape", {m, g.node("Shape", {g.node("Flatten", {m})})});
  auto model = g.finish({flat});
  expect_matches_ref(model, {{1, 4, 6, 6}});
  const std::string plan = plan_of(model);
  EXPECT_TRUE(plan_has_line_with(plan, {"reference", "Erf:erf"})) << plan;
  EXPECT_TRUE(plan_has_line_with(plan, {"transpose"})) << plan;
}

TEST(CpuDevice, DynamicBatchBuildsOneProgramPerShape) {
  TestGraph g;
  auto x = g.input("x", PartialShape({Dimension::dynamic("batch"), Dimension(16)}));
  auto y = g.node("Relu", {g.node("Gemm", {x, g.weight("w", {16, 8}), g.weight("b", {8})})});
  auto model = g.finish({g.node("Softmax", {y}, {{"axis", std::int64_t(-1)}})});
  auto compiled = core().compile_model(model, "CPU");
  auto ref = core().compile_model(model, "REF");
  auto request = compiled.create_infer_request();
  auto ref_request = ref.create_infer_request();
  for (std::int64_t batch : {1, 3, 7, 3}) {
    const Tensor in = random_tensor({batch, 16}, std::uint32_t(batch));
    request.set_input_tensor(0, in);
    ref_request.set_input_tensor(0, in);
    request.infer();
    ref_request.infer();
    expect_close(ref_request.get_output_tensor(0), request.get_output_tensor(0), 1e-4, 1e-5,
                 "batch " + std::to_string(batch));
  }
  EXPECT_EQ(compiled.get_property("cpu_program_cache"), "size=3 builds=3 capacity=8");
}

TEST(CpuDevice, ProgramCacheEvictsLeastRecentlyUsed) {
  TestGraph g;
  auto x = g.input("x", PartialShape({Dimension::dynamic(), Dimension(4)}));
  auto compiled = core().compile_model(g.finish({g.node("Relu", {x})}), "CPU");
  auto request = compiled.create_infer_request();
  auto run_batch = [&](std::int64_t batch) {
    request.set_input_tensor(0, random_tensor({batch, 4}, 1));
    request.infer();
  };
  for (std::int64_t batch = 1; batch <= 9; ++batch) run_batch(batch);  // capacity 8: batch 1 is evicted
  EXPECT_EQ(compiled.get_property("cpu_program_cache"), "size=8 builds=9 capacity=8");
  run_batch(9);  // hit
  EXPECT_EQ(compiled.get_property("cpu_program_cache"), "size=8 builds=9 capacity=8");
  run_batch(1);  // rebuilt
  EXPECT_EQ(compiled.get_property("cpu_program_cache"), "size=8 builds=10 capacity=8");
}

TEST(CpuDevice, ThroughputStreamsArePinnedToTheirPlannedCores) {
  auto model = core().read_model("builtin:mlp");
  auto compiled = core().compile_model(model, "CPU", {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  const auto streams = compiled.get_property(num_streams);
  ASSERT_GE(streams, 1);
  const std::string plan = compiled.get_property("cpu_stream_plan");
  // Workers start with the compiled model; wait until every one has reported.
  std::string affinity;
  for (int attempt = 0; attempt < 200; ++attempt) {
    affinity = compiled.get_property("cpu_worker_affinity");
    if (affinity.find(":;") == std::string::npos && affinity.back() != ':') break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::int64_t w = 0; w < streams; ++w)
    EXPECT_NE(affinity.find(std::to_string(w) + ":cpus="), std::string::npos) << affinity;
  if (compiled.get_property("enable_cpu_pinning") == "true" && streams > 1) {
    // Pinned streams each see only their own PUs: no two workers share the same single-CPU set.
    EXPECT_NE(affinity.find("0:cpus=0 "), std::string::npos) << affinity << " / " << plan;
    EXPECT_EQ(affinity.find("0:cpus=0,"), std::string::npos) << affinity << " / " << plan;
  }
  EXPECT_NE(affinity.find("threads="), std::string::npos);
}

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The OpenMP wait control (see omp_wait_policy.hpp). A model with a 2-thread stream holds a lease;
// the mode is the environment's.
TEST(CpuDevice, TwoThreadStreamsHoldTheOpenMpWaitControl) {
  auto compiled = core().compile_model(core().read_model("builtin:mlp"), "CPU",
                                       {hint::performance_mode(PerformanceMode::LATENCY),
                                        inference_num_threads(std::int64_t{2})});
  const auto state = cpu::omp_wait_state();
  EXPECT_EQ(state.mode, cpu::omp_wait_mode_from_env());
  if (state.mode == cpu::OmpWaitMode::sleep) {
    EXPECT_FALSE(state.spinning);
  } else if (state.mode != cpu::OmpWaitMode::automatic) {
    EXPECT_TRUE(state.spinning);
  }
  auto request = compiled.create_infer_request();
  request.infer();  // either regime computes the same thing: the conformance tests run under both
}

// The team's threads leave on their own after their host thread ends: wait (up to 10 s) for them.
std::size_t settled_thread_count(std::size_t expected) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t n = thread_count();
  while (n != expected && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = thread_count();
  }
  return n;
}

// The thread count once it has not changed for 100 ms: threads of earlier tests in this process
// may still be leaving.
std::size_t steady_thread_count() {
  std::size_t count = thread_count();
  for (int still = 0; still < 20;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::size_t now = thread_count();
    still = now == count ? still + 1 : 0;
    count = now;
  }
  return count;
}

// Parking adds an idle team of (CPUs + 1) threads; releasing it ends them all, so libgomp no
// longer counts them (its long-spin regime returns).
TEST(CpuDevice, OpenMpTeamParkerAddsAndRemovesItsTeam) {
  const std::size_t before = steady_thread_count();
  cpu::OmpTeamParker parker;
  parker.park();
  EXPECT_TRUE(parker.parked());
  EXPECT_EQ(thread_count(), before + cpu::OmpTeamParker::team_size());
  parker.park();  // already parked: nothing more
  EXPECT_EQ(thread_count(), before + cpu::OmpTeamParker::team_size());
  parker.release();
  EXPECT_FALSE(parker.parked());
  EXPECT_EQ(settled_thread_count(before), before);
  parker.park();
  EXPECT_EQ(thread_count(), before + cpu::OmpTeamParker::team_size());
}

TEST(OmpWaitGovernor, SleepsAtOnceUnderContentionAndSpinsAfterCalmWindows) {
  const cpu::WaitWindow quiet{0.01, 0.08};  // this process's own spinning stalls a little
  cpu::WaitGovernor spinning(/*spinning=*/true);
  EXPECT_TRUE(spinning.observe(quiet));
  EXPECT_FALSE(spinning.observe({0.25, 0.0}));  // another process took a quarter of the CPUs
  cpu::WaitGovernor oversubscribed(/*spinning=*/true);
  EXPECT_FALSE(oversubscribed.observe({0.0, 0.6}));  // runnable tasks waited 60 % of the window

  cpu::WaitGovernor governor(/*spinning=*/false);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(governor.observe(quiet)) << i;
  EXPECT_FALSE(governor.observe({0.08, 0.0}));  // not calm: the count starts again
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(governor.observe(quiet)) << i;
  EXPECT_TRUE(governor.observe(quiet));  // the 5th calm window in a row
}

TEST(OmpWaitGovernor, SpinningThatEndsQuicklyDoublesTheHoldAndLastingSpinResetsIt) {
  const cpu::WaitWindow quiet{0.0, 0.0}, contended{0.5, 0.5};
  cpu::WaitGovernor::Config config;
  cpu::WaitGovernor governor(config, /*spinning=*/true);
  EXPECT_FALSE(governor.observe(contended));
  EXPECT_EQ(governor.hold(), 2 * config.hold);
  for (int i = 0; i < 2 * config.hold; ++i) governor.observe(quiet);
  ASSERT_TRUE(governor.spinning());
  EXPECT_FALSE(governor.observe(contended));  // quickly again
  EXPECT_EQ(governor.hold(), 4 * config.hold);
  for (int round = 0; round < 10; ++round) {  // never past max_hold
    for (int i = 0; i < governor.hold(); ++i) governor.observe(quiet);
    governor.observe(contended);
  }
  EXPECT_EQ(governor.hold(), config.max_hold);
  for (int i = 0; i < config.max_hold; ++i) governor.observe(quiet);
  ASSERT_TRUE(governor.spinning());
  for (int i = 0; i < config.settled_windows; ++i) EXPECT_TRUE(governor.observe({0.05, 0.1}));
  EXPECT_EQ(governor.hold(), config.hold);
}

TEST(OmpWaitGovernor, SumsTheAllowedCpusOfProcStat) {
  const std::string stat =
      "cpu  300 0 100 500 20 0 0 10 0 0\n"
      "cpu0 100 0 50 300 10 0 0 5 0 0\n"
      "cpu1 200 0 50 200 10 0 0 5 0 0\n"
      "intr 12345\n";
  const auto both = cpu::parse_proc_stat(stat, {});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->total, 930u);
  EXPECT_EQ(both->busy, 410u);  // idle and iowait are not busy; steal is
  const auto one = cpu::parse_proc_stat(stat, {1});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->total, 465u);
  EXPECT_EQ(one->busy, 255u);
  EXPECT_FALSE(cpu::parse_proc_stat(stat, {7}));
  EXPECT_FALSE(cpu::parse_proc_stat("cpu0 1 2 3\n", {}));  // too few fields
}

TEST(OmpWaitGovernor, ReadsTheKernelsCpuPressureLine) {
  const auto p = cpu::parse_cpu_pressure("some avg10=0.02 avg60=3.81 avg300=16.29 total=15225418894");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->avg10_percent, 0.02);
  EXPECT_EQ(p->total_us, 15225418894u);
  EXPECT_FALSE(cpu::parse_cpu_pressure("full avg10=0.00 avg60=0.00 avg300=0.00 total=0"));
  EXPECT_FALSE(cpu::parse_cpu_pressure("some avg10=x avg60=0.00 avg300=0.00 total=1"));
  EXPECT_FALSE(cpu::parse_cpu_pressure("some avg10=0.1 total=12z"));
  EXPECT_FALSE(cpu::parse_cpu_pressure(""));
}

TEST(OmpWaitGovernor, ABadWaitModeNamesTheValidOnes) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) {
    EXPECT_EQ(cpu::omp_wait_mode_from_env(), cpu::OmpWaitMode::user);  // the user's libgomp setting wins
    return;
  }
  const char* old = std::getenv("AUTOSCHED_CPU_WAIT");
  const std::string saved = old ? old : "";
  ::setenv("AUTOSCHED_CPU_WAIT", "fast", 1);
  try {
    cpu::omp_wait_mode_from_env();
    ADD_FAILURE() << "no error for AUTOSCHED_CPU_WAIT=fast";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("valid: auto, spin, sleep"), std::string::npos) << e.what();
  }
  ::setenv("AUTOSCHED_CPU_WAIT", "spin", 1);
  EXPECT_EQ(cpu::omp_wait_mode_from_env(), cpu::OmpWaitMode::spin);
  ::setenv("AUTOSCHED_CPU_WAIT", "sleep", 1);
  EXPECT_EQ(cpu::omp_wait_mode_from_env(), cpu::OmpWaitMode::sleep);
  if (old)
    ::setenv("AUTOSCHED_CPU_WAIT", saved.c_str(), 1);
  else
    ::unsetenv("AUTOSCHED_CPU_WAIT");
}

TEST(CpuDevice, Bf16NeedsIsaSupportAndSaysWhy) {
  EXPECT_THROW(cpu::check_precision(ElementType::bf16, "avx2"), Error);
  try {
    cpu::check_precision(ElementType::bf16, "avx2");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("avx2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("allowed: f32"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(cpu::check_precision(ElementType::bf16, "avx512_core_bf16"));
  EXPECT_THROW(core().compile_model(core().read_model("builtin:mlp"), "CPU",
                                    {hint::inference_precision(ElementType::f16)}),
               Error);
}

TEST(CpuDevice, Bf16AgreesWithF32OnTop1) {
  if (!cpu::has_bf16(cpu::effective_isa())) GTEST_SKIP() << "no bf16 on this CPU";
  auto model = core().read_model("builtin:mobilenetv2");
  auto f32 = core().compile_model(model, "CPU");
  auto bf16 = core().compile_model(model, "CPU", {hint::inference_precision(ElementType::bf16)});
  EXPECT_EQ(bf16.get_property("inference_precision"), "bf16");
  // Activations stay bf16 from layer to layer: the model input's is the only conversion.
  const std::string plan = bf16.get_property("cpu_plan");
  std::size_t reorders = 0;
  for (std::size_t at = plan.find("reorder"); at != std::string::npos; at = plan.find("reorder", at + 1)) ++reorders;
  EXPECT_EQ(reorders, 1u) << plan;
  auto r32 = f32.create_infer_request();
  auto r16 = bf16.create_infer_request();
  const Shape shape = model.inputs()[0].shape.to_shape();
  int agree = 0;
  const int n = 20;
  auto argmax = [](const Tensor& t) {
    return std::max_element(t.data<float>(), t.data<float>() + t.size()) - t.data<float>();
  };
  for (int i = 0; i < n; ++i) {
    const Tensor in = random_tensor(shape, 5000 + std::uint32_t(i));
    r32.set_input_tensor(0, in);
    r16.set_input_tensor(0, in);
    r32.infer();
    r16.infer();
    agree += argmax(r32.get_output_tensor(0)) == argmax(r16.get_output_tensor(0));
  }
  EXPECT_GE(agree, n * 9 / 10) << agree << " of " << n;
}

// cpu_convolution=auto runs f32 3x3 stride-1 convolutions as Winograd where oneDNN has it; the
// results stay those of the direct kernels within f32 rounding, and the class never changes.
TEST(CpuDevice, WinogradConvolutionsAgreeWithDirect) {
  auto model = core().read_model("builtin:resnet50");
  auto automatic = core().compile_model(model, "CPU");
  auto direct = core().compile_model(model, "CPU", {{"cpu_convolution", "direct"}});
  EXPECT_EQ(automatic.get_property("cpu_convolution"), "auto");
  EXPECT_EQ(direct.get_property("cpu_convolution"), "direct");
  EXPECT_NE(automatic.get_property("cpu_plan").find("wino"), std::string::npos) << automatic.get_property("cpu_plan");
  EXPECT_EQ(direct.get_property("cpu_plan").find("wino"), std::string::npos) << direct.get_property("cpu_plan");
  auto ra = automatic.create_infer_request();
  auto rd = direct.create_infer_request();
  const Shape shape = model.inputs()[0].shape.to_shape();
  for (std::uint32_t seed = 0; seed < 3; ++seed) {
    const Tensor in = random_tensor(shape, 7000 + seed);
    ra.set_input_tensor(0, in);
    rd.set_input_tensor(0, in);
    ra.infer();
    rd.infer();
    const Tensor& a = ra.get_output_tensor(0);
    const Tensor& d = rd.get_output_tensor(0);
    ASSERT_EQ(a.size(), d.size());
    float largest = 0, worst = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      largest = std::max(largest, std::fabs(d.data<float>()[i]));
      worst = std::max(worst, std::fabs(a.data<float>()[i] - d.data<float>()[i]));
    }
    EXPECT_LE(worst, 1e-4f * largest) << "seed " << seed;
    EXPECT_EQ(std::max_element(a.data<float>(), a.data<float>() + a.size()) - a.data<float>(),
              std::max_element(d.data<float>(), d.data<float>() + d.size()) - d.data<float>())
        << "seed " << seed;
  }
}

// Building a program with Winograd weight transforms leaves no OpenMP team behind on the building
// thread: a lingering team would count in libgomp's books for good and keep every stream's barriers
// in the short-spin regime (see omp_wait_policy.hpp). Meaningful in a fresh process (ctest runs one
// test per process): this thread has never run an OpenMP team before.
TEST(CpuDevice, WinogradWeightTransformsLeaveNoOpenMpTeamBehind) {
  TestGraph g;
  auto x = g.input("x", Shape{1, 32, 14, 14});
  auto c = g.node("Conv", {x, g.weight("w", {32, 32, 3, 3})}, {{"pads", Ints{1, 1, 1, 1}}}, "conv");
  auto bn = g.node("BatchNormalization", {c, g.weight("gamma", {32}, 0.5f, 1.5f), g.weight("beta", {32}),
                                          g.weight("mean", {32}), g.weight("var", {32}, 0.5f, 2.f)},
                   {}, "bn");
  const Model model = g.finish({g.node("Relu", {bn}, {}, "relu")});
  const std::size_t before = steady_thread_count();
  const auto program = cpu::build_program(model.graph(), {{1, 32, 14, 14}}, cpu::BuildOptions{});
  ASSERT_NE(program->describe().find("wino"), std::string::npos) << program->describe();
  EXPECT_EQ(settled_thread_count(before), before);
}

TEST(CpuDevice, ABadConvolutionAlgorithmNamesTheValidOnes) {
  try {
    core().compile_model(core().read_model("builtin:mlp"), "CPU", {{"cpu_convolution", "fast"}});
    ADD_FAILURE() << "no error for cpu_convolution=fast";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("auto or direct"), std::string::npos) << e.what();
  }
}

TEST(CpuDevice, BuiltinMlpAndBertTinyMatchRef) {
  for (const char* name : {"mlp", "bert_tiny"}) {
    SCOPED_TRACE(name);
    auto model = core().read_model(std::string("builtin:") + name);
    std::vector<Shape> shapes;
    for (const auto& p : model.inputs()) shapes.push_back(p.shape.to_shape());
    expect_matches_ref(model, shapes, 1e-3, 1e-4);
  }
  // bert_tiny's spelled-out LayerNorm and Gelu each become one primitive.
  const std::string plan = plan_of(core().read_model("builtin:bert_tiny"));
  EXPECT_TRUE(plan_has_line_with(plan, {"layer_normalization ReduceMean:", "Sqrt:", "Add:"})) << plan;
  EXPECT_TRUE(plan_has_line_with(plan, {"inner_product", "Erf:", "gelu.mul"})) << plan;
  EXPECT_EQ(plan.find("reference"), std::string::npos) << plan;
}

TEST(CpuDevice, StandaloneGeluPatternBecomesOneEltwise) {
  TestGraph g;
  auto x = g.input("x", Shape{3, 17});
  auto div = g.node("Div", {x, g.scalar("sqrt2", std::sqrt(2.f))});
  auto one_plus = g.node("Add", {g.node("Erf", {div}), g.scalar("one", 1.f)});
  auto half = g.node("Mul", {x, g.scalar("half", 0.5f)});
  auto model = g.finish({g.node("Mul", {half, one_plus})});
  expect_matches_ref(model, {{3, 17}});
  EXPECT_TRUE(plan_has_line_with(plan_of(model), {"gelu_erf", "Erf:"})) << plan_of(model);
}

}  // namespace
}  // namespace autosched
