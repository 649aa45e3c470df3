// AUTO / MULTI hints: LATENCY ends on the measured-fastest device (not the
// static priority), THROUGHPUT hands over to the target only when it is
// measured faster than the CPU helper, CUMULATIVE_THROUGHPUT (MULTI) uses every device at once
// with optimal requests = the sum, request caps hold, and the Chrome trace
// observer records every device's track.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using namespace std::chrono_literals;

class AutoHints : public ::testing::Test {
 protected:
  void SetUp() override { reset_fakes(); }
  void TearDown() override { reset_fakes(); }
};

TEST_F(AutoHints, LatencyEndsOnTheMeasuredFastestEvenWhenItRanksLower) {
  // The GPU ranks first statically but is slower here (like PoCL vs the CPU device).
  fake("gpu").latency_ms = 25;
  fake("cpu").latency_ms = 1;
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu");
    EXPECT_EQ(compiled.get_property(hint::performance_mode), PerformanceMode::LATENCY);
    auto request = compiled.create_infer_request();
    // Until the GPU was measured (beyond its warm-up run) and left out.
    ASSERT_TRUE(eventually([&] {
      request.infer();
      return fake("gpu").succeeded > 1 &&
             compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.cpu"};
    }));
    ASSERT_TRUE(eventually([&] { return fake("gpu").live_compiled == 0; }));
    const int on_cpu = fake("cpu").succeeded;
    for (int i = 0; i < 5; ++i) request.infer();
    EXPECT_EQ(fake("cpu").succeeded - on_cpu, 5);
  });
}

TEST_F(AutoHints, LatencyMovesToTheTargetWhenItIsFasterAndReleasesTheHelper) {
  fake("gpu").compile_ms = 100;
  fake("gpu").latency_ms = 1;
  fake("cpu").latency_ms = 20;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu");
    auto request = compiled.create_infer_request();
    ASSERT_TRUE(eventually([&] {
      request.infer();
      return compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.gpu"};
    }));
    ASSERT_TRUE(eventually([&] { return observer->saw("released FAKE.cpu"); }));
    // Released compiled models are destroyed by the DeviceSet's reaper thread, just after the event.
    EXPECT_TRUE(eventually([&] { return fake("cpu").live_compiled == 0; }));
  });
}

// Serial inferences (input 0 zero-filled: ignored by expect_each_ran_once)
// until `done` holds.
template <class F> bool infer_until(CompiledModel& compiled, F&& done) {
  auto request = compiled.create_infer_request();
  Tensor in = request.get_input_tensor(0);
  std::fill(in.data<float>(), in.data<float>() + in.size(), 0.0f);
  return eventually([&] {
    request.infer();
    return done();
  });
}

TEST_F(AutoHints, ThroughputKeepsTheCpuHelperWhenTheHigherRankedTargetIsSlower) {
  // The GPU ranks first statically but is much slower here (like PoCL vs the CPU device).
  fake("gpu").compile_ms = 100;
  fake("gpu").latency_ms = 25;
  fake("cpu").latency_ms = 1;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    // The target gets measured requests (beyond its warm-up run), then is left out.
    ASSERT_TRUE(infer_until(compiled, [&] {
      return fake("gpu").succeeded > 1 &&
             compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.cpu"};
    }));
    ASSERT_TRUE(eventually([&] { return fake("gpu").live_compiled == 0; }));
    EXPECT_TRUE(observer->saw("released FAKE.gpu"));
    EXPECT_FALSE(observer->saw("draining FAKE.cpu"));
    const int on_gpu = fake("gpu").calls;
    auto result = drive(compiled, 2, 100, 2);
    EXPECT_EQ(result.ok, 200);
    EXPECT_EQ(result.wrong_output, 0);
    EXPECT_EQ(fake("gpu").calls, on_gpu);
    EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.cpu"});
  });
  expect_each_ran_once({"gpu", "cpu"}, 2, 100);
}

TEST_F(AutoHints, ThroughputHandsOverToTheTargetWhenItIsFaster) {
  fake("gpu").compile_ms = 100;
  fake("gpu").latency_ms = 1;
  fake("cpu").latency_ms = 20;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    ASSERT_TRUE(infer_until(compiled, [&] {
      return compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.gpu"};
    }));
    ASSERT_TRUE(eventually([&] { return fake("cpu").live_compiled == 0; }));
    EXPECT_TRUE(observer->saw("released FAKE.cpu"));
    EXPECT_FALSE(observer->saw("draining FAKE.gpu"));
    const int on_cpu = fake("cpu").calls;
    auto result = drive(compiled, 2, 100, 2);
    EXPECT_EQ(result.ok, 200);
    EXPECT_EQ(result.wrong_output, 0);
    EXPECT_EQ(fake("cpu").calls, on_cpu);
  });
  expect_each_ran_once({"gpu", "cpu"}, 2, 100);
}

TEST_F(AutoHints, CumulativeThroughputUsesEveryDeviceAndSumsTheirRequests) {
  fake("gpu").slots = 3;
  fake("cpu").slots = 2;
  fake("gpu").latency_ms = 5;
  fake("cpu").latency_ms = 5;
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu");
    EXPECT_EQ(compiled.get_property(hint::performance_mode), PerformanceMode::CUMULATIVE_THROUGHPUT);
    EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), 5);
    EXPECT_EQ(compiled.get_property(execution_devices), (std::vector<std::string>{"FAKE.gpu", "FAKE.cpu"}));
    auto result = drive(compiled, 2, 100, 5);
    EXPECT_EQ(result.ok, 200);
    EXPECT_EQ(result.wrong_output, 0);
  });
  expect_each_ran_once({"gpu", "cpu"}, 2, 100);
  EXPECT_GT(fake("gpu").succeeded, 0);
  EXPECT_GT(fake("cpu").succeeded, 0);
  EXPECT_LE(fake("gpu").max_running, 3);
  EXPECT_LE(fake("cpu").max_running, 2);
}

TEST_F(AutoHints, AutoWithCumulativeThroughputHintAlsoUsesEveryDevice) {
  fake("gpu").latency_ms = 5;
  fake("cpu").latency_ms = 5;
  Core core;
  auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                     {{"performance_mode", "CUMULATIVE_THROUGHPUT"}});
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), 4);
  auto_within(60s, [&] { EXPECT_EQ(drive(compiled, 2, 50, 4).ok, 100); });
  EXPECT_GT(fake("gpu").succeeded, 0);
  EXPECT_GT(fake("cpu").succeeded, 0);
}

TEST_F(AutoHints, RequestCapsLimitRequestsInFlightPerDevice) {
  fake("gpu").slots = 4;
  fake("cpu").slots = 4;
  fake("gpu").latency_ms = 3;
  fake("cpu").latency_ms = 3;
  Core core;
  auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu(1),FAKE.cpu(2)");
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), 3);
  auto_within(60s, [&] { EXPECT_EQ(drive(compiled, 2, 60, 4).ok, 120); });
  EXPECT_LE(fake("gpu").max_running, 1);
  EXPECT_LE(fake("cpu").max_running, 2);
}

TEST_F(AutoHints, ChromeTraceHasATrackPerDeviceAndASlicePerInference) {
  const auto path = std::filesystem::temp_directory_path() / ("autosched_trace_" + std::to_string(::getpid()) + ".json");
  auto trace = std::make_shared<ChromeTraceObserver>(path.string());
  {
    auto registration = add_observer(trace);
    Core core;
    auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu");
    auto_within(60s, [&] { EXPECT_EQ(drive(compiled, 2, 20, 4).ok, 40); });
  }
  trace->flush();
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  const std::string json = text.str();
  EXPECT_NE(json.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(json.find("\"FAKE.gpu\""), std::string::npos);
  EXPECT_NE(json.find("\"FAKE.cpu\""), std::string::npos);
  EXPECT_NE(json.find("device ready"), std::string::npos);
  std::size_t slices = 0;
  for (auto at = json.find("\"ph\":\"X\""); at != std::string::npos; at = json.find("\"ph\":\"X\"", at + 1)) ++slices;
  EXPECT_EQ(slices, 40u);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace autosched::testing
