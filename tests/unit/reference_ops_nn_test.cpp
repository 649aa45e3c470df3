// Unit tests of the NN (Conv, pooling, MatMul, Gemm) and shape/data-movement
// reference kernels, called directly through evaluate_node / infer_node.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "autosched/error.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

ir::Node make_node(std::string op, std::size_t n_inputs, std::size_t n_outputs = 1,
                   std::map<std::string, ir::AttributeValue> attrs = {}) {
  ir::Node node;
  node.name = "n_" + op;
  node.op_type = std::move(op);
  for (std::size_t i = 0; i < n_inputs; ++i) node.inputs.push_back("in" + std::to_string(i));
  for (std::size_t i = 0; i < n_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  node.attributes = std::move(attrs);
  return node;
}

template <class T> Tensor make_tensor(Shape shape, std::vector<T> values) {
  Tensor t(element_type_of<T>::value, shape);
  EXPECT_EQ(t.size(), values.size());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

template <class T> Tensor iota_tensor(Shape shape, T start = T(0)) {
  Tensor t(element_type_of<T>::value, shape);
  std::iota(t.data<T>(), t.data<T>() + t.size(), start);
  return t;
}

template <class T> std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}

Tensor run1(const ir::Node& node, const std::vector<Tensor>& in) {
  auto out = evaluate_node(node, in);
  EXPECT_GE(out.size(), 1u);
  return out.at(0);
}

ir::ValueInfo info(ElementType t, PartialShape s) {
  ir::ValueInfo v;
  v.element_type = t;
  v.shape = std::move(s);
  return v;
}

using Ints = std::vector<std::int64_t>;

// ---------------------------------------------------------------- Conv

TEST(ReferenceOpsNn, ConvWithPadsMatchesHandComputedValues) {
  // 1x1x3x3 input 0..8, 3x3 kernel of ones, pads 1: each output is the sum of its 3x3 neighbourhood.
  const auto x = iota_tensor<float>({1, 1, 3, 3});
  const auto w = make_tensor<float>({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  const auto b = make_tensor<float>({1}, {0.5f});
  const Tensor y = run1(make_node("Conv", 3, 1, {{"pads", Ints{1, 1, 1, 1}}}), {x, w, b});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{8.5f, 15.5f, 12.5f, 21.5f, 36.5f, 27.5f, 20.5f, 33.5f, 24.5f}));
}

TEST(ReferenceOpsNn, ConvWithGroupsUsesEachGroupsChannels) {
  // Two channels, two groups: output channel g sees only input channel g.
  const auto x = make_tensor<float>({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  const auto w = make_tensor<float>({2, 1, 1, 1}, {2.0f, -1.0f});
  const Tensor y = run1(make_node("Conv", 2, 1, {{"group", std::int64_t(2)}}), {x, w});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{2, 4, 6, 8, -10, -20, -30, -40}));
}

TEST(ReferenceOpsNn, ConvStridedSameUpperAndDilation) {
  const auto x = iota_tensor<float>({1, 1, 5, 5});
  const auto w = make_tensor<float>({1, 1, 2, 2}, {1, 0, 0, 1});
  // SAME_UPPER, stride 2: out = ceil(5/2) = 3, total pad = (3-1)*2 + 2 - 5 = 1 at the end.
  const Tensor y = run1(make_node("Conv", 2, 1, {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}}),
                        {x, w});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{6, 10, 4, 26, 30, 14, 20, 22, 24}));
  // Dilation 2 on a 2x2 kernel covers a 3x3 extent: out 3x3, y = x[i][j] + x[i+2][j+2].
  const Tensor d = run1(make_node("Conv", 2, 1, {{"dilations", Ints{2, 2}}}), {x, w});
  EXPECT_EQ(d.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(values_of<float>(d)[0], 0.0f + 12.0f);
  EXPECT_EQ(values_of<float>(d)[8], 12.0f + 24.0f);
}

TEST(ReferenceOpsNn, ConvLargerThanOneTileMatchesNaiveLoop) {
  // 70 output channels x 9x9 outputs span several 64-wide tiles and a row remainder.
  const std::int64_t c = 5, m = 70, h = 11;
  Tensor x(ElementType::f32, {2, c, h, h}), w(ElementType::f32, {m, c, 3, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x.data<float>()[i] = float((i * 7) % 13) - 6.0f;
  for (std::size_t i = 0; i < w.size(); ++i) w.data<float>()[i] = float((i * 5) % 11) * 0.25f - 1.0f;
  const Tensor y = run1(make_node("Conv", 2), {x, w});
  ASSERT_EQ(y.shape(), (Shape{2, m, 9, 9}));
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t o = 0; o < m; ++o)
      for (std::int64_t i = 0; i < 9; ++i)
        for (std::int64_t j = 0; j < 9; ++j) {
          double acc = 0;
          for (std::int64_t ci = 0; ci < c; ++ci)
            for (std::int64_t a = 0; a < 3; ++a)
              for (std::int64_t b = 0; b < 3; ++b)
                acc += double(xp[((n * c + ci) * h + i + a) * h + j + b]) * double(wp[((o * c + ci) * 3 + a) * 3 + b]);
          ASSERT_EQ(y.data<float>()[((n * m + o) * 9 + i) * 9 + j], float(acc)) << n << "," << o << "," << i << "," << j;
        }
}

TEST(ReferenceOpsNn, ConvInferenceKeepsDynamicBatch) {
  const auto node = make_node("Conv", 2, 1, {{"strides", Ints{2, 2}}, {"pads", Ints{3, 3, 3, 3}}});
  const auto out = infer_node(node,
                              {info(ElementType::f32, PartialShape({Dimension::dynamic("batch"), 3, 224, 224})),
                               info(ElementType::f32, PartialShape(Shape{64, 3, 7, 7}))},
                              {nullptr, nullptr}, 17);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].element_type, ElementType::f32);
  EXPECT_EQ(out[0].shape, PartialShape({Dimension::dynamic("batch"), 64, 112, 112}));
}

// ---------------------------------------------------------------- Pooling

TEST(ReferenceOpsNn, MaxPoolCeilModeAddsPartialWindow) {
  const auto x = iota_tensor<float>({1, 1, 4, 4});
  const auto node = make_node("MaxPool", 1, 2, {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", std::int64_t(1)}});
  const auto out = evaluate_node(node, {x});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{10, 11, 14, 15}));
  EXPECT_EQ(values_of<std::int64_t>(out[1]), (std::vector<std::int64_t>{10, 11, 14, 15}));
  const auto floor_out = run1(make_node("MaxPool", 1, 1, {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}}), {x});
  EXPECT_EQ(floor_out.shape(), (Shape{1, 1, 1, 1}));
  const auto inferred = infer_node(node, {info(ElementType::f32, PartialShape(Shape{1, 1, 4, 4}))}, {nullptr}, 17);
  EXPECT_EQ(inferred.at(0).shape, PartialShape(Shape{1, 1, 2, 2}));
  EXPECT_EQ(inferred.at(1).element_type, ElementType::i64);
}

TEST(ReferenceOpsNn, AveragePoolCountIncludePad) {
  const auto x = make_tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const std::map<std::string, ir::AttributeValue> base{{"kernel_shape", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}};
  const Tensor excl = run1(make_node("AveragePool", 1, 1, base), {x});
  EXPECT_EQ(excl.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(values_of<float>(excl), (std::vector<float>{1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}));
  auto incl_attrs = base;
  incl_attrs["count_include_pad"] = std::int64_t(1);
  const Tensor incl = run1(make_node("AveragePool", 1, 1, incl_attrs), {x});
  EXPECT_EQ(values_of<float>(incl), (std::vector<float>{0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1}));
}

TEST(ReferenceOpsNn, GlobalPools) {
  const auto x = make_tensor<float>({1, 2, 2, 2}, {1, 2, 3, 4, -1, -5, -2, -3});
  EXPECT_EQ(values_of<float>(run1(make_node("GlobalAveragePool", 1), {x})), (std::vector<float>{2.5f, -2.75f}));
  const Tensor mx = run1(make_node("GlobalMaxPool", 1), {x});
  EXPECT_EQ(mx.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(values_of<float>(mx), (std::vector<float>{4, -1}));
}

// ---------------------------------------------------------------- MatMul / Gemm

TEST(ReferenceOpsNn, GemmTransBAlphaBetaAndRowBias) {
  const auto a = make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b = make_tensor<float>({2, 3}, {1, 0, 1, 0, 1, 0});  // B^T is 3x2
  const auto c = make_tensor<float>({2}, {100, 200});
  const Tensor y = run1(make_node("Gemm", 3, 1, {{"transB", std::int64_t(1)}, {"alpha", 2.0}, {"beta", 0.5}}), {a, b, c});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{58, 104, 70, 110}));
  const Tensor no_c = run1(make_node("Gemm", 2, 1, {{"transB", std::int64_t(1)}}), {a, b});
  EXPECT_EQ(values_of<float>(no_c), (std::vector<float>{4, 2, 10, 5}));
}

TEST(ReferenceOpsNn, MatMulBroadcastsBatchAndHandlesVectors) {
  const auto a = iota_tensor<float>({2, 1, 2, 3});
  const auto b = iota_tensor<float>({3, 3, 2});
  const Tensor y = run1(make_node("MatMul", 2), {a, b});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 2, 2}));
  // batch (1, 2): a[1] = [[6,7,8],[9,10,11]], b[2] = [[12,13],[14,15],[16,17]].
  const float* p = y.data<float>() + (1 * 3 + 2) * 4;
  EXPECT_EQ(std::vector<float>(p, p + 4), (std::vector<float>{6 * 12 + 7 * 14 + 8 * 16, 6 * 13 + 7 * 15 + 8 * 17,
                                                              9 * 12 + 10 * 14 + 11 * 16, 9 * 13 + 10 * 15 + 11 * 17}));
  const Tensor v = run1(make_node("MatMul", 2), {make_tensor<float>({3}, {1, 2, 3}), iota_tensor<float>({3, 2})});
  EXPECT_EQ(v.shape(), (Shape{2}));
  EXPECT_EQ(values_of<float>(v), (std::vector<float>{16, 22}));
  const auto inferred = infer_node(make_node("MatMul", 2),
                                   {info(ElementType::f32, PartialShape({Dimension::dynamic("n"), 5, 7})),
                                    info(ElementType::f32, PartialShape(Shape{7, 3}))},
                                   {nullptr, nullptr}, 17);
  EXPECT_EQ(inferred.at(0).shape, PartialShape({Dimension::dynamic("n"), 5, 3}));
}

// ---------------------------------------------------------------- Shape ops

TEST(ReferenceOpsNn, ReshapeZeroAndMinusOne) {
  const auto x = iota_tensor<float>({2, 3, 4});
  const auto shape = make_tensor<std::int64_t>({2}, {0, -1});
  const Tensor y = run1(make_node("Reshape", 2), {x, shape});
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(values_of<float>(y), values_of<float>(x));
  const auto out = infer_node(make_node("Reshape", 2),
                              {info(ElementType::f32, PartialShape({Dimension::dynamic("batch"), 2048, 1, 1})),
                               info(ElementType::i64, PartialShape(Shape{2}))},
                              {nullptr, &shape}, 17);
  EXPECT_EQ(out.at(0).shape, PartialShape({Dimension::dynamic("batch"), 2048}));
  const auto zero = make_tensor<std::int64_t>({2}, {0, 4});
  const Tensor allow = run1(make_node("Reshape", 2, 1, {{"allowzero", std::int64_t(1)}}),
                            {Tensor(ElementType::f32, {0, 4}), zero});
  EXPECT_EQ(allow.shape(), (Shape{0, 4}));
}

TEST(ReferenceOpsNn, SliceNegativeStepsAndClamping) {
  const auto x = iota_tensor<std::int64_t>({3, 4});
  const Tensor y = run1(make_node("Slice", 5), {x, make_tensor<std::int64_t>({1}, {-1}),
                                                make_tensor<std::int64_t>({1}, {-1000}),
                                                make_tensor<std::int64_t>({1}, {1}),
                                                make_tensor<std::int64_t>({1}, {-2})});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values_of<std::int64_t>(y), (std::vector<std::int64_t>{3, 1, 7, 5, 11, 9}));
  const Tensor z = run1(make_node("Slice", 3), {x, make_tensor<std::int64_t>({2}, {1, 2}),
                                                make_tensor<std::int64_t>({2}, {1000, 1000})});
  EXPECT_EQ(z.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<std::int64_t>(z), (std::vector<std::int64_t>{6, 7, 10, 11}));
}

TEST(ReferenceOpsNn, GatherNegativeIndexOnAxis1) {
  const auto x = iota_tensor<float>({2, 3});
  const Tensor y = run1(make_node("Gather", 2, 1, {{"axis", std::int64_t(1)}}),
                        {x, make_tensor<std::int32_t>({2}, {-1, 0})});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{2, 0, 5, 3}));
  EXPECT_THROW(run1(make_node("Gather", 2), {x, make_tensor<std::int64_t>({1}, {2})}), Error);
}

TEST(ReferenceOpsNn, ConcatAndSplitRoundTrip) {
  const auto a = make_tensor<bool>({2, 1}, {true, false});
  const auto b = make_tensor<bool>({2, 2}, {false, true, true, true});
  const Tensor c = run1(make_node("Concat", 2, 1, {{"axis", std::int64_t(-1)}}), {a, b});
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<bool>(c), (std::vector<bool>{true, false, true, false, true, true}));
  const auto parts = evaluate_node(make_node("Split", 2, 2, {{"axis", std::int64_t(1)}}),
                                   {c, make_tensor<std::int64_t>({2}, {1, 2})});
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(values_of<bool>(parts[0]), values_of<bool>(a));
  EXPECT_EQ(values_of<bool>(parts[1]), values_of<bool>(b));
}

TEST(ReferenceOpsNn, TransposeSqueezeUnsqueezePadTile) {
  const auto x = iota_tensor<std::uint8_t>({2, 3});
  EXPECT_EQ(values_of<std::uint8_t>(run1(make_node("Transpose", 1), {x})), (std::vector<std::uint8_t>{0, 3, 1, 4, 2, 5}));
  const Tensor u = run1(make_node("Unsqueeze", 2), {x, make_tensor<std::int64_t>({2}, {-1, 0})});
  EXPECT_EQ(u.shape(), (Shape{1, 2, 3, 1}));
  EXPECT_EQ(run1(make_node("Squeeze", 1), {u}).shape(), (Shape{2, 3}));
  const Tensor p = run1(make_node("Pad", 2, 1, {{"mode", std::string("reflect")}}),
                        {iota_tensor<float>({3}), make_tensor<std::int64_t>({2}, {2, 1})});
  EXPECT_EQ(values_of<float>(p), (std::vector<float>{2, 1, 0, 1, 2, 1}));
  const Tensor t = run1(make_node("Tile", 2), {make_tensor<float>({1, 2}, {1, 2}), make_tensor<std::int64_t>({2}, {2, 2})});
  EXPECT_EQ(t.shape(), (Shape{2, 4}));
  EXPECT_EQ(values_of<float>(t), (std::vector<float>{1, 2, 1, 2, 1, 2, 1, 2}));
}

TEST(ReferenceOpsNn, GatherElementsMayRepeatAlongTheAxis) {
  const auto x = make_tensor<float>({2, 2}, {1, 2, 3, 4});
  // Indices longer than the data along axis 0: elements are repeated.
  const Tensor y = run1(make_node("GatherElements", 2, 1, {{"axis", std::int64_t(0)}}),
                        {x, make_tensor<std::int64_t>({3, 2}, {0, 1, 1, 0, -1, -2})});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{1, 4, 3, 2, 3, 2}));
}

TEST(ReferenceOpsNn, ScatterNdAddAndDepthToSpace) {
  const auto x = make_tensor<float>({4}, {1, 2, 3, 4});
  const Tensor y = run1(make_node("ScatterND", 3, 1, {{"reduction", std::string("add")}}),
                        {x, make_tensor<std::int64_t>({2, 1}, {1, 1}), make_tensor<float>({2}, {10, 20})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{1, 32, 3, 4}));
  // DCR with blocksize 2: channel c*4 + (i*2 + j) lands at (2h + i, 2w + j).
  const Tensor d = run1(make_node("DepthToSpace", 1, 1, {{"blocksize", std::int64_t(2)}}), {iota_tensor<float>({1, 4, 1, 1})});
  EXPECT_EQ(d.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values_of<float>(d), (std::vector<float>{0, 1, 2, 3}));
}

TEST(ReferenceOpsNn, ConvAndMatMulResultsDoNotDependOnThreadCount) {
  Tensor x(ElementType::f32, {1, 16, 20, 20}), w(ElementType::f32, {96, 16, 3, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x.data<float>()[i] = float(std::sin(double(i)));
  for (std::size_t i = 0; i < w.size(); ++i) w.data<float>()[i] = float(std::cos(double(i) * 0.37));
  const auto conv = make_node("Conv", 2, 1, {{"pads", Ints{1, 1, 1, 1}}});
  const auto matmul = make_node("MatMul", 2);
  const Tensor b = iota_tensor<float>({20, 70}, -100.0f);
  Tensor conv1, conv4, mm1, mm4;
  tbb::task_arena one(1), four(4);
  one.execute([&] {
    conv1 = run1(conv, {x, w});
    mm1 = run1(matmul, {x, b});
  });
  four.execute([&] {
    conv4 = run1(conv, {x, w});
    mm4 = run1(matmul, {x, b});
  });
  ASSERT_EQ(conv1.shape(), conv4.shape());
  EXPECT_EQ(std::memcmp(conv1.data(), conv4.data(), conv1.byte_size()), 0);
  ASSERT_EQ(mm1.shape(), (Shape{1, 16, 20, 70}));
  EXPECT_EQ(std::memcmp(mm1.data(), mm4.data(), mm1.byte_size()), 0);
}

}  // namespace
}  // namespace autosched::reference
