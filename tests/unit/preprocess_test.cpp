// Preprocessing compiled into the model (Preprocessor) and Model::reshape:
// a preprocessed model equals the original one run on a tensor prepared by
// hand, on REF and CPU; reshape fixes a dynamic batch; errors name what is valid.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched {
namespace {

Core& core() {
  static Core instance;
  return instance;
}

Tensor random_f32(const Shape& shape, std::uint32_t seed) {
  Tensor t(ElementType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// x [batch,3,8,8] -> Conv 3->4 3x3 pad 1 + bias -> Relu -> y [batch,4,8,8].
Model conv_model(const PartialShape& input_shape) {
  auto g = std::make_shared<ir::Graph>();
  g->name = "conv";
  g->inputs.push_back(PortInfo{"input", ElementType::f32, input_shape});
  g->initializers["w"] = random_f32({4, 3, 3, 3}, 7);
  g->initializers["b"] = random_f32({4}, 8);
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {"input", "w", "b"};
  conv.outputs = {"conv_out"};
  conv.attributes["pads"] = std::vector<std::int64_t>{1, 1, 1, 1};
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"conv_out"};
  relu.outputs = {"output"};
  g->nodes = {conv, relu};
  PortInfo out;
  out.name = "output";
  out.element_type = ElementType::undefined;
  out.shape = PartialShape::dynamic_rank();
  g->outputs.push_back(out);
  g->finalize();
  return Model(g);
}

Tensor run(const Model& model, const std::string& device, const Tensor& input) {
  auto compiled = core().compile_model(model, device);
  auto request = compiled.create_infer_request();
  request.set_input_tensor(0, input);
  request.infer();
  return request.get_output_tensor(0).clone();
}

void expect_close(const Tensor& expected, const Tensor& actual, const std::string& what) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  ASSERT_EQ(actual.element_type(), ElementType::f32) << what;
  double worst = 0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double e = expected.data<float>()[i], a = actual.data<float>()[i];
    worst = std::max(worst, std::abs(a - e));
    if (!(std::abs(a - e) <= 1e-4 + 1e-4 * std::abs(e))) ++bad;
  }
  EXPECT_EQ(bad, 0u) << what << ": max abs error " << worst;
}

// Bilinear resize of one plane, half-pixel centres, edges clamped (cv2 INTER_LINEAR).
double bilinear(const std::vector<double>& plane, std::int64_t in_h, std::int64_t in_w, std::int64_t oy,
                std::int64_t ox, std::int64_t out_h, std::int64_t out_w) {
  auto source = [](std::int64_t o, std::int64_t in, std::int64_t out, std::int64_t& i0, std::int64_t& i1) {
    const double s = (double(o) + 0.5) * double(in) / double(out) - 0.5;
    const double f = std::floor(s);
    i0 = std::clamp<std::int64_t>(std::int64_t(f), 0, in - 1);
    i1 = std::clamp<std::int64_t>(std::int64_t(f) + 1, 0, in - 1);
    return s - f;
  };
  std::int64_t y0, y1, x0, x1;
  const double fy = source(oy, in_h, out_h, y0, y1);
  const double fx = source(ox, in_w, out_w, x0, x1);
  auto at = [&](std::int64_t y, std::int64_t x) { return plane[std::size_t(y * in_w + x)]; };
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

const std::vector<float> kMean{120.f, 110.f, 100.f};
const std::vector<float> kScale{58.f, 57.f, 56.f};

// u8 NHWC image [1,h,w,3] -> f32 NCHW [1,3,8,8]: bilinear, then (x - mean) / scale.
Tensor preprocess_by_hand(const Tensor& image) {
  const std::int64_t h = image.shape()[1], w = image.shape()[2];
  Tensor out(ElementType::f32, {1, 3, 8, 8});
  for (std::int64_t c = 0; c < 3; ++c) {
    std::vector<double> plane(std::size_t(h * w));
    for (std::int64_t i = 0; i < h * w; ++i) plane[std::size_t(i)] = image.data<std::uint8_t>()[i * 3 + c];
    for (std::int64_t y = 0; y < 8; ++y)
      for (std::int64_t x = 0; x < 8; ++x)
        out.data<float>()[(c * 8 + y) * 8 + x] =
            float((bilinear(plane, h, w, y, x, 8, 8) - kMean[std::size_t(c)]) / kScale[std::size_t(c)]);
  }
  return out;
}

Tensor random_image(std::int64_t h, std::int64_t w, std::uint32_t seed) {
  Tensor t(ElementType::u8, {1, h, w, 3});
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < t.size(); ++i) t.data<std::uint8_t>()[i] = std::uint8_t(rng() % 256);
  return t;
}

TEST(Preprocess, U8NhwcMeanScaleResizeEqualsDoingItByHand) {
  const Model model = conv_model(Shape{1, 3, 8, 8});
  Preprocessor pp(model);
  pp.input("input").tensor(ElementType::u8, "NHWC", {13, 11}).mean(kMean).scale(kScale).resize();
  const Model pre = pp.build();
  ASSERT_EQ(pre.inputs().size(), 1u);
  EXPECT_EQ(pre.inputs()[0].name, "input");
  EXPECT_EQ(pre.inputs()[0].element_type, ElementType::u8);
  EXPECT_EQ(pre.inputs()[0].shape, PartialShape(Shape{1, 13, 11, 3}));
  EXPECT_EQ(pre.outputs()[0].shape, PartialShape(Shape{1, 4, 8, 8}));
  EXPECT_EQ(model.inputs()[0].element_type, ElementType::f32);  // the original is unchanged
  std::string ops;
  for (const auto& node : pre.graph().nodes) ops += node.op_type + " ";
  EXPECT_EQ(ops, "Cast Transpose Resize Sub Div Conv Relu ");

  const Tensor image = random_image(13, 11, 42);
  const Tensor expected = run(model, "REF", preprocess_by_hand(image));
  for (const char* device : {"REF", "CPU"}) expect_close(expected, run(pre, device, image), device);

  // The steps are plain ONNX ops: the model survives an ONNX file round trip.
  const std::string path = testing::TempDir() + "preprocessed_conv.onnx";
  pre.save(path);
  const Model reread = core().read_model(path);
  EXPECT_EQ(reread.inputs()[0].element_type, ElementType::u8);
  expect_close(expected, run(reread, "REF", image), "saved and read back");
  std::remove(path.c_str());
}

TEST(Preprocess, UnfixedSpatialSizeResizesEachRequestsImage) {
  const Model model = conv_model(Shape{1, 3, 8, 8});
  Preprocessor pp(model);
  pp.input().tensor(ElementType::u8, "NHWC").mean(kMean).scale(kScale).resize(ResizeAlgorithm::linear);
  const Model pre = pp.build();
  EXPECT_EQ(pre.inputs()[0].shape.to_string(), "[1,?,?,3]");
  for (auto [h, w] : {std::pair<std::int64_t, std::int64_t>{5, 7}, {16, 16}, {9, 30}}) {
    const Tensor image = random_image(h, w, std::uint32_t(h * 100 + w));
    const Tensor expected = run(model, "REF", preprocess_by_hand(image));
    for (const char* device : {"REF", "CPU"})
      expect_close(expected, run(pre, device, image), std::string(device) + " " + to_string(image.shape()));
  }
}

TEST(Preprocess, F16InputIsConvertedToTheModelsF32) {
  const Model model = conv_model(Shape{1, 3, 8, 8});
  Preprocessor pp(model);
  pp.input("input").tensor(ElementType::f16);
  const Model pre = pp.build();
  EXPECT_EQ(pre.inputs()[0].element_type, ElementType::f16);
  EXPECT_EQ(pre.inputs()[0].shape, PartialShape(Shape{1, 3, 8, 8}));
  const Tensor values = random_f32({1, 3, 8, 8}, 3);
  Tensor half(ElementType::f16, {1, 3, 8, 8});
  Tensor rounded(ElementType::f32, {1, 3, 8, 8});
  for (std::size_t i = 0; i < values.size(); ++i) {
    half.data<float16>()[i] = float16(values.data<float>()[i]);
    rounded.data<float>()[i] = float(half.data<float16>()[i]);
  }
  const Tensor expected = run(model, "REF", rounded);
  for (const char* device : {"REF", "CPU"}) expect_close(expected, run(pre, device, half), device);
}

// Runs `f` and expects an Error with `code` whose message holds every `part`.
template <class F> void expect_error(F&& f, ErrorCode code, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << parts.front();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Preprocess, ErrorsNameWhatIsValid) {
  const Model model = conv_model(Shape{1, 3, 8, 8});
  expect_error([&] { Preprocessor(model).input("image"); }, ErrorCode::not_found, {"'image'", "'input'"});
  expect_error([&] { Preprocessor pp{Model{}}; }, ErrorCode::invalid_argument, {"empty"});
  auto build = [&](auto configure) {
    Preprocessor pp(model);
    configure(pp.input("input"));
    return pp.build();
  };
  expect_error([&] { build([](InputPreprocess& p) { p.mean({1.f, 2.f}); }); }, ErrorCode::invalid_argument,
               {"'input'", "mean has 2 values", "3 channels"});
  expect_error([&] { build([](InputPreprocess& p) { p.scale({1.f, 0.f, 1.f}); }); }, ErrorCode::invalid_argument,
               {"scale", "non-zero"});
  expect_error([&] { build([](InputPreprocess& p) { p.tensor(ElementType::u8, "NHW"); }); },
               ErrorCode::invalid_argument, {"'NHW'", "rank 4"});
  expect_error([&] { build([](InputPreprocess& p) { p.tensor(ElementType::u8, "NHWD"); }); },
               ErrorCode::invalid_argument, {"'NHWD'", "'NCHW'"});
  expect_error([&] { build([](InputPreprocess& p) { p.tensor(ElementType::u8, "NHWC", {16, 16}); }); },
               ErrorCode::invalid_argument, {"differs", "resize()"});
  expect_error([&] { build([](InputPreprocess& p) { p.model_layout("NC").mean({1.f}); }); },
               ErrorCode::invalid_argument, {"'NC'", "rank 4"});
  // Resizing needs a static model spatial size.
  const Model dynamic_hw = conv_model(PartialShape({Dimension(1), Dimension(3), Dimension::dynamic(),
                                                    Dimension::dynamic()}));
  expect_error([&] {
    Preprocessor pp(dynamic_hw);
    pp.input().resize();
    pp.build();
  }, ErrorCode::invalid_argument, {"static", "reshape"});
}

// ---------------------------------------------------------------- Model::reshape

TEST(ModelReshape, FixesADynamicBatchAndRunsOnRefAndCpu) {
  const Model dynamic = conv_model(PartialShape({Dimension::dynamic("batch"), 3, 8, 8}));
  EXPECT_EQ(dynamic.outputs()[0].shape.to_string(), "[batch,4,8,8]");
  for (std::int64_t batch : {1, 2, 5}) {
    const Model fixed = dynamic.reshape({{"input", PartialShape(Shape{batch, 3, 8, 8})}});
    EXPECT_EQ(fixed.inputs()[0].shape, PartialShape(Shape{batch, 3, 8, 8}));
    EXPECT_EQ(fixed.outputs()[0].shape, PartialShape(Shape{batch, 4, 8, 8}));
    EXPECT_GT(fixed.flops(), 0.0);  // static now
    const Tensor input = random_f32({batch, 3, 8, 8}, std::uint32_t(batch));
    const Tensor expected = run(dynamic, "REF", input);
    for (const char* device : {"REF", "CPU"})
      expect_close(expected, run(fixed, device, input), std::string(device) + " batch " + std::to_string(batch));
  }
  EXPECT_EQ(dynamic.inputs()[0].shape.to_string(), "[batch,3,8,8]");  // unchanged
  EXPECT_EQ(dynamic.flops(), 0.0);
}

TEST(ModelReshape, ChangesStaticDimsAndFeedsPreprocessing) {
  const Model model = conv_model(Shape{1, 3, 8, 8});
  const Model bigger = model.reshape(PartialShape(Shape{2, 3, 12, 10}));
  EXPECT_EQ(bigger.outputs()[0].shape, PartialShape(Shape{2, 4, 12, 10}));
  const Tensor input = random_f32({2, 3, 12, 10}, 9);
  expect_close(run(bigger, "REF", input), run(bigger, "CPU", input), "CPU vs REF");
  // A dynamic batch stays dynamic through a resize step.
  const Model dynamic = conv_model(PartialShape({Dimension::dynamic("batch"), 3, 8, 8}));
  Preprocessor pp(dynamic);
  pp.input().tensor(ElementType::u8, "NHWC", {13, 11}).mean(kMean).scale(kScale).resize();
  const Model pre = pp.build();
  EXPECT_EQ(pre.inputs()[0].shape.to_string(), "[batch,13,11,3]");
  const Tensor image = random_image(13, 11, 5);
  expect_close(run(model, "REF", preprocess_by_hand(image)), run(pre, "REF", image), "dynamic batch preprocess");
}

TEST(ModelReshape, ErrorsNameWhatIsValid) {
  const Model model = conv_model(PartialShape({Dimension::dynamic("batch"), 3, 8, 8}));
  expect_error([&] { model.reshape({{"x", PartialShape(Shape{1, 3, 8, 8})}}); }, ErrorCode::not_found,
               {"'x'", "'input'"});
  expect_error([&] { model.reshape(PartialShape(Shape{1, 3, 8})); }, ErrorCode::invalid_argument,
               {"'input'", "rank 4", "[1,3,8]"});
  expect_error([&] { model.reshape(PartialShape::dynamic_rank()); }, ErrorCode::invalid_argument, {"known rank"});
  // Five channels do not fit the 3-channel convolution weights: the message names the node.
  expect_error([&] { model.reshape(PartialShape(Shape{1, 5, 8, 8})); }, ErrorCode::invalid_argument,
               {"Model::reshape", "[1,5,8,8]", "conv"});
  expect_error([&] { Model().reshape(PartialShape(Shape{1})); }, ErrorCode::invalid_argument, {"empty"});
}

}  // namespace
}  // namespace autosched
