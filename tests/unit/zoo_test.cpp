// The builtin model zoo: every builtin builds, has the documented ports,
// is deterministic, has the named size, and runs on the reference kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "model/onnx_io.hpp"
#include "model/reference/graph_executor.hpp"
#include "model/zoo/builtin_models.hpp"
#include "model/zoo/normal_generator.hpp"

namespace autosched {
namespace {

struct BuiltinSpec {
  std::string name;
  Shape input_shape;
  Shape output_shape;
  double macs;  // multiply-adds of Conv/Gemm/MatMul, as named in the docs
};
void PrintTo(const BuiltinSpec& spec, std::ostream* os) { *os << spec.name; }

const std::vector<BuiltinSpec>& specs() {
  static const std::vector<BuiltinSpec> all{
      {"mlp", {1, 784}, {1, 10}, 784.0 * 1024 + 1024.0 * 1024 + 1024.0 * 10},
      {"resnet50", {1, 3, 224, 224}, {1, 1000}, 4.09e9},
      {"mobilenetv2", {1, 3, 224, 224}, {1, 1000}, 0.30e9},
      {"bert_tiny", {1, 128, 128}, {1, 128, 128}, 58.7e6},
  };
  return all;
}

Shape shape_of(const ir::Graph& g, const std::string& value) { return g.value_info(value).shape.to_shape(); }

// Multiply-adds of the matrix ops, counted from the inferred shapes
// independently of Graph::flops().
double count_macs(const ir::Graph& g) {
  double macs = 0;
  for (const auto& node : g.nodes) {
    if (node.op_type == "Conv") {
      const Shape w = shape_of(g, node.inputs[1]);
      macs += double(shape_size(shape_of(g, node.outputs[0]))) * double(shape_size(w) / w[0]);
    } else if (node.op_type == "Gemm" || node.op_type == "MatMul") {
      macs += double(shape_size(shape_of(g, node.outputs[0]))) * double(shape_of(g, node.inputs[0]).back());
    }
  }
  return macs;
}

Tensor random_input(const Shape& shape, std::uint32_t seed) {
  Tensor t(ElementType::f32, shape);
  zoo::NormalGenerator rng(seed);
  float* p = t.data<float>();
  for (std::size_t i = 0; i < t.size(); ++i) p[i] = float(rng.next());
  return t;
}

// Runs `graph` on one N(0,1) input and checks that every output is finite.
Tensor run_reference(const std::shared_ptr<ir::Graph>& graph) {
  reference::GraphExecutor executor(graph);
  std::vector<Tensor> outputs;
  executor.run({random_input(graph->inputs.at(0).shape.to_shape(), 7)}, outputs);
  EXPECT_EQ(outputs.size(), 1u);
  const Tensor& y = outputs.at(0);
  const float* p = y.data<float>();
  std::size_t non_finite = 0;
  double max_abs = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(p[i])) ++non_finite;
    else max_abs = std::max(max_abs, double(std::fabs(p[i])));
  }
  EXPECT_EQ(non_finite, 0u) << graph->name;
  EXPECT_GT(max_abs, 0.0) << graph->name << ": output is all zeros";
  EXPECT_LT(max_abs, 1e4) << graph->name << ": activations exploded";
  std::printf("[ zoo      ] %-12s reference output max |y| = %.4g\n", graph->name.c_str(), max_abs);
  return y;
}

TEST(NormalGenerator, EngineFollowsTheStandardSequence) {
  std::mt19937 engine;  // [rand.predef]: the 10000th output of the default-seeded mt19937
  engine.discard(9999);
  EXPECT_EQ(engine(), 4123659995u);
}

TEST(NormalGenerator, SamplesAreStandardNormal) {
  zoo::NormalGenerator rng(123);
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.next();
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sum_sq += x * x;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n - mean * mean, 1.0, 0.01);
}

TEST(NormalGenerator, SameSeedSameSequence) {
  zoo::NormalGenerator a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const double x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Zoo, ListsTheFourBuiltins) {
  EXPECT_EQ(zoo::builtin_names(), (std::vector<std::string>{"mlp", "resnet50", "mobilenetv2", "bert_tiny"}));
}

TEST(Zoo, UnknownNameIsNotFoundAndListsTheValidNames) {
  try {
    zoo::build("resnet51");
    FAIL() << "expected Error(not_found)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    const std::string message = e.what();
    EXPECT_NE(message.find("resnet51"), std::string::npos) << message;
    for (const auto& name : zoo::builtin_names()) EXPECT_NE(message.find(name), std::string::npos) << message;
  }
}

TEST(Zoo, AcceptsTheBuiltinPrefix) {
  const auto graph = zoo::build("builtin:mlp");
  EXPECT_EQ(graph->name, "mlp");
}

class ZooModel : public ::testing::TestWithParam<BuiltinSpec> {};

TEST_P(ZooModel, HasTheDocumentedPortsAndShapes) {
  const BuiltinSpec& spec = GetParam();
  const auto graph = zoo::build(spec.name);
  ASSERT_EQ(graph->inputs.size(), 1u);
  EXPECT_EQ(graph->inputs[0].name, "input");
  EXPECT_EQ(graph->inputs[0].element_type, ElementType::f32);
  EXPECT_EQ(graph->inputs[0].shape, PartialShape(spec.input_shape));
  ASSERT_EQ(graph->outputs.size(), 1u);
  EXPECT_EQ(graph->outputs[0].name, "output");
  EXPECT_EQ(graph->outputs[0].element_type, ElementType::f32);
  EXPECT_EQ(graph->outputs[0].shape, PartialShape(spec.output_shape));
  EXPECT_EQ(graph->opset, 17);
}

TEST_P(ZooModel, BuildsIdenticallyTwice) {
  const BuiltinSpec& spec = GetParam();
  const auto a = zoo::build(spec.name);
  const auto b = zoo::build(spec.name);
  ASSERT_EQ(a->nodes.size(), b->nodes.size());
  for (std::size_t i = 0; i < a->nodes.size(); ++i) {
    EXPECT_EQ(a->nodes[i].name, b->nodes[i].name);
    EXPECT_EQ(a->nodes[i].op_type, b->nodes[i].op_type);
    EXPECT_EQ(a->nodes[i].inputs, b->nodes[i].inputs);
  }
  ASSERT_EQ(a->initializers.size(), b->initializers.size());
  for (const auto& [name, tensor] : a->initializers) {
    ASSERT_EQ(b->initializers.count(name), 1u) << name;
    const Tensor& other = b->initializers.at(name);
    ASSERT_EQ(tensor.element_type(), other.element_type()) << name;
    ASSERT_EQ(tensor.shape(), other.shape()) << name;
    EXPECT_EQ(std::memcmp(tensor.data(), other.data(), tensor.byte_size()), 0) << name;
  }
}

// Pinned weights: a change here changes every builtin model (and every saved
// benchmark result on it), so it must be deliberate. EXPECT_FLOAT_EQ's 4-ulp
// slack absorbs libm differences in log/sin/cos.
TEST(Zoo, WeightsArePinned) {
  const auto mlp = zoo::build("mlp");
  const float* w = mlp->initializers.at("fc1.weight").data<float>();
  EXPECT_FLOAT_EQ(w[0], 0.0155801997f);
  EXPECT_FLOAT_EQ(w[1], -0.040273983f);
  EXPECT_FLOAT_EQ(w[2], 0.0627594143f);
  EXPECT_FLOAT_EQ(w[3], -0.013475257f);
  const auto bert = zoo::build("bert_tiny");
  const float* q = bert->initializers.at("layer0.attention.query.weight").data<float>();
  EXPECT_FLOAT_EQ(q[0], 0.0250137262f);
  EXPECT_FLOAT_EQ(q[1], -0.0288111512f);
  EXPECT_FLOAT_EQ(q[2], -0.0669463649f);
  EXPECT_FLOAT_EQ(q[3], -0.0933023393f);
}

TEST_P(ZooModel, HasTheNamedSize) {
  const BuiltinSpec& spec = GetParam();
  const auto graph = zoo::build(spec.name);
  const double macs = count_macs(*graph);
  EXPECT_NEAR(macs, spec.macs, 0.05 * spec.macs) << spec.name;
  // Graph::flops counts matrix ops at 2 per MAC plus a little for element-wise ops.
  const double flops = graph->flops();
  EXPECT_GE(flops, 2.0 * macs * 0.999) << spec.name;
  EXPECT_LE(flops, 2.0 * macs * 1.10) << spec.name;
  std::printf("[ zoo      ] %-12s %8.4f GMAC  Graph::flops %8.4f GFLOP  %zu nodes  %zu initializers\n",
              spec.name.c_str(), macs / 1e9, flops / 1e9, graph->nodes.size(), graph->initializers.size());
}

INSTANTIATE_TEST_SUITE_P(Builtins, ZooModel, ::testing::ValuesIn(specs()),
                         [](const auto& info) { return info.param.name; });

// The builtins are plain ONNX: writing one out and reading it back gives
// the same nodes and the same initializer bytes. (resnet50 is left out only
// because its 100 MB of weights make the round trip slow.)
TEST(ZooOnnx, RoundTripsThroughOnnx) {
  for (const std::string name : {"mlp", "mobilenetv2", "bert_tiny"}) {
    SCOPED_TRACE(name);
    const auto graph = zoo::build(name);
    const auto path = std::filesystem::temp_directory_path() /
                      ("autosched_zoo_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                       ".onnx");
    onnx_io::write_model(*graph, path.string());
    const auto back = onnx_io::read_model(path.string());
    std::filesystem::remove(path);
    ASSERT_EQ(back->nodes.size(), graph->nodes.size());
    for (std::size_t i = 0; i < graph->nodes.size(); ++i) {
      EXPECT_EQ(back->nodes[i].op_type, graph->nodes[i].op_type);
      EXPECT_EQ(back->nodes[i].inputs, graph->nodes[i].inputs);
    }
    ASSERT_EQ(back->initializers.size(), graph->initializers.size());
    for (const auto& [init_name, tensor] : graph->initializers) {
      ASSERT_EQ(back->initializers.count(init_name), 1u) << init_name;
      const Tensor& other = back->initializers.at(init_name);
      ASSERT_EQ(other.shape(), tensor.shape()) << init_name;
      EXPECT_EQ(std::memcmp(other.data(), tensor.data(), tensor.byte_size()), 0) << init_name;
    }
    EXPECT_EQ(back->outputs.at(0).shape, graph->outputs.at(0).shape);
  }
}

TEST(ZooReference, MlpGivesProbabilities) {
  const Tensor y = run_reference(zoo::build("mlp"));
  const float* p = y.data<float>();
  double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    EXPECT_GE(p[i], 0.0f);
    sum += p[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(ZooReference, BertTinyOutputIsLayerNormalized) {
  const Tensor y = run_reference(zoo::build("bert_tiny"));
  // Every token's hidden vector comes out of a LayerNorm with γ ≈ 1, β ≈ 0.
  const float* p = y.data<float>();
  for (int token = 0; token < 128; token += 37) {
    double sum = 0, sum_sq = 0;
    for (int h = 0; h < 128; ++h) {
      sum += p[token * 128 + h];
      sum_sq += double(p[token * 128 + h]) * p[token * 128 + h];
    }
    EXPECT_NEAR(sum / 128, 0.0, 0.05) << "token " << token;
    EXPECT_NEAR(std::sqrt(sum_sq / 128), 1.0, 0.15) << "token " << token;
  }
}

TEST(ZooReference, MobileNetV2RunsFinite) { run_reference(zoo::build("mobilenetv2")); }

TEST(ZooReference, ResNet50RunsFinite) { run_reference(zoo::build("resnet50")); }

}  // namespace
}  // namespace autosched
