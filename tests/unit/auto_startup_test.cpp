// AUTO startup acceleration and hand-over: the CPU-class helper serves while
// the target compiles, then new requests go to the target and the helper is
// released; no request is lost or run twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using namespace std::chrono_literals;

class AutoStartup : public ::testing::Test {
 protected:
  void SetUp() override { reset_fakes(); }
  void TearDown() override { reset_fakes(); }
};

TEST_F(AutoStartup, FirstRequestsRunOnTheHelperLaterOnesOnTheTarget) {
  fake("gpu").compile_ms = 500;
  // Clearly slower than the target: on a loaded machine a 0 ms fake measures a
  // few ms of thread wake-ups (a 2 ms helper was once measured faster).
  fake("cpu").latency_ms = 20;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    // compile_model returned with the helper ready and the target still compiling.
    EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.cpu"});
    auto request = compiled.create_infer_request();
    request.infer();
    EXPECT_EQ(observer->finished_devices().front(), "FAKE.cpu");
    // Keep running until the target took over.
    ASSERT_TRUE(eventually([&] {
      request.infer();
      return observer->finished_devices().back() == "FAKE.gpu";
    }));
    // Once both are measured the (faster) target keeps the requests; the helper
    // drains and is released: its compiled model is gone.
    ASSERT_TRUE(eventually([&] {
      request.infer();
      return fake("cpu").live_compiled == 0;
    }));
    EXPECT_TRUE(observer->saw("released FAKE.cpu"));
    EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.gpu"});
    const auto on_gpu_before = fake("gpu").succeeded.load();
    for (int i = 0; i < 10; ++i) request.infer();
    EXPECT_EQ(fake("gpu").succeeded - on_gpu_before, 10);
  });
}

TEST_F(AutoStartup, LatencyHintWithoutStartupFallbackWaitsForTheTarget) {
  fake("gpu").compile_ms = 100;
  Core core;
  auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                     {{"enable_startup_fallback", "false"}});
  EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.gpu"});
  EXPECT_EQ(fake("cpu").compiles, 0);
}

TEST_F(AutoStartup, CacheHitOnTheTargetSkipsTheHelper) {
  fake("gpu").compile_cached = true;
  Core core;
  auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu");
  EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.gpu"});
  EXPECT_EQ(fake("cpu").compiles, 0);
}

TEST_F(AutoStartup, TargetCompileFailureLeavesTheHelperServing) {
  fake("gpu").compile_ms = 50;
  fake("gpu").fail_compile = true;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    ASSERT_TRUE(eventually([&] { return observer->saw("compile_failed FAKE.gpu"); }));
    auto result = drive(compiled, 2, 50, 2);
    EXPECT_EQ(result.ok, 100);
    EXPECT_EQ(result.wrong_output, 0);
    EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.cpu"});
  });
}

TEST_F(AutoStartup, EveryCompileFailingIsOneErrorNamingEachDevice) {
  fake("gpu").fail_compile = true;
  fake("cpu").fail_compile = true;
  Core core;
  try {
    core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::device_failure);
    EXPECT_NE(std::string(e.what()).find("FAKE.gpu: device_failure: FAKE.gpu: injected compile failure"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("FAKE.cpu: device_failure: FAKE.cpu: injected compile failure"), std::string::npos) << e.what();
  }
}

TEST_F(AutoStartup, HandOverUnderFourThreadsLosesAndDuplicatesNothing) {
  fake("gpu").compile_ms = 300;
  fake("gpu").slots = 4;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  constexpr int kThreads = 4, kPerThread = 2000;
  auto_within(300s, [&] {
    auto compiled = core.compile_model(identity_model({4}), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    auto result = drive(compiled, kThreads, kPerThread, 4);
    EXPECT_EQ(result.ok, kThreads * kPerThread);
    EXPECT_EQ(result.failed, 0) << (result.errors.empty() ? "" : result.errors.front());
    EXPECT_EQ(result.wrong_output, 0);
  });
  expect_each_ran_once({"gpu", "cpu"}, kThreads, kPerThread);
  EXPECT_GT(fake("cpu").succeeded, 0);  // the helper ran the first requests
  EXPECT_GT(fake("gpu").succeeded, 0);  // the target the later ones
  EXPECT_EQ(int(observer->finished_devices().size()), kThreads * kPerThread);
}

TEST_F(AutoStartup, SimTargetWithSlowCompileHandsOverFromSimCpu) {
  // A SIM profile whose compile takes 500 ms; SIM.cpu5 (class cpu, slower) is the helper.
  const auto dir = std::filesystem::temp_directory_path() / ("autosched_auto_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto profile = dir / "gpu500.json";
  std::ofstream(profile) << R"({"name": "gpu500", "device_class": "discrete_gpu", "compile": {"fixed_ms": 500},
                              "latency": {"base_ms": 0.2}, "parallel_slots": 2})";
  // The helper: class cpu and slower than the target (THROUGHPUT hands over only to a faster target).
  const auto cpu_profile = dir / "cpu5.json";
  std::ofstream(cpu_profile) << R"({"name": "cpu5", "device_class": "cpu", "compile": {"fixed_ms": 2},
                                  "latency": {"base_ms": 5}, "parallel_slots": 2})";
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core({{"sim_profiles", profile.string() + "," + cpu_profile.string()}});
  auto_within(120s, [&] {
    auto compiled =
        core.compile_model(identity_model(), "AUTO:SIM.gpu500,SIM.cpu5", {{"performance_mode", "THROUGHPUT"}});
    auto result = drive(compiled, 2, 20, 2);
    EXPECT_EQ(result.ok, 40);
    EXPECT_EQ(observer->finished_devices().front(), "SIM.cpu5");
    ASSERT_TRUE(eventually([&] {
      drive(compiled, 1, 4, 2);
      return observer->finished_devices().back() == "SIM.gpu500";
    }));
    ASSERT_TRUE(eventually([&] {
      drive(compiled, 1, 4, 2);
      return observer->saw("released SIM.cpu5");
    }));
    EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"SIM.gpu500"});
  });
  std::filesystem::remove_all(dir);
}

TEST_F(AutoStartup, DestroyingWithRequestsInFlightWaitsForThemAndFreesEverything) {
  fake("gpu").compile_ms = 200;
  fake("gpu").latency_ms = 5;
  fake("cpu").latency_ms = 5;
  std::atomic<int> callbacks{0};
  auto_within(60s, [&] {
    {
      Core core;
      auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                         {{"performance_mode", "THROUGHPUT"}});
      for (int i = 0; i < 16; ++i) {
        auto r = compiled.create_infer_request();
        r.set_callback([&](std::exception_ptr) { ++callbacks; });
        r.start_async();
      }
      // compiled model, requests and core go out of scope with requests in flight.
    }
    ASSERT_TRUE(eventually([&] { return callbacks == 16; }));
    ASSERT_TRUE(eventually([&] { return fake("gpu").live_compiled == 0 && fake("cpu").live_compiled == 0; }));
  });
}

}  // namespace
}  // namespace autosched::testing
