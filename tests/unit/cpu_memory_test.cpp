// The CPU device's memory: the weights it holds after compile and the
// activation arena of each request (weights_bytes, activation_bytes_per_request,
// naive_activation_bytes_per_request, scratchpad_bytes_per_request), the
// source weights released after compiling a static model (the application's
// Model then owns the only copy), and other devices keeping their not_found
// error for these names. Sizes only: no timing.
#include <gtest/gtest.h>

#include <random>

#include "autosched/autosched.hpp"
#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "tests/unit/cpu_test_support.hpp"

namespace autosched {
namespace {

using test::core;
using test::expect_close;
using test::Ints;
using test::random_tensor;

// TestGraph with one input "x", smaller weights and a Conv 3x3 + Relu shorthand.
class Net : public test::TestGraph {
 public:
  explicit Net(PartialShape input) { TestGraph::input("x", std::move(input)); }
  std::string weight(const std::string& name, const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    return TestGraph::weight(name, shape, lo, hi);
  }
  std::string conv_relu(const std::string& x, std::int64_t in, std::int64_t out) {
    const auto k = std::to_string(layers_++);
    auto c = node("Conv", {x, weight("w" + k, {out, in, 3, 3}), weight("b" + k, {out})}, {{"pads", Ints{1, 1, 1, 1}}});
    return node("Relu", {c});
  }
  Model finish(const std::string& output) { return TestGraph::finish({output}); }

 private:
  int layers_ = 0;
};

// Five convolutions and a Gemm over [n, 4, 16, 16]: every layer's output is a
// buffer of its own in a naive plan, while liveness lets the arena reuse them.
Model conv_net(PartialShape input = PartialShape(Shape{1, 4, 16, 16})) {
  Net net(std::move(input));
  auto y = net.conv_relu("x", 4, 16);
  for (int i = 0; i < 4; ++i) y = net.conv_relu(y, 16, 16);
  y = net.node("Flatten", {net.node("GlobalAveragePool", {y})});
  // transB = 0 and alpha: the weights are packed from the transposed view, scaled on the way.
  return net.finish(net.node("Gemm", {y, net.weight("fc_w", {16, 10}), net.weight("fc_b", {10})}, {{"alpha", 0.5}}));
}

std::size_t initializer_bytes(const Model& model) {
  std::size_t bytes = 0;
  for (const auto& [name, tensor] : model.graph().initializers) bytes += tensor.byte_size();
  return bytes;
}

std::int64_t bytes_property(const CompiledModel& compiled, const ReadOnlyProperty<std::int64_t>& key) {
  return compiled.get_property(key);
}

Tensor run_once(CompiledModel& compiled, const Tensor& input) {
  auto request = compiled.create_infer_request();
  request.set_input_tensor(0, input);
  request.infer();
  return request.get_output_tensor(0).clone();
}

TEST(CpuMemory, ReportsWeightsAndAnArenaBelowTheNaiveActivationSum) {
  const Model model = conv_net();
  auto compiled = core().compile_model(model, "CPU", {{"performance_mode", "THROUGHPUT"}});
  const auto supported = compiled.get_property(supported_properties);
  for (const char* name : {"weights_bytes", "activation_bytes_per_request", "naive_activation_bytes_per_request",
                           "scratchpad_bytes_per_request"})
    EXPECT_NE(std::find(supported.begin(), supported.end(), name), supported.end()) << name;

  const std::int64_t weights = bytes_property(compiled, weights_bytes);
  const std::int64_t arena = bytes_property(compiled, activation_bytes_per_request);
  const std::int64_t naive = bytes_property(compiled, naive_activation_bytes_per_request);
  EXPECT_GT(weights, 0);
  // Every initializer is a weight or bias some kernel reads, in a layout at least as large.
  EXPECT_GE(std::size_t(weights), initializer_bytes(model));
  EXPECT_GT(arena, 0);
  EXPECT_LT(arena, naive) << "six layers' outputs should share arena space";
  EXPECT_GE(bytes_property(compiled, scratchpad_bytes_per_request), 0);
  // One layer's output [1,16,16,16] f32 must fit; the same figure as the older CPU-specific name.
  EXPECT_GE(arena, 16 * 16 * 16 * 4);
  EXPECT_EQ(compiled.get_property("cpu_arena_bytes"), std::to_string(arena));
}

TEST(CpuMemory, StaticModelDropsTheSourceWeightsAndStillMatchesRef) {
  Model model = [] {  // (the builder holds the graph too: it goes out of scope here)
    // A folded BatchNormalization and a grouped convolution: their weights are scaled while packed.
    Net net(PartialShape(Shape{1, 8, 12, 12}));
    auto c = net.node("Conv", {"x", net.weight("w", {8, 2, 3, 3})},
                      {{"group", std::int64_t(4)}, {"pads", Ints{1, 1, 1, 1}}});
    auto bn = net.node("BatchNormalization", {c, net.weight("gamma", {8}, 0.5f, 1.5f), net.weight("beta", {8}),
                                              net.weight("mean", {8}), net.weight("var", {8}, 0.5f, 2.f)});
    return net.finish(net.conv_relu(net.node("Relu", {bn}), 8, 8));
  }();
  const Tensor input = random_tensor({1, 8, 12, 12}, 11);
  // REF runs a graph object of its own (same weight tensors): only the CPU's references count below.
  auto ref = core().compile_model(Model(std::make_shared<ir::Graph>(model.graph())), "REF");
  const Tensor expected = run_once(ref, input);
  auto compiled = core().compile_model(model, "CPU");
  const std::weak_ptr<const ir::Graph> source = model.graph_ptr();
  model = Model();
  EXPECT_TRUE(source.expired()) << "the compiled model still holds the source graph and its weights";
  expect_close(expected, run_once(compiled, input), 1e-4, 1e-4, "after the source model was released");
  EXPECT_GT(bytes_property(compiled, weights_bytes), 0);
}

TEST(CpuMemory, DynamicModelKeepsTheSourceWeightsForShapesSeenLater) {
  const Model model = conv_net(PartialShape({Dimension::dynamic(), Dimension(4), Dimension(16), Dimension(16)}));
  auto compiled = core().compile_model(model, "CPU");
  // No program yet: what it holds is the source weights, for building one per shape.
  EXPECT_GE(std::size_t(bytes_property(compiled, weights_bytes)), initializer_bytes(model));
  auto ref = core().compile_model(model, "REF");
  for (std::int64_t batch : {1, 3}) {
    const Tensor input = random_tensor({batch, 4, 16, 16}, std::uint32_t(batch));
    expect_close(run_once(ref, input), run_once(compiled, input), 1e-4, 1e-4, "batch " + std::to_string(batch));
  }
  EXPECT_GT(bytes_property(compiled, activation_bytes_per_request), 0);
}

// A static model's programs are sealed after compile: a caller whose OpenMP team differs from the
// streams' (here the test thread, through the device SDK) is served by the built program, not a rebuild.
TEST(CpuMemory, SealedProgramsServeOtherCallersWithoutRebuilding) {
  std::shared_ptr<plugin::IDevice> cpu;
  for (const auto& entry : plugin::device_providers())
    if (entry.family == "CPU")
      for (auto& device : entry.provider(plugin::DeviceContext{})) cpu = device;
  ASSERT_TRUE(cpu);
  const Model model = conv_net();
  const Tensor input = random_tensor({1, 4, 16, 16}, 5);
  auto ref = core().compile_model(model, "REF");
  const Tensor expected = run_once(ref, input);
  auto compiled = cpu->compile(model, {{"num_streams", "2"}, {"inference_num_threads", "2"}});  // 2 x 1 thread
  auto request = compiled->create_sync_request();
  std::vector<Tensor> outputs;
  request->infer({input}, outputs);
  ASSERT_EQ(outputs.size(), 1u);
  expect_close(expected, outputs[0], 1e-4, 1e-4, "direct sync request");
  EXPECT_EQ(compiled->get_property("cpu_program_cache"), "size=1 builds=1 capacity=8");
}

TEST(CpuMemory, OtherDevicesAnswerTheseNamesWithTheirNotFoundError) {
  const Model model = conv_net();
  for (const char* device : {"REF", "AUTO:CPU"}) {
    auto compiled = core().compile_model(model, device);
    try {
      (void)compiled.get_property(weights_bytes);
      ADD_FAILURE() << device << " answered weights_bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::not_found) << device;
      const std::string message = e.what();
      EXPECT_NE(message.find("'weights_bytes'"), std::string::npos) << message;
      EXPECT_NE(message.find("supported:"), std::string::npos) << message;
    }
  }
  // Read-only: setting one is the clear invalid_argument of validate_properties.
  EXPECT_THROW(validate_properties({{"weights_bytes", "1"}}), Error);
}

}  // namespace
}  // namespace autosched
