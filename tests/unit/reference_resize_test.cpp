// Unit tests of the reference Resize beyond the ONNX node tests: opset-18
// axes and keep_aspect_ratio_policy, shape inference with unknown sizes or
// dims, u8 data, and error messages.
#include <gtest/gtest.h>

#include <numeric>

#include "autosched/error.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

using Ints = std::vector<std::int64_t>;

ir::Node resize_node(std::map<std::string, ir::AttributeValue> attrs, bool sizes) {
  ir::Node node;
  node.name = "resize";
  node.op_type = "Resize";
  node.inputs = {"x", "", sizes ? "" : "scales", sizes ? "sizes" : ""};
  node.outputs = {"y"};
  node.attributes = std::move(attrs);
  return node;
}

Tensor ints(const Ints& v) {
  Tensor t(ElementType::i64, {std::int64_t(v.size())});
  std::copy(v.begin(), v.end(), t.data<std::int64_t>());
  return t;
}

Tensor floats(Shape shape, std::vector<float> v) {
  Tensor t(ElementType::f32, std::move(shape));
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

ir::ValueInfo info(ElementType t, PartialShape s) {
  ir::ValueInfo v;
  v.element_type = t;
  v.shape = std::move(s);
  return v;
}

Tensor run(const ir::Node& node, const Tensor& x, const Tensor& scales_or_sizes) {
  const bool sizes = node.has_input(3);
  std::vector<Tensor> in{x, Tensor(), sizes ? Tensor() : scales_or_sizes, sizes ? scales_or_sizes : Tensor()};
  return evaluate_node(node, in).at(0);
}

TEST(ReferenceResize, AxesAttributeResizesOnlyTheListedAxes) {
  // [1,1,2,2] -> sizes {4} on axis 3 only, nearest asymmetric: each column doubled.
  const auto node = resize_node({{"axes", Ints{-1}}, {"coordinate_transformation_mode", std::string("asymmetric")}},
                                true);
  const Tensor y = run(node, floats({1, 1, 2, 2}, {1, 2, 3, 4}), ints({4}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 4}));
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + y.size()),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4}));
}

TEST(ReferenceResize, KeepAspectRatioPolicyScalesAllAxesAlike) {
  const Tensor x(ElementType::f32, {1, 1, 4, 8});
  auto out_shape = [&](const std::string& policy) {
    return run(resize_node({{"axes", Ints{2, 3}}, {"keep_aspect_ratio_policy", policy}}, true), x, ints({2, 2}))
        .shape();
  };
  EXPECT_EQ(out_shape("stretch"), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(out_shape("not_larger"), (Shape{1, 1, 1, 2}));   // scale min(2/4, 2/8) = 0.25
  EXPECT_EQ(out_shape("not_smaller"), (Shape{1, 1, 2, 4}));  // scale max = 0.5
}

TEST(ReferenceResize, LinearHalfPixelInterpolatesAndClampsAtEdges) {
  // 1-D [0, 10] upsampled x2 (half_pixel): 0, 2.5, 7.5, 10.
  const Tensor y = run(resize_node({{"mode", std::string("linear")}}, false), floats({1, 2}, {0, 10}),
                       floats({2}, {1.f, 2.f}));
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 4), (std::vector<float>{0, 2.5f, 7.5f, 10}));
}

TEST(ReferenceResize, U8DataRoundsToNearest) {
  Tensor x(ElementType::u8, {1, 2});
  x.data<std::uint8_t>()[0] = 0;
  x.data<std::uint8_t>()[1] = 11;
  const Tensor y = run(resize_node({{"mode", std::string("linear")}}, false), x, floats({2}, {1.f, 2.f}));
  const auto* p = y.data<std::uint8_t>();
  EXPECT_EQ((std::vector<int>{p[0], p[1], p[2], p[3]}), (std::vector<int>{0, 3, 8, 11}));  // 2.75, 8.25
}

TEST(ReferenceResize, InferenceKeepsWhatDoesNotDependOnUnknowns) {
  const Tensor sizes = ints({1, 3, 16, 16});
  const Tensor scales = floats({4}, {1, 1, 2, 2});
  const PartialShape batch_dynamic({Dimension::dynamic("batch"), 3, 8, 8});
  auto infer = [&](const ir::Node& node, PartialShape x, const Tensor* constant) {
    std::vector<ir::ValueInfo> in{info(ElementType::f32, std::move(x)), {}, {}, {}};
    std::vector<const Tensor*> constants(4, nullptr);
    const std::size_t at = node.has_input(3) ? 3 : 2;
    in[at] = info(at == 3 ? ElementType::i64 : ElementType::f32, PartialShape(Shape{4}));
    constants[at] = constant;
    return infer_node(node, in, constants, 17).at(0).shape.to_string();
  };
  EXPECT_EQ(infer(resize_node({}, true), Shape{1, 3, 8, 8}, &sizes), "[1,3,16,16]");
  EXPECT_EQ(infer(resize_node({}, false), Shape{1, 3, 8, 8}, &scales), "[1,3,16,16]");
  EXPECT_EQ(infer(resize_node({}, true), batch_dynamic, &sizes), "[1,3,16,16]");
  EXPECT_EQ(infer(resize_node({}, false), batch_dynamic, &scales), "[batch,3,16,16]");
  EXPECT_EQ(infer(resize_node({}, true), Shape{1, 3, 8, 8}, nullptr), "[?,?,?,?]");  // sizes computed at run time
}

TEST(ReferenceResize, ErrorsNameTheNodeAndWhatIsValid) {
  const Tensor x(ElementType::f32, {1, 1, 2, 2});
  auto message = [&](const ir::Node& node, const Tensor& arg) -> std::string {
    try {
      run(node, x, arg);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(resize_node({{"mode", std::string("bilinear")}}, true), ints({1, 1, 4, 4}))
                .find("mode 'bilinear' is not one of nearest, linear, cubic"),
            std::string::npos);
  EXPECT_NE(message(resize_node({}, true), ints({4, 4})).find("sizes has 2 values, expected 4"), std::string::npos);
  EXPECT_NE(message(resize_node({{"coordinate_transformation_mode", std::string("centre")}}, true), ints({1, 1, 4, 4}))
                .find("'centre' is not one of half_pixel"),
            std::string::npos);
  EXPECT_NE(message(resize_node({}, false), floats({4}, {1, 1, 0, 2})).find("scales must be positive"),
            std::string::npos);
  EXPECT_NE(message(resize_node({{"antialias", std::int64_t(1)}}, true), ints({1, 1, 1, 1})).find("antialias"),
            std::string::npos);
  EXPECT_NE(message(resize_node({}, true), ints({1, 1, 4, 4})).find("no error"), std::string::npos);
}

}  // namespace
}  // namespace autosched::reference
