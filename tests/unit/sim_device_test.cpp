// SIM devices on a ManualClock: the latency and compile-time models (base,
// per-GFLOP, batch, slowdown schedule), parallel slots, memory capacity and
// the op / precision filters. Every timing check reads the manual clock's
// waiting room; nothing sleeps and nothing asserts on real time.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/unit/sim_test_support.hpp"
#include "tests/unit/test_device.hpp"

namespace autosched::sim {
namespace {

using namespace testing;

class SimDevice : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
};

// The modelled latency of one inference, observed as the duration of its wait.
Duration observed_latency(ManualClock& clock, plugin::ISyncInferRequest& request, const Model& model) {
  clock.clear_recorded_waits();
  clock.set_auto_advance(true);
  std::vector<Tensor> outputs;
  request.infer(make_inputs(model), outputs);
  clock.set_auto_advance(false);
  const auto waits = clock.recorded_waits();
  EXPECT_EQ(waits.size(), 1u);
  return waits.empty() ? Duration(-1) : waits.back();
}

TEST_F(SimDevice, InferenceTakesBasePlusPerGflopLatency) {
  auto dev = device(R"("latency": {"base_ms": 2, "per_gflop_ms": 100000})", clock);
  const Model model = matmul_model(1, 16);
  const double gflop = model.flops() / 1e9;
  ASSERT_GT(gflop, 0.0);
  const Duration expected = from_ms(2 + 100000 * gflop);
  auto request = dev->compile(model, {})->create_sync_request();
  BackgroundInfer infer(*request, make_inputs(model));
  ASSERT_TRUE(clock->wait_for_waiters(1));
  EXPECT_EQ(clock->recorded_waits().back(), expected);
  clock->advance(expected - Duration(1));
  EXPECT_EQ(clock->waiting(), 1u);  // still blocked one nanosecond before the modelled latency
  EXPECT_FALSE(infer.done());
  clock->advance(Duration(1));
  infer.join();
  EXPECT_EQ(clock->now(), expected);
  ASSERT_EQ(infer.outputs().size(), 1u);
  EXPECT_EQ(infer.outputs()[0].shape(), (Shape{1, 16}));
}

TEST_F(SimDevice, PerGflopTermScalesWithModelSize) {
  auto dev = device(R"("latency": {"base_ms": 1, "per_gflop_ms": 50000})", clock);
  for (std::int64_t n : {8, 32}) {
    const Model model = matmul_model(1, n);
    auto request = dev->compile(model, {})->create_sync_request();
    EXPECT_EQ(observed_latency(*clock, *request, model), from_ms(1 + 50000 * model.flops() / 1e9)) << n;
  }
}

TEST_F(SimDevice, CompileTakesFixedPlusPerGflopTime) {
  auto dev = device(R"("compile": {"fixed_ms": 300, "per_gflop_ms": 1e6})", clock);
  const Model model = matmul_model(2, 16);
  const Duration expected = from_ms(300 + 1e6 * model.flops() / 1e9);
  std::shared_ptr<plugin::ICompiledModel> compiled;
  std::thread compiling([&] { compiled = dev->compile(model, {}); });
  ASSERT_TRUE(clock->wait_for_waiters(1));
  EXPECT_EQ(clock->recorded_waits().back(), expected);
  clock->advance(expected - Duration(1));
  EXPECT_EQ(clock->waiting(), 1u);
  clock->advance(Duration(1));
  compiling.join();
  ASSERT_NE(compiled, nullptr);
  EXPECT_EQ(clock->now(), expected);
}

TEST_F(SimDevice, CompileJitterFollowsTheSeed) {
  const char* fields = R"("seed": 11, "compile": {"fixed_ms": 100, "jitter": {"distribution": "normal", "sigma": 0.2}})";
  clock->set_auto_advance(true);
  auto dev = device(fields, clock);
  const Model model = matmul_model(1);
  for (int i = 0; i < 400; ++i) dev->compile(model, {});
  const auto first = clock->recorded_waits();
  double sum = 0, sq = 0;
  for (auto d : first) {
    sum += to_ms(d);
    sq += to_ms(d) * to_ms(d);
  }
  const double mean = sum / first.size(), sd = std::sqrt(sq / first.size() - mean * mean);
  EXPECT_NEAR(mean, 100.0, 3.0);  // 3 standard errors of the mean (20 / sqrt(400) = 1)
  EXPECT_NEAR(sd, 20.0, 3.0);
  clock->clear_recorded_waits();
  auto again = device(fields, clock);
  for (int i = 0; i < 400; ++i) again->compile(model, {});
  EXPECT_EQ(clock->recorded_waits(), first);  // same seed, same compile times
}

TEST_F(SimDevice, BatchEfficiencyShapesLatencyOfABatch) {
  auto dev = device(R"("latency": {"base_ms": 1, "per_gflop_ms": 100000}, "batch": {"preferred_size": 4, "efficiency": 0.5})",
                    clock);
  EXPECT_EQ(dev->get_property("preferred_batch_size"), "4");
  EXPECT_EQ(dev->get_property("batch_efficiency"), "0.5");
  const double gflop_per_item = matmul_model(1).flops() / 1e9;
  for (std::int64_t b : {1, 2, 4, 8}) {
    const Model model = matmul_model(b);
    EXPECT_NEAR(model.flops() / 1e9, gflop_per_item * double(b), 1e-15);
    auto compiled = dev->compile(model, {});
    EXPECT_EQ(compiled->get_property("preferred_batch_size"), "4");
    EXPECT_EQ(compiled->get_property("batch_efficiency"), "0.5");
    const double work = b <= 4 ? 1 + (b - 1) * 0.5 : (b / 4.0) * 2.5;
    auto request = compiled->create_sync_request();
    EXPECT_EQ(observed_latency(*clock, *request, model), from_ms(1 + 100000 * gflop_per_item * work)) << b;
  }
}

TEST_F(SimDevice, SlowdownScheduleMultipliesLatencyInsideWindows) {
  auto dev = device(R"("latency": {"base_ms": 10}, "slowdowns": [{"start_s": 2, "duration_s": 3, "factor": 4}])",
                    clock);
  const Model model = matmul_model(1);
  auto request = dev->compile(model, {})->create_sync_request();
  const std::vector<std::pair<double, double>> at_seconds_expected_ms = {
      {0.0, 10}, {1.999, 10}, {2.0, 40}, {4.9, 40}, {5.0, 10}, {100, 10}};
  for (const auto& [at, ms] : at_seconds_expected_ms) {
    clock->advance_to(from_ms(at * 1000));
    EXPECT_EQ(observed_latency(*clock, *request, model), from_ms(ms)) << "at " << at << " s";
  }
}

TEST_F(SimDevice, SlowdownTimeCountsFromDeviceCreation) {
  clock->advance(std::chrono::seconds(100));  // the device is created at t = 100 s
  auto dev = device(R"("latency": {"base_ms": 10}, "slowdowns": [{"start_s": 2, "duration_s": 3, "factor": 4}])",
                    clock);
  const Model model = matmul_model(1);
  auto request = dev->compile(model, {})->create_sync_request();
  EXPECT_EQ(observed_latency(*clock, *request, model), from_ms(10));
  clock->advance_to(std::chrono::seconds(103));
  EXPECT_EQ(observed_latency(*clock, *request, model), from_ms(40));
}

TEST_F(SimDevice, ParallelSlotsAreTheCompiledModelsStreams) {
  auto dev = device(R"("parallel_slots": 3)", clock);
  EXPECT_EQ(dev->get_property("parallel_slots"), "3");
  const Model model = matmul_model(1);
  auto compiled = dev->compile(model, {});
  EXPECT_EQ(compiled->num_parallel_requests(), 3u);
  EXPECT_EQ(compiled->get_property("optimal_number_of_infer_requests"), "3");
  EXPECT_EQ(dev->compile(model, {num_streams(2)})->num_parallel_requests(), 2u);
  const auto m = error_message([&] { dev->compile(model, {num_streams(4)}); }, ErrorCode::invalid_argument);
  EXPECT_NE(m.find("1..3"), std::string::npos) << m;
}

TEST_F(SimDevice, SlotsRunInferencesConcurrentlyThroughTheCore) {
  auto manual = std::make_shared<ManualClock>();
  ScopedTestClock scoped(manual);
  Core core;
  manual->set_auto_advance(true);  // let the compile's modelled time pass at once
  auto compiled = core.compile_model(matmul_model(1), "SIM.cpu_like", {});
  manual->set_auto_advance(false);
  ASSERT_EQ(compiled.get_property(optimal_number_of_infer_requests), 2);
  // cpu_like has 2 slots: 2 requests wait together, the 3rd queues behind them.
  std::vector<InferRequest> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(compiled.create_infer_request());
  for (auto& r : requests) r.start_async();
  ASSERT_TRUE(manual->wait_for_waiters(2));
  EXPECT_EQ(manual->waiting(), 2u);
  EXPECT_EQ(requests[2].state(), RequestState::queued);
  auto all_done = [&] {
    for (auto& r : requests)
      if (r.state() != RequestState::done) return false;
    return true;
  };
  for (int steps = 0; !all_done() && steps < 1000; ++steps)
    if (!manual->advance_to_next_deadline()) manual->wait_for_waiters(1, std::chrono::milliseconds(50));
  for (auto& r : requests) EXPECT_NO_THROW(r.wait());
}

TEST_F(SimDevice, OutOfMemoryNamesNeededAndAvailable) {
  // matmul_model(1, 256): 256 KiB of weights; activations 2 KiB per slot.
  auto dev = device(R"("memory_mb": 0.5, "parallel_slots": 2)", clock);
  const Model big = matmul_model(1, 256);
  const auto estimate = estimate_memory(big);
  EXPECT_EQ(estimate.weights_bytes, 256u * 256u * 4u);
  EXPECT_EQ(estimate.activation_bytes, 2u * 256u * 4u);
  auto first = dev->compile(big, {});
  EXPECT_EQ(first->get_property("model_memory_bytes"), std::to_string(estimate.total(2)));
  const auto m = error_message([&] { dev->compile(big, {}); }, ErrorCode::resource_exhausted);
  EXPECT_NE(m.find("out of memory"), std::string::npos) << m;
  EXPECT_NE(m.find("needs 0.3 MiB"), std::string::npos) << m;
  EXPECT_NE(m.find("available 0.2 MiB of 0.5 MiB"), std::string::npos) << m;
  EXPECT_NE(m.find("SIM.t"), std::string::npos) << m;
  first.reset();  // releasing a compiled model frees its memory
  EXPECT_NO_THROW(dev->compile(big, {}));
  auto tiny = device(R"("memory_mb": 0.1)", clock);
  error_message([&] { tiny->compile(big, {}); }, ErrorCode::resource_exhausted);
}

TEST_F(SimDevice, OpsFilterLimitsQueryAndCompile) {
  auto dev = device(R"("supported_ops": ["Relu", "MatMul"])", clock);
  const Model model = autosched::testing::add_relu_model(8);
  EXPECT_EQ(dev->query_model(model), (std::set<std::string>{"relu"}));
  const auto m = error_message([&] { dev->compile(model, {}); }, ErrorCode::unsupported);
  EXPECT_NE(m.find("op 'Add'"), std::string::npos) << m;
  EXPECT_NE(m.find("Relu, MatMul"), std::string::npos) << m;
  EXPECT_NO_THROW(dev->compile(matmul_model(1), {}));
}

TEST_F(SimDevice, PrecisionFilterLimitsQueryCompileAndCapabilities) {
  auto f16_only = device(R"("supported_precisions": ["f16"])", clock);
  EXPECT_EQ(f16_only->capabilities(), (std::vector<std::string>{"FP16"}));
  const Model model = autosched::testing::add_relu_model(8);
  EXPECT_TRUE(f16_only->query_model(model).empty());
  const auto m = error_message([&] { f16_only->compile(model, {}); }, ErrorCode::unsupported);
  EXPECT_NE(m.find("element type f32"), std::string::npos) << m;
  EXPECT_NE(m.find("FP16"), std::string::npos) << m;

  auto f32_f16 = device(R"("supported_precisions": ["f32", "f16"])", clock);
  EXPECT_EQ(f32_f16->query_model(model).size(), 2u);
  EXPECT_EQ(f32_f16->compile(model, {hint::inference_precision(ElementType::f16)})->get_property("inference_precision"),
            "f16");
  const auto m2 = error_message([&] { f32_f16->compile(model, {hint::inference_precision(ElementType::bf16)}); },
                                ErrorCode::unsupported);
  EXPECT_NE(m2.find("bf16"), std::string::npos) << m2;
}

TEST_F(SimDevice, NpuBuiltinRejectsInt64Values) {
  auto npu = make_sim_device(builtin_profiles()[2], clock);
  // A node producing i64 (Shape) is outside the NPU's precisions and op set.
  auto g = std::make_shared<ir::Graph>();
  g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{2, 3})});
  g->outputs.push_back({"s", ElementType::i64, PartialShape::dynamic_rank()});
  g->outputs.push_back({"y", ElementType::f32, PartialShape::dynamic_rank()});
  ir::Node shape, relu;
  shape.name = "shape";
  shape.op_type = "Shape";
  shape.inputs = {"x"};
  shape.outputs = {"s"};
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  ir::Node reshape;  // an op the NPU has, fed a non-constant i64 value it cannot hold
  reshape.name = "reshape";
  reshape.op_type = "Reshape";
  reshape.inputs = {"x", "s"};
  reshape.outputs = {"r"};
  g->outputs.push_back({"r", ElementType::f32, PartialShape::dynamic_rank()});
  g->nodes = {shape, relu, reshape};
  g->finalize();
  EXPECT_EQ(npu->query_model(Model(g)), (std::set<std::string>{"relu"}));
}

TEST_F(SimDevice, DevicePropertiesDescribeTheProfile) {
  auto dev = make_sim_device(parse_profile(R"({"name": "gpu7", "full_name": "Seven", "device_class": "discrete_gpu",
      "memory_mb": 64, "timing_only": true})", "p.json"), clock);
  EXPECT_EQ(dev->name(), "SIM.gpu7");
  EXPECT_EQ(dev->device_class(), plugin::DeviceClass::discrete_gpu);
  EXPECT_EQ(dev->get_property("device_full_name"), "Seven");
  EXPECT_EQ(dev->get_property("device_class"), "discrete_gpu");
  EXPECT_EQ(dev->get_property("memory_mb"), to_property_string(64.0));
  EXPECT_EQ(dev->get_property("timing_only"), "true");
  EXPECT_EQ(dev->get_property("sim_profile"), "p.json");
  auto compiled = dev->compile(matmul_model(1), {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  EXPECT_EQ(compiled->get_property("execution_devices"), "SIM.gpu7");
  EXPECT_EQ(compiled->get_property("performance_mode"), "THROUGHPUT");
  EXPECT_EQ(compiled->get_property("timing_only"), "true");
  error_message([&] { compiled->get_property("nope"); }, ErrorCode::not_found);
  error_message([&] { dev->get_property("nope"); }, ErrorCode::not_found);
}

}  // namespace
}  // namespace autosched::sim
