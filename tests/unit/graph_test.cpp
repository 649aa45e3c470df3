// ir::Node accessors, ir::Graph::finalize (validation, sorting, Constant
// folding, inference), flops, Model and the reference GraphExecutor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "autosched/error.hpp"
#include "autosched/model.hpp"
#include "autosched/plugin/graph.hpp"
#include "model/onnx_io.hpp"
#include "model/reference/graph_executor.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched {
namespace {

using ir::Graph;
using ir::Node;

template <class F>
void expect_error(F&& f, ErrorCode code, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected Error(" << to_string(code) << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
  }
}

Tensor f32(Shape shape, std::vector<float> v) {
  Tensor t(ElementType::f32, std::move(shape));
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

std::vector<float> values_of(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.size());
}

PortInfo port(const std::string& name, PartialShape shape, ElementType type = ElementType::f32) {
  return PortInfo{name, type, std::move(shape)};
}

// Y = Relu(X + B), X:[2,3], B initializer [3].
Graph add_relu_graph() {
  Graph g;
  g.inputs = {port("X", Shape{2, 3})};
  g.initializers = {{"B", f32({3}, {1, -1, 0.5f})}};
  g.nodes = {Node{"add", "Add", {"X", "B"}, {"S"}, {}}, Node{"relu", "Relu", {"S"}, {"Y"}, {}}};
  g.outputs = {port("Y", PartialShape::dynamic_rank(), ElementType::undefined)};
  return g;
}

TEST(GraphNode, TypedAccessorsAndErrors) {
  Node n{"conv1", "Conv", {"x", "", "b"}, {"y"},
         {{"group", std::int64_t(2)}, {"alpha", 0.5}, {"mode", std::string("constant")},
          {"pads", std::vector<std::int64_t>{1, 1}}, {"scales", std::vector<double>{2.0}},
          {"value", f32({1}, {3})}}};
  EXPECT_EQ(n.get_int("group", 1), 2);
  EXPECT_EQ(n.get_int("missing", 7), 7);
  EXPECT_EQ(n.get_float("alpha", 0), 0.5);
  EXPECT_EQ(n.get_float("group", 0), 2.0);  // an int literal reads as a float
  EXPECT_EQ(n.get_string("mode", ""), "constant");
  EXPECT_EQ(n.get_ints("pads"), (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(n.get_floats("scales"), (std::vector<double>{2.0}));
  EXPECT_EQ(values_of(n.get_tensor("value")), (std::vector<float>{3}));
  EXPECT_EQ(n.input(0), "x");
  EXPECT_EQ(n.input(1), "");
  EXPECT_EQ(n.input(9), "");
  EXPECT_TRUE(n.has_input(2));
  EXPECT_FALSE(n.has_input(1));
  expect_error([&] { n.get_int("alpha", 0); }, ErrorCode::invalid_argument, {"conv1", "alpha", "int", "float"});
  expect_error([&] { n.get_ints("mode"); }, ErrorCode::invalid_argument, {"conv1", "mode", "ints"});
  expect_error([&] { n.get_string("pads", ""); }, ErrorCode::invalid_argument, {"pads", "string"});
  expect_error([&] { n.get_tensor("nope"); }, ErrorCode::not_found, {"conv1", "nope"});
}

TEST(GraphFinalize, InfersValuesAndFillsOutputs) {
  Graph g = add_relu_graph();
  g.finalize();
  EXPECT_EQ(g.outputs[0].element_type, ElementType::f32);
  EXPECT_EQ(g.outputs[0].shape, PartialShape(Shape{2, 3}));
  EXPECT_EQ(g.value_info("X").shape, PartialShape(Shape{2, 3}));
  EXPECT_EQ(g.value_info("B").shape, PartialShape(Shape{3}));
  EXPECT_EQ(g.value_info("S").element_type, ElementType::f32);
  EXPECT_TRUE(g.is_constant("B"));
  expect_error([&] { g.value_info("nothing"); }, ErrorCode::not_found, {"nothing"});
}

TEST(GraphFinalize, InventsUniqueNodeNames) {
  Graph g = add_relu_graph();
  g.nodes[0].name = "";
  g.nodes[1].name = "";
  g.finalize();
  EXPECT_FALSE(g.nodes[0].name.empty());
  EXPECT_FALSE(g.nodes[1].name.empty());
  EXPECT_NE(g.nodes[0].name, g.nodes[1].name);
  Graph d = add_relu_graph();
  d.nodes[1].name = "add";
  d.finalize();
  EXPECT_NE(d.nodes[0].name, d.nodes[1].name);
}

TEST(GraphFinalize, MissingInitializerNamesNodeAndValue) {
  Graph g = add_relu_graph();
  g.initializers.clear();
  expect_error([&] { g.finalize(); }, ErrorCode::invalid_argument, {"add", "'B'", "missing initializer"});
}

TEST(GraphFinalize, ValueDefinedTwiceIsRejected) {
  Graph g = add_relu_graph();
  g.nodes[1].outputs = {"S"};
  g.outputs[0].name = "S";
  expect_error([&] { g.finalize(); }, ErrorCode::invalid_argument, {"'S'", "more than once"});
}

TEST(GraphFinalize, CycleIsRejected) {
  Graph g;
  g.inputs = {port("X", Shape{2})};
  g.nodes = {Node{"a", "Add", {"X", "b_out"}, {"a_out"}, {}}, Node{"b", "Relu", {"a_out"}, {"b_out"}, {}}};
  g.outputs = {port("a_out", Shape{2})};
  expect_error([&] { g.finalize(); }, ErrorCode::invalid_argument, {"cycle", "'a'", "'b'"});
}

TEST(GraphFinalize, SortsNodesTopologically) {
  Graph g = add_relu_graph();
  std::swap(g.nodes[0], g.nodes[1]);
  g.finalize();
  EXPECT_EQ(g.nodes[0].name, "add");
  EXPECT_EQ(g.nodes[1].name, "relu");
}

TEST(GraphFinalize, FoldsConstantNodes) {
  Graph g = add_relu_graph();
  g.initializers.clear();
  g.nodes.insert(g.nodes.begin() + 1, Node{"c", "Constant", {}, {"B"}, {{"value_floats", std::vector<double>{1, -1, 0.5}}}});
  g.nodes.push_back(Node{"ci", "Constant", {}, {"I"}, {{"value_int", std::int64_t(4)}}});
  g.nodes.push_back(Node{"cis", "Constant", {}, {"IS"}, {{"value_ints", std::vector<std::int64_t>{1, 2}}}});
  g.nodes.push_back(Node{"cf", "Constant", {}, {"F"}, {{"value_float", 2.5}}});
  g.nodes.push_back(Node{"ct", "Constant", {}, {"T"}, {{"value", f32({2}, {7, 8})}}});
  g.outputs.push_back(port("T", PartialShape::dynamic_rank()));
  g.finalize();
  ASSERT_EQ(g.nodes.size(), 2u);
  for (const auto& n : g.nodes) EXPECT_NE(n.op_type, "Constant");
  EXPECT_EQ(values_of(g.initializers.at("B")), (std::vector<float>{1, -1, 0.5f}));
  EXPECT_EQ(*g.initializers.at("I").data<std::int64_t>(), 4);
  EXPECT_EQ(g.initializers.at("I").shape(), Shape{});
  EXPECT_EQ(g.initializers.at("IS").shape(), Shape{2});
  EXPECT_EQ(*g.initializers.at("F").data<float>(), 2.5f);
  EXPECT_EQ(values_of(g.initializers.at("T")), (std::vector<float>{7, 8}));
  EXPECT_EQ(g.outputs[1].shape, PartialShape(Shape{2}));
  Graph bad = add_relu_graph();
  bad.initializers.clear();
  bad.nodes.push_back(Node{"cs", "Constant", {}, {"B"}, {{"value_string", std::string("x")}}});
  expect_error([&] { bad.finalize(); }, ErrorCode::unsupported, {"cs", "value_floats"});
}

TEST(GraphFinalize, OutputShapeMismatchNamesTheOutput) {
  Graph g = add_relu_graph();
  g.outputs = {port("Y", Shape{2, 4})};
  expect_error([&] { g.finalize(); }, ErrorCode::invalid_argument, {"shape mismatch", "'Y'", "[2,4]", "[2,3]"});
  Graph r = add_relu_graph();
  r.outputs = {port("Y", Shape{6})};
  expect_error([&] { r.finalize(); }, ErrorCode::invalid_argument, {"shape mismatch", "'Y'"});
  Graph t = add_relu_graph();
  t.outputs = {port("Y", Shape{2, 3}, ElementType::i64)};
  expect_error([&] { t.finalize(); }, ErrorCode::invalid_argument, {"type mismatch", "'Y'"});
}

TEST(GraphFinalize, DeclaredOutputFillsDynamicInference) {
  Graph g = add_relu_graph();
  g.inputs = {port("X", PartialShape({Dimension::dynamic("batch"), Dimension(3)}))};
  g.outputs = {port("Y", PartialShape({Dimension(5), Dimension::dynamic()}))};
  g.finalize();
  EXPECT_EQ(g.outputs[0].shape, PartialShape(Shape{5, 3}));
}

TEST(GraphFinalize, UnsupportedOpNamesOpNodeAndOpset) {
  Graph g = add_relu_graph();
  g.opset = 16;
  g.nodes[1].op_type = "NoSuchOp";
  expect_error([&] { g.finalize(); }, ErrorCode::unsupported, {"NoSuchOp", "relu", "opset 16"});
}

TEST(GraphFlops, ElementwiseCountsOutputElements) {
  Graph g = add_relu_graph();
  g.finalize();
  EXPECT_DOUBLE_EQ(g.flops(), 12.0);  // Add 6 + Relu 6
  Graph d = add_relu_graph();
  d.inputs = {port("X", PartialShape({Dimension::dynamic(), Dimension(3)}))};
  d.finalize();
  EXPECT_DOUBLE_EQ(d.flops(), 0.0);
}

TEST(GraphFlops, ConvGemmMatMul) {
  Graph g;
  g.inputs = {port("X", Shape{1, 4, 8, 8}), port("A", Shape{2, 5}), port("M", Shape{2, 4, 5})};
  g.initializers = {{"W", Tensor(ElementType::f32, {6, 2, 3, 3})},
                    {"Bg", Tensor(ElementType::f32, {5, 3})},
                    {"Bm", Tensor(ElementType::f32, {5, 3})}};
  g.nodes = {Node{"conv", "Conv", {"X", "W"}, {"Y"},
                  {{"group", std::int64_t(2)}, {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}},
             Node{"gemm", "Gemm", {"A", "Bg"}, {"G"}, {}},
             Node{"mm", "MatMul", {"M", "Bm"}, {"P"}, {}}};
  g.outputs = {port("Y", PartialShape::dynamic_rank()), port("G", PartialShape::dynamic_rank()),
               port("P", PartialShape::dynamic_rank())};
  g.finalize();
  ASSERT_EQ(g.outputs[0].shape, PartialShape(Shape{1, 6, 8, 8}));
  const double conv = 2.0 * 1 * 6 * 8 * 8 * (4 / 2) * 3 * 3;
  const double gemm = 2.0 * 2 * 3 * 5;
  const double matmul = 2.0 * 2 * 4 * 3 * 5;
  EXPECT_DOUBLE_EQ(g.flops(), conv + gemm + matmul);
}

TEST(GraphModel, AccessorsSaveAndEmptyErrors) {
  Model empty;
  EXPECT_TRUE(empty.empty());
  expect_error([&] { empty.name(); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { empty.inputs(); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { empty.flops(); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { Model(nullptr); }, ErrorCode::invalid_argument, {"null"});

  auto g = std::make_shared<Graph>(add_relu_graph());
  g->name = "tiny";
  g->finalize();
  Model m(g);
  EXPECT_EQ(m.name(), "tiny");
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.outputs()[0].name, "Y");
  EXPECT_DOUBLE_EQ(m.flops(), 12.0);
  EXPECT_EQ(&m.graph(), g.get());
  const auto file = std::filesystem::temp_directory_path() / ("autosched_model_" + std::to_string(::getpid()) + ".onnx");
  m.save(file.string());
  auto back = onnx_io::read_model(file.string());
  std::filesystem::remove(file);
  EXPECT_EQ(back->name, "tiny");
  EXPECT_EQ(back->nodes.size(), 2u);
}

// Y = Relu(X @ W + B) and two extra outputs: the input itself and an initializer.
std::shared_ptr<const Graph> mlp_graph() {
  auto g = std::make_shared<Graph>();
  g->inputs = {port("X", Shape{2, 3})};
  g->initializers = {{"W", f32({3, 2}, {1, 0, 0, 1, 1, -1})}, {"B", f32({2}, {0.5f, -10})}};
  g->nodes = {Node{"mm", "MatMul", {"X", "W"}, {"M"}, {}}, Node{"add", "Add", {"M", "B"}, {"S"}, {}},
              Node{"relu", "Relu", {"S"}, {"Y"}, {}}};
  g->outputs = {port("Y", PartialShape::dynamic_rank()), port("X", PartialShape::dynamic_rank()),
                port("B", PartialShape::dynamic_rank())};
  g->finalize();
  return g;
}

TEST(GraphExecutor, RunsTinyGraph) {
  auto g = mlp_graph();
  reference::GraphExecutor ex(g);
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> outputs;
  ex.run({x}, outputs);
  ASSERT_EQ(outputs.size(), 3u);
  // X@W = [[1+3, 2-3], [4+6, 5-6]] = [[4,-1],[10,-1]]; +B = [[4.5,-11],[10.5,-11]]; relu.
  EXPECT_EQ(values_of(outputs[0]), (std::vector<float>{4.5f, 0, 10.5f, 0}));
  EXPECT_EQ(outputs[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of(outputs[1]), values_of(x));
  EXPECT_FALSE(outputs[1].same_memory(x));  // never aliases the caller's input
  EXPECT_EQ(values_of(outputs[2]), (std::vector<float>{0.5f, -10}));
  EXPECT_FALSE(outputs[2].same_memory(g->initializers.at("B")));  // nor the graph's constants

  // Preallocated outputs are filled in place (and reshaped if needed).
  std::vector<float> buffer(4, -1.f);
  std::vector<Tensor> in_place = {Tensor(ElementType::f32, {4}, buffer.data()), Tensor(), Tensor()};
  ex.run({x}, in_place);
  EXPECT_EQ(in_place[0].data(), buffer.data());
  EXPECT_EQ(in_place[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(buffer, (std::vector<float>{4.5f, 0, 10.5f, 0}));
}

TEST(GraphExecutor, RejectsBadInputsAndHonoursCancel) {
  reference::GraphExecutor ex(mlp_graph());
  std::vector<Tensor> outputs;
  expect_error([&] { ex.run({}, outputs); }, ErrorCode::invalid_argument, {"1 inputs"});
  expect_error([&] { ex.run({Tensor(ElementType::f32, {3, 3})}, outputs); }, ErrorCode::invalid_argument,
               {"'X'", "[3,3]"});
  expect_error([&] { ex.run({Tensor(ElementType::i64, {2, 3})}, outputs); }, ErrorCode::invalid_argument,
               {"'X'", "i64"});
  std::atomic<bool> cancel{true};
  expect_error([&] { ex.run({Tensor(ElementType::f32, {2, 3})}, outputs, &cancel); }, ErrorCode::cancelled, {});
}

// A test-only op whose kernels throw plain std exceptions, as a buggy kernel might.
AUTOSCHED_REGISTER_OP(reference::OpDefinition{
    "AutoschedTestStdThrow",
    [](const Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      if (node.get_int("fail_infer", 0)) (void)std::vector<int>().at(1);
      return std::vector<ir::ValueInfo>{in.at(0)};
    },
    [](const Node&, const std::vector<Tensor>&) -> std::vector<Tensor> {
      throw std::runtime_error("kernel exploded");
    }});

TEST(GraphFinalize, NonErrorExceptionsBecomeErrorsNamingTheNode) {
  Graph g;
  g.inputs = {port("X", Shape{2})};
  g.nodes = {Node{"boom", "AutoschedTestStdThrow", {"X"}, {"Y"}, {{"fail_infer", std::int64_t(1)}}}};
  g.outputs = {port("Y", PartialShape::dynamic_rank())};
  expect_error([&] { g.finalize(); }, ErrorCode::invalid_argument, {"boom", "shape inference failed"});
  g.nodes[0].attributes.clear();
  g.finalize();
  reference::GraphExecutor ex(std::make_shared<Graph>(g));
  std::vector<Tensor> outputs;
  expect_error([&] { ex.run({Tensor(ElementType::f32, {2})}, outputs); }, ErrorCode::internal,
               {"boom", "kernel exploded"});
}

}  // namespace
}  // namespace autosched
