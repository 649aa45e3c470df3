// AUTO / MULTI runtime fallback: failed inferences re-run elsewhere with the
// same inputs, hung ones are cancelled by the timeout and re-routed, failing
// devices are quarantined and re-admitted after a probe, and only when every
// device failed does a request fail, naming every device's error.
#include <gtest/gtest.h>

#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using namespace std::chrono_literals;

class AutoFallback : public ::testing::Test {
 protected:
  void SetUp() override { reset_fakes(); }
  void TearDown() override { reset_fakes(); }
};

TEST_F(AutoFallback, DeviceFailingEveryTenthRequestLosesAndDuplicatesNothing) {
  fake("gpu").fail_every = 10;
  fake("gpu").slots = 2;
  // The failing device must be the one the throughput policy prefers: with
  // both at 0 ms it may measure the CPU faster (jitter, TSan) and send the GPU
  // fewer than 10 requests, so none fails.
  fake("cpu").latency_ms = 1;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  constexpr int kThreads = 2, kPerThread = 300;
  auto_within(120s, [&] {
    auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu");
    auto result = drive(compiled, kThreads, kPerThread, 3);
    EXPECT_EQ(result.ok, kThreads * kPerThread);
    EXPECT_EQ(result.failed, 0) << (result.errors.empty() ? "" : result.errors.front());
    EXPECT_EQ(result.wrong_output, 0);
    // Re-admission needs the back-off to pass and a probe to succeed, which a
    // short run may not reach: keep serving (zero-filled input, not counted
    // by expect_each_ran_once) until it happens.
    auto request = compiled.create_infer_request();
    EXPECT_TRUE(eventually([&] {
      request.infer();
      return observer->saw("readmitted FAKE.gpu");
    }));
  });
  expect_each_ran_once({"gpu", "cpu"}, kThreads, kPerThread);
  EXPECT_GT(fake("gpu").failed, 0);
  EXPECT_EQ(observer->rerouted, fake("gpu").failed.load());
  EXPECT_TRUE(observer->saw("quarantined FAKE.gpu"));
  EXPECT_TRUE(observer->saw("readmitted FAKE.gpu"));
}

TEST_F(AutoFallback, HangingInferenceIsCancelledByTheTimeoutAndReRouted) {
  fake("gpu").hang_on_call = 3;
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  constexpr int kThreads = 2, kPerThread = 40;
  auto_within(120s, [&] {
    auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu",
                                       {{"inference_timeout_ms", "300"}});
    auto result = drive(compiled, kThreads, kPerThread, 2);
    EXPECT_EQ(result.ok, kThreads * kPerThread);
    EXPECT_EQ(result.failed, 0) << (result.errors.empty() ? "" : result.errors.front());
    EXPECT_EQ(result.wrong_output, 0);
  });
  expect_each_ran_once({"gpu", "cpu"}, kThreads, kPerThread);
  EXPECT_EQ(fake("gpu").cancelled, 1);
  EXPECT_GE(observer->rerouted, 1);
}

TEST_F(AutoFallback, ApplicationCancelReachesTheDeviceAndTheRequestIsReusable) {
  fake("gpu").hang_on_call = 1;
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu", {{"enable_startup_fallback", "false"}});
    auto request = compiled.create_infer_request();
    request.start_async();
    EXPECT_FALSE(request.wait_for(50ms));
    request.cancel();
    try {
      request.wait();
      FAIL() << "a cancelled request completed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::cancelled) << e.what();
    }
    request.infer();  // the next run is not affected by the earlier cancel
  });
  EXPECT_EQ(fake("gpu").cancelled, 1);
}

TEST_F(AutoFallback, WhenEveryDeviceFailsTheErrorListsEachOne) {
  fake("gpu").fail_all = true;
  fake("cpu").fail_all = true;
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu");
    auto request = compiled.create_infer_request();
    try {
      request.infer();
      FAIL() << "no error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.code(), ErrorCode::device_failure);
      EXPECT_NE(msg.find("every device failed"), std::string::npos) << msg;
      EXPECT_NE(msg.find("FAKE.gpu: device_failure: FAKE.gpu: injected failure"), std::string::npos) << msg;
      EXPECT_NE(msg.find("FAKE.cpu: device_failure: FAKE.cpu: injected failure"), std::string::npos) << msg;
    }
    // Devices recover: once they stop failing, requests succeed again (probes re-admit them).
    fake("gpu").fail_all = false;
    fake("cpu").fail_all = false;
    request.infer();
  });
}

TEST_F(AutoFallback, WithoutRuntimeFallbackTheDeviceErrorReachesTheApplication) {
  fake("gpu").fail_every = 1;
  Core core;
  auto compiled = core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu",
                                     {{"enable_runtime_fallback", "false"}});
  auto request = compiled.create_infer_request();
  try {
    request.infer();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::device_failure);
    EXPECT_NE(std::string(e.what()).find("FAKE.gpu: injected failure"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fake("cpu").calls, 0);
}

TEST_F(AutoFallback, TargetFailingAfterTheHelperWasReleasedCompilesAFallbackOnDemand) {
  fake("cpu").latency_ms = 2;  // the target is faster: THROUGHPUT hands over to it
  auto observer = std::make_shared<RecordingObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                       {{"performance_mode", "THROUGHPUT"}});
    auto request = compiled.create_infer_request();
    ASSERT_TRUE(eventually([&] {
      request.infer();
      return compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.gpu"};
    }));
    fake("gpu").fail_all = true;
    request.infer();  // fails on the target, re-runs on a freshly compiled FAKE.cpu
    EXPECT_GE(fake("cpu").compiles, 2);
    EXPECT_TRUE(observer->saw("quarantined FAKE.gpu"));
    // The target recovers: the hand-over drains the helper again, and with
    // nothing in flight on it (the on-demand compile took one slot for its
    // request, not two) it is released again.
    fake("gpu").fail_all = false;
    EXPECT_TRUE(eventually([&] {
      request.infer();
      return compiled.get_property(execution_devices) == std::vector<std::string>{"FAKE.gpu"};
    }));
  });
}

}  // namespace
}  // namespace autosched::testing
