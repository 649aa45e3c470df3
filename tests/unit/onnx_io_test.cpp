// ONNX reader/writer: robustness against bad files, type and attribute
// mapping, external data, size limits and lossless write -> read round trips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"
#include "model/onnx_io.hpp"
#include "onnx_test_proto.hpp"

namespace autosched {
namespace {

namespace fs = std::filesystem;
namespace pb = test::onnx_proto;

// A fresh directory per test, removed afterwards.
class OnnxIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("autosched_onnx_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  fs::path dir_;
};

// Expects `f` to throw Error with `code` and every piece of `parts` in its message.
template <class F>
void expect_error(F&& f, ErrorCode code, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected Error(" << to_string(code) << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
  }
}

// Y = Relu(X + W) with W a [2,3] f32 initializer.
pb::GraphParts add_relu_parts(const pb::Msg& w) {
  pb::GraphParts p;
  p.initializers = {w};
  p.inputs = {pb::value_info("X", pb::FLOAT, {2, 3})};
  p.outputs = {pb::value_info("Y", pb::FLOAT, {2, 3})};
  p.nodes = {pb::node("Add", {"X", "W"}, {"S"}, "add0"), pb::node("Relu", {"S"}, {"Y"}, "relu0")};
  return p;
}

pb::Msg w_raw() {
  return pb::raw_tensor("W", pb::FLOAT, {2, 3}, pb::raw_bytes(std::vector<float>{1, -2, 3, -4, 5, -6}));
}

std::vector<float> values_of(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.size());
}

TEST_F(OnnxIo, MissingFileIsNotFound) {
  expect_error([&] { onnx_io::read_model(path("nope.onnx")); }, ErrorCode::not_found, {"nope.onnx"});
  expect_error([&] { onnx_io::read_tensor(path("nope.pb")); }, ErrorCode::not_found, {"nope.pb"});
}

TEST_F(OnnxIo, RandomBytesAndTextAreIoErrors) {
  std::mt19937 rng(42);
  std::string noise(4096, '\0');
  for (auto& c : noise) c = char(rng());
  pb::write_file(path("noise.onnx"), noise);
  expect_error([&] { onnx_io::read_model(path("noise.onnx")); }, ErrorCode::io, {"noise.onnx"});
  pb::write_file(path("text.onnx"), "this is a text file, not a model\nsecond line\n");
  expect_error([&] { onnx_io::read_model(path("text.onnx")); }, ErrorCode::io, {"text.onnx"});
  pb::write_file(path("empty.onnx"), "");
  expect_error([&] { onnx_io::read_model(path("empty.onnx")); }, ErrorCode::io, {"empty.onnx"});
  expect_error([&] { onnx_io::read_model(dir_.string()); }, ErrorCode::io, {"directory"});
}

TEST_F(OnnxIo, TruncatedFileIsIoErrorNamingThePath) {
  const std::string bytes = pb::model(add_relu_parts(w_raw()));
  ASSERT_NO_THROW(onnx_io::read_model_from_memory(bytes.data(), bytes.size()));
  pb::write_file(path("half.onnx"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { onnx_io::read_model(path("half.onnx")); }, ErrorCode::io, {"half.onnx"});
}

TEST_F(OnnxIo, UnsupportedOpNamesOpNodeAndOpset) {
  auto p = add_relu_parts(w_raw());
  p.nodes[1] = pb::node("FancyOp", {"S"}, {"Y"}, "fancy_node");
  const std::string bytes = pb::model(p, 15);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::unsupported,
               {"FancyOp", "fancy_node", "opset 15"});
}

TEST_F(OnnxIo, UnsupportedOpsetsAndDomainsAreNamed) {
  for (std::int64_t opset : {10, 18}) {
    const std::string bytes = pb::model(add_relu_parts(w_raw()), opset);
    expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::unsupported,
                 {"opset " + std::to_string(opset), "11 to 17"});
  }
  auto p = add_relu_parts(w_raw());
  p.nodes[1] = pb::node("FusedGelu", {"S"}, {"Y"}, "ms_node", "com.microsoft");
  const std::string bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::unsupported,
               {"com.microsoft", "ms_node", "FusedGelu"});
  // "ai.onnx" is the default domain under its long name.
  const std::string long_name = pb::model(add_relu_parts(w_raw()), 13, "ai.onnx");
  EXPECT_NO_THROW(onnx_io::read_model_from_memory(long_name.data(), long_name.size()));
}

TEST_F(OnnxIo, UnsupportedElementTypeIsNamed) {
  auto p = add_relu_parts(w_raw());
  p.initializers.push_back(pb::tensor("names", pb::STRING, {1}).str(6, "hello"));
  const std::string bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::unsupported,
               {"STRING", "names"});
}

TEST_F(OnnxIo, HugeDeclaredTensorIsRejectedBeforeAllocation) {
  // 10^12 u8 elements: allocating (and zeroing) them would take a terabyte; the
  // reader must refuse from the declared shape alone.
  auto p = add_relu_parts(w_raw());
  p.initializers.push_back(pb::raw_tensor("huge", pb::UINT8, {1000000, 1000000}, "abcd"));
  std::string bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); },
               ErrorCode::resource_exhausted, {"huge", "[1000000,1000000]"});
  // Within the limit but more than the raw data present: io, still before allocating.
  p.initializers.back() = pb::raw_tensor("big", pb::FLOAT, {1000, 1000, 1000}, "abcd");
  bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::io,
               {"big", "4 bytes of raw data"});
  // Typed fields that do not match the declared count.
  p.initializers.back() = pb::tensor("typed", pb::FLOAT, {1000, 1000}).packed_f32(4, {1.f, 2.f});
  bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::io,
               {"typed", "float_data"});
}

TEST_F(OnnxIo, TypedDataFieldsAreDecoded) {
  pb::GraphParts p;
  p.initializers = {
      pb::tensor("f", pb::FLOAT, {3}).packed_f32(4, {1.5f, -2.f, 3.25f}),
      pb::tensor("h", pb::FLOAT16, {2}).packed_varints(5, {0x3c00, 0xc000}),  // 1.0, -2.0
      pb::tensor("bf", pb::BFLOAT16, {1}).packed_varints(5, {0x3fc0}),        // 1.5
      pb::tensor("l", pb::INT64, {2}).packed_varints(7, {-7, 1LL << 40}),
      pb::tensor("b", pb::BOOL, {3}).packed_varints(5, {1, 0, 1}),
      pb::tensor("i8", pb::INT8, {2}).packed_varints(5, {-5, 100}),
      pb::tensor("s", pb::INT32, {}).packed_varints(5, {-42}),
  };
  p.outputs = {pb::value_info("f", pb::FLOAT, {3}), pb::value_info("l", pb::INT64, {2})};
  const std::string bytes = pb::model(p);
  auto g = onnx_io::read_model_from_memory(bytes.data(), bytes.size());
  EXPECT_EQ(values_of(g->initializers.at("f")), (std::vector<float>{1.5f, -2.f, 3.25f}));
  const auto& h = g->initializers.at("h");
  ASSERT_EQ(h.element_type(), ElementType::f16);
  EXPECT_EQ(float(h.data<float16>()[0]), 1.0f);
  EXPECT_EQ(float(h.data<float16>()[1]), -2.0f);
  EXPECT_EQ(float(g->initializers.at("bf").data<bfloat16>()[0]), 1.5f);
  EXPECT_EQ(g->initializers.at("l").data<std::int64_t>()[0], -7);
  EXPECT_EQ(g->initializers.at("l").data<std::int64_t>()[1], 1LL << 40);
  const bool* b = g->initializers.at("b").data<bool>();
  EXPECT_TRUE(b[0]);
  EXPECT_FALSE(b[1]);
  EXPECT_TRUE(b[2]);
  EXPECT_EQ(g->initializers.at("i8").data<std::int8_t>()[0], -5);
  EXPECT_EQ(g->initializers.at("s").shape(), Shape{});
  EXPECT_EQ(*g->initializers.at("s").data<std::int32_t>(), -42);
  EXPECT_TRUE(g->inputs.empty());
}

TEST_F(OnnxIo, DynamicDimsAndInitializerInputs) {
  auto p = add_relu_parts(w_raw());
  p.inputs = {pb::value_info("X", pb::FLOAT, {"batch", 3}), pb::value_info("W", pb::FLOAT, {2, 3})};
  p.outputs = {pb::value_info("Y", pb::FLOAT, {"", 3})};
  const std::string bytes = pb::model(p);
  auto g = onnx_io::read_model_from_memory(bytes.data(), bytes.size());
  ASSERT_EQ(g->inputs.size(), 1u);  // W is an initializer, not a model input
  EXPECT_EQ(g->inputs[0].name, "X");
  EXPECT_EQ(g->inputs[0].shape[0], Dimension::dynamic("batch"));
  EXPECT_EQ(g->inputs[0].shape[1], Dimension(3));
  ASSERT_EQ(g->outputs.size(), 1u);
  // The declared [?,3] output is completed from inference ([batch,3] + [2,3] -> [2,3]).
  EXPECT_EQ(g->outputs[0].shape, PartialShape(Shape{2, 3}));
}

TEST_F(OnnxIo, ExternalDataRoundTrip) {
  const std::vector<float> w = {1, -2, 3, -4, 5, -6};
  pb::write_file(path("weights.bin"), std::string(16, 'x') + pb::raw_bytes(w));
  auto p = add_relu_parts(pb::external_tensor("W", pb::FLOAT, {2, 3},
                                              {{"location", "weights.bin"}, {"offset", "16"}, {"length", "24"}}));
  pb::write_file(path("ext.onnx"), pb::model(p));
  auto g = onnx_io::read_model(path("ext.onnx"));
  EXPECT_EQ(values_of(g->initializers.at("W")), w);
  // Written back inline, read again: same values.
  onnx_io::write_model(*g, path("inline.onnx"));
  fs::remove(path("weights.bin"));
  auto again = onnx_io::read_model(path("inline.onnx"));
  EXPECT_EQ(values_of(again->initializers.at("W")), w);
  // From memory without a base directory, external data cannot be resolved.
  const std::string bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::io,
               {"weights.bin"});
}

TEST_F(OnnxIo, ExternalDataErrors) {
  auto model_with = [&](const std::vector<std::pair<std::string, std::string>>& entries) {
    pb::write_file(path("m.onnx"), pb::model(add_relu_parts(pb::external_tensor("W", pb::FLOAT, {2, 3}, entries))));
    return path("m.onnx");
  };
  fs::create_directories(dir_ / "sub");
  pb::write_file(path("outside.bin"), std::string(24, '\0'));
  pb::write_file((dir_ / "sub" / "m.onnx").string(),
                 pb::model(add_relu_parts(pb::external_tensor("W", pb::FLOAT, {2, 3}, {{"location", "../outside.bin"}}))));
  expect_error([&] { onnx_io::read_model((dir_ / "sub" / "m.onnx").string()); }, ErrorCode::io,
               {"../outside.bin", "escapes"});
  expect_error([&] { onnx_io::read_model(model_with({{"location", "/etc/passwd"}})); }, ErrorCode::io,
               {"/etc/passwd"});
  expect_error([&] { onnx_io::read_model(model_with({{"location", "missing.bin"}})); }, ErrorCode::io,
               {"missing.bin"});
  pb::write_file(path("short.bin"), std::string(10, '\0'));  // 24 bytes needed
  expect_error([&] { onnx_io::read_model(model_with({{"location", "short.bin"}})); }, ErrorCode::io,
               {"short.bin", "24 bytes"});
  pb::write_file(path("ok.bin"), std::string(24, '\0'));
  expect_error([&] { onnx_io::read_model(model_with({{"location", "ok.bin"}, {"offset", "8"}})); }, ErrorCode::io,
               {"ok.bin", "offset 8"});
  expect_error([&] { onnx_io::read_model(model_with({{"location", "ok.bin"}, {"offset", "abc"}})); },
               ErrorCode::io, {"abc"});
}

TEST_F(OnnxIo, CheckerErrorsBecomeIoErrors) {
  auto p = add_relu_parts(w_raw());
  pb::add_attr(p.nodes[1], pb::attr_int("no_such_attribute", 1));
  const std::string bytes = pb::model(p);
  expect_error([&] { onnx_io::read_model_from_memory(bytes.data(), bytes.size()); }, ErrorCode::io,
               {"checker", "no_such_attribute"});
}

TEST_F(OnnxIo, UnsortedNodesAreAccepted) {
  auto p = add_relu_parts(w_raw());
  std::swap(p.nodes[0], p.nodes[1]);
  const std::string bytes = pb::model(p);
  auto g = onnx_io::read_model_from_memory(bytes.data(), bytes.size());
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op_type, "Add");
  EXPECT_EQ(g->nodes[1].op_type, "Relu");
}

TEST_F(OnnxIo, WriteReadRoundTripIsLossless) {
  ir::Graph g;
  g.name = "round_trip";
  g.opset = 14;
  g.inputs = {PortInfo{"X", ElementType::f32, PartialShape({Dimension::dynamic("batch"), Dimension(4)})},
              PortInfo{"Z", ElementType::f32, PartialShape({Dimension::dynamic(), Dimension(4)})}};
  Tensor w(ElementType::f32, {1, 4});
  for (int i = 0; i < 4; ++i) w.data<float>()[i] = 0.25f * float(i) - 0.3f;
  Tensor h(ElementType::f16, {3});
  for (int i = 0; i < 3; ++i) h.data<float16>()[i] = float16(float(i) + 0.5f);
  Tensor flags(ElementType::boolean, {2});
  flags.data<bool>()[1] = true;
  Tensor axes(ElementType::i64, {2});
  axes.data<std::int64_t>()[0] = 0;
  axes.data<std::int64_t>()[1] = -1;
  g.initializers = {{"W", w}, {"H", h}, {"flags", flags}, {"axes", axes}};
  ir::Node add{"add", "Add", {"X", "W"}, {"S"}, {}};
  ir::Node leaky{"leaky", "LeakyRelu", {"S"}, {"L"}, {{"alpha", 0.125}}};
  ir::Node transpose{"tr", "Transpose", {"L"}, {"T"}, {{"perm", std::vector<std::int64_t>{1, 0}}}};
  ir::Node concat{"cat", "Concat", {"L", "Z"}, {"C"}, {{"axis", std::int64_t(0)}}};
  g.nodes = {add, leaky, transpose, concat};
  g.outputs = {PortInfo{"T", ElementType::undefined, PartialShape::dynamic_rank()},
               PortInfo{"C", ElementType::f32, PartialShape::dynamic_rank()}};
  g.finalize();
  onnx_io::write_model(g, path("rt.onnx"));
  auto r = onnx_io::read_model(path("rt.onnx"));

  EXPECT_EQ(r->name, g.name);
  EXPECT_EQ(r->opset, g.opset);
  ASSERT_EQ(r->inputs.size(), g.inputs.size());
  for (std::size_t i = 0; i < g.inputs.size(); ++i) {
    EXPECT_EQ(r->inputs[i].name, g.inputs[i].name);
    EXPECT_EQ(r->inputs[i].element_type, g.inputs[i].element_type);
    EXPECT_EQ(r->inputs[i].shape, g.inputs[i].shape) << r->inputs[i].shape.to_string();
  }
  ASSERT_EQ(r->outputs.size(), g.outputs.size());
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    EXPECT_EQ(r->outputs[i].name, g.outputs[i].name);
    EXPECT_EQ(r->outputs[i].element_type, g.outputs[i].element_type);
    EXPECT_EQ(r->outputs[i].shape, g.outputs[i].shape) << r->outputs[i].shape.to_string();
  }
  ASSERT_EQ(r->nodes.size(), g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(r->nodes[i].name, g.nodes[i].name);
    EXPECT_EQ(r->nodes[i].op_type, g.nodes[i].op_type);
    EXPECT_EQ(r->nodes[i].inputs, g.nodes[i].inputs);
    EXPECT_EQ(r->nodes[i].outputs, g.nodes[i].outputs);
    EXPECT_EQ(r->nodes[i].attributes.size(), g.nodes[i].attributes.size());
  }
  EXPECT_EQ(r->nodes[1].get_float("alpha", 0), 0.125);
  EXPECT_EQ(r->nodes[2].get_ints("perm"), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(r->nodes[3].get_int("axis", 5), 0);
  ASSERT_EQ(r->initializers.size(), g.initializers.size());
  for (const auto& [name, t] : g.initializers) {
    const Tensor& o = r->initializers.at(name);
    EXPECT_EQ(o.element_type(), t.element_type()) << name;
    EXPECT_EQ(o.shape(), t.shape()) << name;
    ASSERT_EQ(o.byte_size(), t.byte_size()) << name;
    EXPECT_EQ(std::memcmp(o.data(), t.data(), t.byte_size()), 0) << name;
  }
  for (const auto& [name, info] : g.values) {
    EXPECT_EQ(r->value_info(name).element_type, info.element_type) << name;
    EXPECT_EQ(r->value_info(name).shape, info.shape) << name;
  }
}

TEST_F(OnnxIo, ReadTensorFile) {
  pb::write_file(path("input_0.pb"),
                 pb::raw_tensor("x", pb::FLOAT, {2, 2}, pb::raw_bytes(std::vector<float>{1, 2, 3, 4})).bytes);
  Tensor t = onnx_io::read_tensor(path("input_0.pb"));
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(t), (std::vector<float>{1, 2, 3, 4}));
  pb::write_file(path("bad.pb"), "\xff\xff\xff");
  expect_error([&] { onnx_io::read_tensor(path("bad.pb")); }, ErrorCode::io, {"bad.pb"});
}

TEST_F(OnnxIo, WriteToUnwritablePathIsIoError) {
  ir::Graph g;
  g.inputs = {PortInfo{"X", ElementType::f32, Shape{1}}};
  g.outputs = {PortInfo{"X", ElementType::f32, Shape{1}}};
  g.finalize();
  expect_error([&] { onnx_io::write_model(g, path("no/such/dir/m.onnx")); }, ErrorCode::io, {"no/such/dir"});
}

}  // namespace
}  // namespace autosched
