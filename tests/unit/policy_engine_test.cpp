// The policy engine inside AUTO / MULTI: policies by hint and by name, a
// policy from a shared library (and the refusal of a wrong API version or a
// library without the entry point), policies registered in-process, the
// decision trace delivered to observers, admission control (slo with
// reject_over_budget) and model_priority across compiled models.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "autosched/policy.hpp"
#include "scheduler/quarantine.hpp"
#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using namespace std::chrono_literals;

class PolicyEngine : public ::testing::Test {
 protected:
  void SetUp() override { reset_fakes(); }
  void TearDown() override { reset_fakes(); }
};

// Records started events in order, with the decision trace.
class StartObserver : public Observer {
 public:
  struct Start {
    std::string model, device, policy, reason;
    double predicted_ms;
  };
  void on_request(const RequestEvent& e) override {
    std::lock_guard lock(mutex_);
    if (e.kind == RequestEventKind::started) starts_.push_back({e.compiled_model, e.device, e.policy, e.reason, e.predicted_latency_ms});
    if (e.kind == RequestEventKind::enqueued) ++enqueued_[e.compiled_model];
  }
  std::vector<Start> starts() {
    std::lock_guard lock(mutex_);
    return starts_;
  }
  int enqueued(const std::string& model) {
    std::lock_guard lock(mutex_);
    return enqueued_[model];
  }

 private:
  std::mutex mutex_;
  std::vector<Start> starts_;
  std::map<std::string, int> enqueued_;
};

std::string error_of(const std::function<void()>& f, ErrorCode* code = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

TEST_F(PolicyEngine, HintsSelectTheirDefaultPolicyAndThePropertyOverrides) {
  Core core;
  auto_within(60s, [&] {
    EXPECT_EQ(core.compile_model(identity_model(), "AUTO:FAKE.cpu").get_property(schedule_policy), "latency");
    EXPECT_EQ(core.compile_model(identity_model(), "AUTO:FAKE.cpu",
                                 {hint::performance_mode(PerformanceMode::THROUGHPUT)})
                  .get_property(schedule_policy),
              "throughput");
    EXPECT_EQ(core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu").get_property(schedule_policy),
              "throughput");
    for (const char* name : {"device_priority", "round_robin", "latency", "throughput", "slo"})
      EXPECT_EQ(core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu", {schedule_policy(name)})
                    .get_property(schedule_policy),
                name);
  });
}

TEST_F(PolicyEngine, AnUnknownPolicyNameIsRefusedBeforeCompilingAndListsTheValidOnes) {
  Core core;
  ErrorCode code{};
  const auto message = error_of(
      [&] { core.compile_model(identity_model(), "AUTO:FAKE.cpu", {schedule_policy("fastest_please")}); }, &code);
  EXPECT_EQ(code, ErrorCode::invalid_argument);
  EXPECT_NE(message.find("fastest_please"), std::string::npos) << message;
  for (const char* name : {"device_priority", "round_robin", "latency", "throughput", "slo"})
    EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_EQ(fake("cpu").compiles, 0);
}

TEST_F(PolicyEngine, APolicyLibraryIsLoadedByPathAndDecidesEveryRequest) {
  auto observer = std::make_shared<StartObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto compiled =
        core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu", {schedule_policy(AUTOSCHED_EXAMPLE_POLICY)});
    EXPECT_EQ(compiled.get_property(schedule_policy), "prefer_last");
    auto request = compiled.create_infer_request();
    for (int i = 0; i < 20; ++i) request.infer();  // one at a time: the last device always has a free slot
    EXPECT_EQ(fake("cpu").succeeded, 20);
    EXPECT_EQ(fake("gpu").succeeded, 0);
    // The decision trace names the policy and its reason.
    const auto starts = observer->starts();
    ASSERT_EQ(starts.size(), 20u);
    for (const auto& s : starts) {
      EXPECT_EQ(s.device, "FAKE.cpu");
      EXPECT_EQ(s.policy, "prefer_last");
      EXPECT_EQ(s.reason, "last free device");
    }
  });
}

TEST_F(PolicyEngine, ALibraryBuiltForAnotherApiVersionIsRefused) {
  Core core;
  ErrorCode code{};
  const auto message = error_of(
      [&] {
        core.compile_model(identity_model(), "AUTO:FAKE.cpu", {schedule_policy(AUTOSCHED_EXAMPLE_POLICY_WRONG_API)});
      },
      &code);
  EXPECT_EQ(code, ErrorCode::invalid_argument);
  EXPECT_NE(message.find("API version " + std::to_string(kPolicyApiVersion + 1)), std::string::npos) << message;
  EXPECT_NE(message.find("rebuild"), std::string::npos) << message;
}

TEST_F(PolicyEngine, ALibraryWithoutTheEntryPointOrAMissingFileIsRefused) {
  // libautosched itself is a loadable library without the entry point.
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&autosched::policy_names), &info), 0);
  ErrorCode code{};
  auto message = error_of([&] { make_policy(info.dli_fname); }, &code);
  EXPECT_EQ(code, ErrorCode::invalid_argument);
  EXPECT_NE(message.find(AUTOSCHED_POLICY_PLUGIN_SYMBOL), std::string::npos) << message;
  message = error_of([&] { make_policy("/nonexistent/libpolicy.so"); }, &code);
  EXPECT_EQ(code, ErrorCode::invalid_argument);
  EXPECT_NE(message.find("cannot be loaded"), std::string::npos) << message;
}

// Always the device named in the constructor, when it has a free slot.
class PinnedPolicy : public Policy {
 public:
  explicit PinnedPolicy(std::string device) : device_(std::move(device)) {}
  std::string name() const override { return "pinned_" + device_; }
  Decision choose(std::span<const DeviceStats> devices, const PendingRequest&) override {
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].name == device_ && devices[i].eligible && devices[i].free_slots() > 0)
        return Decision::run(i, 0, "pinned");
    return Decision::wait("pinned device busy");
  }

 private:
  std::string device_;
};

TEST_F(PolicyEngine, APolicyRegisteredInProcessIsSelectedByName) {
  register_policy("test_pinned_gpu", [](const PolicyConfig&) { return std::make_unique<PinnedPolicy>("FAKE.gpu"); });
  const auto names = policy_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "test_pinned_gpu"), names.end());
  EXPECT_THROW(register_policy("a/b", [](const PolicyConfig&) { return std::make_unique<PinnedPolicy>("x"); }),
               Error);
  Core core;
  auto_within(60s, [&] {
    auto compiled =
        core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu", {schedule_policy("test_pinned_gpu")});
    auto result = drive(compiled, 2, 50, 4);  // more requests than the GPU's slots: they wait for it
    EXPECT_EQ(result.ok, 100);
    EXPECT_EQ(result.wrong_output, 0);
    EXPECT_EQ(fake("cpu").succeeded, 0);
  });
}

TEST_F(PolicyEngine, TheSloPolicyRejectsWhatNoDeviceCanFinishWithinTheBudget) {
  fake("cpu").latency_ms = 40;
  Core core;
  auto_within(60s, [&] {
    auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.cpu",
                                       {schedule_policy("slo"), hint::latency_budget_ms(5.0),
                                        {"reject_over_budget", "true"}});
    auto request = compiled.create_infer_request();
    int ok = 0, rejected = 0;
    std::string message;
    for (int i = 0; i < 12; ++i) {
      ErrorCode code{};
      const auto error = error_of([&] { request.infer(); }, &code);
      if (error.empty()) {
        ++ok;
      } else {
        EXPECT_EQ(code, ErrorCode::deadline_exceeded) << error;
        message = error;
        ++rejected;
      }
    }
    EXPECT_EQ(ok + rejected, 12);
    // Once measured at ~40 ms the device cannot meet 5 ms: later requests are refused at once.
    EXPECT_GE(rejected, 1);
    EXPECT_NE(message.find("latency budget"), std::string::npos) << message;
  });
}

TEST_F(PolicyEngine, AHigherPriorityModelWaitingForADeviceStartsBeforeALowerPriorityOne) {
  fake("cpu").latency_ms = 300;
  fake("cpu").slots = 1;
  auto observer = std::make_shared<StartObserver>();
  auto registration = add_observer(observer);
  Core core;
  auto_within(60s, [&] {
    auto high = core.compile_model(identity_model(), "AUTO:FAKE.cpu", {hint::model_priority(Priority::HIGH)});
    auto low = core.compile_model(identity_model(), "AUTO:FAKE.cpu", {hint::model_priority(Priority::LOW)});
    EXPECT_EQ(high.get_property(hint::model_priority), Priority::HIGH);
    auto h1 = high.create_infer_request();
    auto h2 = high.create_infer_request();
    auto l1 = low.create_infer_request();
    h1.start_async();
    ASSERT_TRUE(eventually([&] { return observer->starts().size() == 1; }));
    const std::string high_label = observer->starts()[0].model;
    h2.start_async();  // waits for h1's slot: HIGH now has a request queued for FAKE.cpu
    ASSERT_TRUE(eventually([&] { return observer->enqueued(high_label) == 2; }));
    std::this_thread::sleep_for(50ms);  // h2 enters the queue right after its enqueued event
    l1.start_async();  // its own compiled model has a free slot, but HIGH waits for the device
    h1.wait();
    h2.wait();
    l1.wait();
    const auto starts = observer->starts();
    ASSERT_EQ(starts.size(), 3u);
    EXPECT_EQ(starts[0].model, high_label);
    EXPECT_EQ(starts[1].model, high_label) << "the LOW request started while a HIGH one waited for the device";
    EXPECT_NE(starts[2].model, high_label);
  });
}

TEST(Quarantine, SporadicFailuresSkipTheBackoffRepeatedOnesDoubleIt) {
  using std::chrono::milliseconds;
  using namespace scheduler;
  const milliseconds initial(100), max(5000);
  // A device that rarely fails: probed again at once.
  double ratio = 0;
  for (int i = 0; i < 40; ++i) ratio = next_failure_ratio(ratio, i % 20 == 19);  // 1 in 20
  EXPECT_LE(ratio, kSporadicFailureRatio);
  EXPECT_EQ(backoff_after_failure(false, milliseconds(0), ratio, initial, max), milliseconds(0));
  // Failing in a row: the ratio climbs past the threshold; back-off, doubled per failed probe.
  for (int i = 0; i < 3; ++i) ratio = next_failure_ratio(ratio, true);
  EXPECT_GT(ratio, kSporadicFailureRatio);
  EXPECT_EQ(backoff_after_failure(false, milliseconds(0), ratio, initial, max), initial);
  EXPECT_EQ(backoff_after_failure(true, milliseconds(0), ratio, initial, max), initial);  // after a 0 back-off
  EXPECT_EQ(backoff_after_failure(true, initial, ratio, initial, max), milliseconds(200));
  EXPECT_EQ(backoff_after_failure(true, milliseconds(4000), ratio, initial, max), max);
}

}  // namespace
}  // namespace autosched::testing
