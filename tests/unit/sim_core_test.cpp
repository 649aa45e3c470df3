// SIM devices through the public API: the builtins are registered as SIM.<name>
// with their classes and properties, outputs equal REF's exactly, an async
// request finishes only after its modelled latency, a hanging request is
// cancelled through InferRequest::cancel, and timing_only writes its pattern.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/unit/sim_test_support.hpp"

namespace autosched::sim {
namespace {

using namespace testing;

TEST(SimCore, BuiltinsAreRegisteredWithTheirClasses) {
  Core core;
  const auto devices = core.get_available_devices();
  const std::vector<std::pair<std::string, std::string>> expected = {{"SIM.fast_gpu", "discrete_gpu"},
                                                                     {"SIM.slow_igpu", "integrated_gpu"},
                                                                     {"SIM.npu", "accelerator"},
                                                                     {"SIM.cpu_like", "cpu"}};
  for (const auto& [name, cls] : expected) {
    ASSERT_NE(std::find(devices.begin(), devices.end(), name), devices.end()) << name;
    EXPECT_EQ(core.get_property(name, "device_class"), cls);
    EXPECT_NE(core.get_property(name, device_full_name).find(name.substr(4)), std::string::npos);
  }
  EXPECT_EQ(core.get_property("SIM.fast_gpu", "parallel_slots"), "4");
  EXPECT_EQ(core.get_property("SIM.fast_gpu", "preferred_batch_size"), "8");
  EXPECT_EQ(core.get_property("SIM.npu", device_capabilities), (std::vector<std::string>{"FP32", "FP16", "INT8", "U8"}));
}

TEST(SimCore, OutputsEqualTheReferenceDevice) {
  auto clock = std::make_shared<ManualClock>();
  clock->set_auto_advance(true);  // modelled times pass at once
  ScopedTestClock scoped(clock);
  Core core;
  const Model model = core.read_model("builtin:mlp");
  auto ref = core.compile_model(model, "REF").create_infer_request();
  Tensor x = ref.get_input_tensor();
  for (std::size_t i = 0; i < x.size(); ++i) x.data<float>()[i] = float(int(i % 17) - 8) / 8.0f;
  ref.infer();
  const Tensor expected = ref.get_output_tensor();
  for (const char* name : {"SIM.cpu_like", "SIM.fast_gpu", "SIM.slow_igpu"}) {
    auto compiled = core.compile_model(model, name);
    EXPECT_EQ(compiled.get_property(execution_devices), (std::vector<std::string>{name}));
    auto request = compiled.create_infer_request();
    Tensor input = request.get_input_tensor();
    x.copy_to(input);
    request.infer();
    const Tensor y = request.get_output_tensor();
    ASSERT_EQ(y.shape(), expected.shape()) << name;
    EXPECT_EQ(std::memcmp(y.data(), expected.data(), y.byte_size()), 0) << name << ": not bit-identical to REF";
  }
}

TEST(SimCore, AsyncRequestFinishesOnlyAfterTheModelledLatency) {
  auto clock = std::make_shared<ManualClock>();
  ScopedTestClock scoped(clock);
  Core core;
  const Model model = matmul_model(1);
  clock->set_auto_advance(true);
  auto compiled = core.compile_model(model, "SIM.fast_gpu");
  clock->set_auto_advance(false);
  auto request = compiled.create_infer_request();
  request.start_async();
  ASSERT_TRUE(clock->wait_for_waiters(1));
  const Duration latency = clock->recorded_waits().back();
  EXPECT_GT(latency, Duration(0));
  clock->advance(latency - Duration(1));
  EXPECT_EQ(clock->waiting(), 1u);
  EXPECT_EQ(request.state(), RequestState::running);
  EXPECT_FALSE(request.wait_for(std::chrono::milliseconds(0)));
  clock->advance(Duration(1));
  request.wait();
  EXPECT_EQ(request.state(), RequestState::done);
}

TEST(SimCore, HangingRequestIsCancelledThroughTheInferRequest) {
  const auto dir = std::filesystem::temp_directory_path() / ("autosched_sim_core_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "hangs.json").string();
  std::ofstream(path) << R"({"device_class": "accelerator", "latency": {"base_ms": 1}, "faults": {"hang_inferences": [1]}})";
  auto clock = std::make_shared<ManualClock>();
  ScopedTestClock scoped(clock);
  Core core({sim_profiles({path})});
  std::filesystem::remove_all(dir);
  auto request = core.compile_model(matmul_model(1), "SIM.hangs").create_infer_request();
  request.start_async();
  ASSERT_TRUE(clock->wait_for_waiters(1));
  clock->advance(std::chrono::hours(1));
  EXPECT_EQ(request.state(), RequestState::running);
  request.cancel();
  error_message([&] { request.wait(); }, ErrorCode::cancelled);
  EXPECT_EQ(request.state(), RequestState::cancelled);
  request.start_async();  // inference 2 does not hang
  ASSERT_TRUE(clock->wait_for_waiters(1));
  clock->advance(std::chrono::milliseconds(1));
  EXPECT_NO_THROW(request.wait());
}

TEST(SimCore, TimingOnlyWritesTheDeterministicPattern) {
  auto clock = std::make_shared<ManualClock>();
  clock->set_auto_advance(true);
  auto dev = device(R"("timing_only": true, "latency": {"base_ms": 4})", clock);
  const Model model = matmul_model(2, 200);
  auto request = dev->compile(model, {})->create_sync_request();
  std::vector<Tensor> outputs;
  request->infer(make_inputs(model), outputs);
  EXPECT_EQ(clock->recorded_waits().back(), from_ms(4));
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(outputs[0].shape(), (Shape{2, 200}));
  for (std::size_t i = 0; i < outputs[0].size(); ++i)
    ASSERT_EQ(outputs[0].data<float>()[i], float(i % 256) / 256.0f) << i;

  Tensor ints(ElementType::i64, {300}), flags(ElementType::boolean, {4}), halves(ElementType::f16, {3});
  fill_timing_pattern(ints, 1);
  fill_timing_pattern(flags, 1);
  fill_timing_pattern(halves, 2);
  EXPECT_EQ(ints.data<std::int64_t>()[0], 31);
  EXPECT_EQ(ints.data<std::int64_t>()[200], (200 + 31) % 256 % 128);
  EXPECT_EQ(flags.data<bool>()[0], true);
  EXPECT_EQ(flags.data<bool>()[1], false);
  EXPECT_EQ(float(halves.data<float16>()[1]), float((1 + 62) % 256) / 256.0f);

  // Outputs of dynamic shape cannot be patterned without computing.
  auto g = std::make_shared<ir::Graph>();
  g->inputs.push_back({"x", ElementType::f32, PartialShape({Dimension::dynamic("n"), Dimension(4)})});
  g->outputs.push_back({"y", ElementType::f32, PartialShape::dynamic_rank()});
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  g->nodes = {relu};
  g->finalize();
  const auto m = error_message([&] { dev->compile(Model(g), {}); }, ErrorCode::unsupported);
  EXPECT_NE(m.find("timing_only"), std::string::npos) << m;
}

}  // namespace
}  // namespace autosched::sim
