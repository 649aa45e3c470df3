// Unit tests of the element-wise, reduction and normalization reference
// kernels, called directly through evaluate_node / infer_node.
#include <gtest/gtest.h>

#include <cmath>
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

template <class T> std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}

Tensor run1(const ir::Node& node, const std::vector<Tensor>& in) {
  auto out = evaluate_node(node, in);
  EXPECT_GE(out.size(), 1u);
  return out.at(0);
}

TEST(ReferenceOpsMath, AddBroadcastsRowAgainstMatrix) {
  const auto a = make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b = make_tensor<float>({3}, {10, 20, 30});
  const Tensor y = run1(make_node("Add", 2), {a, b});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(ReferenceOpsMath, AddBroadcastsBothDirections) {
  const auto a = make_tensor<float>({2, 1}, {1, 2});
  const auto b = make_tensor<float>({1, 3}, {10, 20, 30});
  const Tensor y = run1(make_node("Add", 2), {a, b});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{11, 21, 31, 12, 22, 32}));
}

TEST(ReferenceOpsMath, AddUint8Wraps) {
  const Tensor y = run1(make_node("Add", 2), {make_tensor<std::uint8_t>({2}, {250, 3}),
                                              make_tensor<std::uint8_t>({2}, {10, 4})});
  EXPECT_EQ(values_of<std::uint8_t>(y), (std::vector<std::uint8_t>{4, 7}));
}

TEST(ReferenceOpsMath, IntegerDivTruncatesTowardZero) {
  const Tensor y = run1(make_node("Div", 2), {make_tensor<std::int32_t>({4}, {7, -7, 7, -7}),
                                              make_tensor<std::int32_t>({4}, {2, 2, -2, -2})});
  EXPECT_EQ(values_of<std::int32_t>(y), (std::vector<std::int32_t>{3, -3, -3, 3}));
}

TEST(ReferenceOpsMath, IntegerDivByZeroIsAnError) {
  EXPECT_THROW(run1(make_node("Div", 2), {make_tensor<std::int64_t>({1}, {1}), make_tensor<std::int64_t>({1}, {0})}),
               Error);
}

TEST(ReferenceOpsMath, MismatchedTypesAreRejected) {
  EXPECT_THROW(run1(make_node("Add", 2), {make_tensor<float>({1}, {1}), make_tensor<double>({1}, {1})}), Error);
}

TEST(ReferenceOpsMath, PowKeepsBaseTypeWithFloatExponent) {
  const Tensor y = run1(make_node("Pow", 2), {make_tensor<std::int32_t>({3}, {1, 2, 3}),
                                              make_tensor<float>({3}, {2, 2.5f, 0.5f})});
  EXPECT_EQ(y.element_type(), ElementType::i32);
  EXPECT_EQ(values_of<std::int32_t>(y), (std::vector<std::int32_t>{1, 5, 1}));
}

TEST(ReferenceOpsMath, ComparisonsAndWhere) {
  const auto a = make_tensor<float>({3}, {1, 2, 3});
  const auto b = make_tensor<float>({1}, {2});
  const Tensor less = run1(make_node("Less", 2), {a, b});
  EXPECT_EQ(less.element_type(), ElementType::boolean);
  EXPECT_EQ(values_of<bool>(less), (std::vector<bool>{true, false, false}));
  const Tensor w = run1(make_node("Where", 3), {less, a, make_tensor<float>({}, {-1})});
  EXPECT_EQ(values_of<float>(w), (std::vector<float>{1, -1, -1}));
}

TEST(ReferenceOpsMath, VariadicMeanBroadcasts) {
  const Tensor y = run1(make_node("Mean", 3), {make_tensor<float>({2}, {1, 2}), make_tensor<float>({1}, {3}),
                                               make_tensor<float>({2}, {5, 7})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{3, 4}));
}

TEST(ReferenceOpsMath, ClipUsesOptionalInputsAndLegacyAttributes) {
  const auto x = make_tensor<float>({4}, {-3, -1, 1, 3});
  Tensor y = run1(make_node("Clip", 3), {x, make_tensor<float>({}, {-2}), make_tensor<float>({}, {2})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{-2, -1, 1, 2}));
  ir::Node only_max = make_node("Clip", 3);
  only_max.inputs[1] = "";
  y = run1(only_max, {x, Tensor(), make_tensor<float>({}, {0})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{-3, -1, 0, 0}));
  y = run1(make_node("Clip", 1, 1, {{"min", 0.0}, {"max", 2.0}}), {x});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{0, 0, 1, 2}));
}

TEST(ReferenceOpsMath, CastF32ToF16AndBackRoundsToHalfPrecision) {
  const auto x = make_tensor<float>({4}, {1.0f, 0.1f, 65504.0f, -2.5f});
  const Tensor h = run1(make_node("Cast", 1, 1, {{"to", std::int64_t{10}}}), {x});
  EXPECT_EQ(h.element_type(), ElementType::f16);
  const Tensor back = run1(make_node("Cast", 1, 1, {{"to", std::int64_t{1}}}), {h});
  const auto v = values_of<float>(back);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_NE(v[1], 0.1f);  // 0.1 is not representable in f16
  EXPECT_NEAR(v[1], 0.1f, 1e-4f);
  EXPECT_EQ(v[2], 65504.0f);
  EXPECT_EQ(v[3], -2.5f);
}

TEST(ReferenceOpsMath, CastFloatToIntTruncatesAndToBoolTestsNonZero) {
  const auto x = make_tensor<float>({3}, {2.7f, -2.7f, 0.0f});
  EXPECT_EQ(values_of<std::int64_t>(run1(make_node("Cast", 1, 1, {{"to", std::int64_t{7}}}), {x})),
            (std::vector<std::int64_t>{2, -2, 0}));
  EXPECT_EQ(values_of<bool>(run1(make_node("Cast", 1, 1, {{"to", std::int64_t{9}}}), {x})),
            (std::vector<bool>{true, true, false}));
}

TEST(ReferenceOpsMath, SoftmaxRowsSumToOne) {
  const auto x = make_tensor<float>({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  const Tensor y = run1(make_node("Softmax", 1), {x});
  const auto v = values_of<float>(y);
  for (int r = 0; r < 2; ++r) EXPECT_NEAR(v[r * 3] + v[r * 3 + 1] + v[r * 3 + 2], 1.0, 1e-6);
  EXPECT_NEAR(v[3], 1.0 / 3.0, 1e-6);  // large inputs do not overflow
  EXPECT_LT(v[0], v[1]);
}

TEST(ReferenceOpsMath, SoftmaxLegacyCoerce2dNormalisesTrailingBlock) {
  const auto x = make_tensor<float>({1, 2, 2}, {0, 0, 0, 0});
  const Tensor y = run1(make_node("Softmax", 1, 1, {{"axis", std::int64_t{1}}, {"_coerce_2d", std::int64_t{1}}}), {x});
  for (float v : values_of<float>(y)) EXPECT_FLOAT_EQ(v, 0.25f);
}

TEST(ReferenceOpsMath, LayerNormGivesZeroMeanUnitVariance) {
  const auto x = make_tensor<float>({2, 4}, {1, 2, 3, 4, -5, 0, 5, 10});
  const auto scale = make_tensor<float>({4}, {1, 1, 1, 1});
  const auto out = evaluate_node(make_node("LayerNormalization", 2, 3), {x, scale});
  ASSERT_EQ(out.size(), 3u);
  const auto y = values_of<float>(out[0]);
  for (int r = 0; r < 2; ++r) {
    double mean = 0, sq = 0;
    for (int i = 0; i < 4; ++i) mean += y[r * 4 + i];
    for (int i = 0; i < 4; ++i) sq += y[r * 4 + i] * y[r * 4 + i];
    EXPECT_NEAR(mean / 4, 0.0, 1e-6);
    EXPECT_NEAR(sq / 4, 1.0, 1e-3);
  }
  EXPECT_EQ(out[1].shape(), (Shape{2, 1}));
  EXPECT_FLOAT_EQ(out[1].data<float>()[0], 2.5f);
}

TEST(ReferenceOpsMath, BatchNormInferenceUsesRunningStats) {
  const auto x = make_tensor<float>({1, 2, 2}, {1, 3, 10, 20});
  const Tensor y = run1(make_node("BatchNormalization", 5, 1, {{"epsilon", 0.0}}),
                        {x, make_tensor<float>({2}, {2, 1}), make_tensor<float>({2}, {0, 1}),
                         make_tensor<float>({2}, {1, 10}), make_tensor<float>({2}, {4, 100})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{0, 2, 1, 2}));
}

TEST(ReferenceOpsMath, ReduceMeanKeepdimsAndNot) {
  const auto x = make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("ReduceMean", 1, 1, {{"axes", std::vector<std::int64_t>{1}}}), {x});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{2, 5}));
  y = run1(make_node("ReduceMean", 1, 1, {{"axes", std::vector<std::int64_t>{0}}, {"keepdims", std::int64_t{0}}}), {x});
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{2.5, 3.5, 4.5}));
  y = run1(make_node("ReduceMean", 1), {x});  // no axes: all
  EXPECT_EQ(y.shape(), (Shape{1, 1}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{3.5}));
}

TEST(ReferenceOpsMath, ReduceSumAxesInputAndNoop) {
  const auto x = make_tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run1(make_node("ReduceSum", 2, 1, {{"keepdims", std::int64_t{0}}}),
                  {x, make_tensor<std::int64_t>({1}, {-1})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{6, 15}));
  y = run1(make_node("ReduceSum", 2, 1, {{"noop_with_empty_axes", std::int64_t{1}}}),
           {x, make_tensor<std::int64_t>({0}, {})});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
}

TEST(ReferenceOpsMath, ArgMaxSelectLastIndex) {
  const auto x = make_tensor<float>({2, 3}, {1, 3, 3, 5, 5, 2});
  Tensor y = run1(make_node("ArgMax", 1, 1, {{"axis", std::int64_t{1}}}), {x});
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(values_of<std::int64_t>(y), (std::vector<std::int64_t>{1, 0}));
  y = run1(make_node("ArgMax", 1, 1, {{"axis", std::int64_t{1}}, {"select_last_index", std::int64_t{1}}}), {x});
  EXPECT_EQ(values_of<std::int64_t>(y), (std::vector<std::int64_t>{2, 1}));
}

TEST(ReferenceOpsMath, InferenceKeepsSymbolsThroughElementwiseOps) {
  const PartialShape batch_x3({Dimension::dynamic("batch"), Dimension(3)});
  const ir::ValueInfo a{ElementType::f32, batch_x3};
  const ir::ValueInfo b{ElementType::f32, PartialShape({Dimension(1), Dimension(3)})};
  auto out = infer_node(make_node("Add", 2), {a, b}, {nullptr, nullptr}, 17);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, batch_x3);
  out = infer_node(make_node("Relu", 1), {a}, {nullptr}, 17);
  EXPECT_EQ(out[0].shape, batch_x3);
  out = infer_node(make_node("Equal", 2), {a, b}, {nullptr, nullptr}, 17);
  EXPECT_EQ(out[0].element_type, ElementType::boolean);
  EXPECT_EQ(out[0].shape, batch_x3);
  const ir::ValueInfo unknown_rank{ElementType::f32, PartialShape::dynamic_rank()};
  out = infer_node(make_node("Mul", 2), {unknown_rank, b}, {nullptr, nullptr}, 17);
  EXPECT_FALSE(out[0].shape.rank_known());
  out = infer_node(make_node("Sigmoid", 1), {unknown_rank}, {nullptr}, 17);
  EXPECT_FALSE(out[0].shape.rank_known());
}

TEST(ReferenceOpsMath, InferenceOfReductionsAndCast) {
  const ir::ValueInfo x{ElementType::f32, PartialShape({Dimension::dynamic("n"), Dimension(4), Dimension(5)})};
  auto out = infer_node(make_node("ReduceMean", 1, 1, {{"axes", std::vector<std::int64_t>{-1}}, {"keepdims", std::int64_t{0}}}),
                        {x}, {nullptr}, 17);
  EXPECT_EQ(out[0].shape, PartialShape({Dimension::dynamic("n"), Dimension(4)}));
  // ReduceSum with a run-time axes input: rank kept, dims unknown.
  out = infer_node(make_node("ReduceSum", 2), {x, {ElementType::i64, PartialShape({Dimension(1)})}}, {nullptr, nullptr}, 17);
  ASSERT_TRUE(out[0].shape.rank_known());
  EXPECT_EQ(out[0].shape.rank(), 3u);
  const Tensor axes = make_tensor<std::int64_t>({1}, {1});
  out = infer_node(make_node("ReduceSum", 2), {x, {ElementType::i64, PartialShape({Dimension(1)})}}, {nullptr, &axes}, 17);
  EXPECT_EQ(out[0].shape, PartialShape({Dimension::dynamic("n"), Dimension(1), Dimension(5)}));
  out = infer_node(make_node("Cast", 1, 1, {{"to", std::int64_t{7}}}), {x}, {nullptr}, 17);
  EXPECT_EQ(out[0].element_type, ElementType::i64);
  EXPECT_EQ(out[0].shape, x.shape);
  out = infer_node(make_node("ArgMax", 1, 1, {{"axis", std::int64_t{1}}, {"keepdims", std::int64_t{0}}}), {x}, {nullptr}, 17);
  EXPECT_EQ(out[0].element_type, ElementType::i64);
  EXPECT_EQ(out[0].shape, PartialShape({Dimension::dynamic("n"), Dimension(5)}));
}

TEST(ReferenceOpsMath, IncompatibleBroadcastIsAnError) {
  const ir::ValueInfo a{ElementType::f32, PartialShape(Shape{2, 3})};
  const ir::ValueInfo b{ElementType::f32, PartialShape(Shape{4})};
  EXPECT_THROW(infer_node(make_node("Add", 2), {a, b}, {nullptr, nullptr}, 17), Error);
  EXPECT_THROW(run1(make_node("Add", 2), {make_tensor<float>({2}, {1, 2}), make_tensor<float>({3}, {1, 2, 3})}), Error);
}

TEST(ReferenceOpsMath, LargeBroadcastMatchesSerialComputation) {
  // Big enough to run in parallel; every element must equal the plain formula.
  const std::int64_t n = 64, c = 300;
  std::vector<float> xa(static_cast<std::size_t>(n * c)), xb(static_cast<std::size_t>(c));
  std::iota(xa.begin(), xa.end(), 0.0f);
  std::iota(xb.begin(), xb.end(), 0.5f);
  const Tensor y = run1(make_node("Mul", 2), {make_tensor<float>({n, c}, xa), make_tensor<float>({c}, xb)});
  const float* p = y.data<float>();
  for (std::int64_t i = 0; i < n * c; ++i) ASSERT_EQ(p[i], xa[std::size_t(i)] * xb[std::size_t(i % c)]);
}

}  // namespace
}  // namespace autosched::reference
