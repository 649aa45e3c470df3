// SIM fault injection, jitter and seeds on a ManualClock: each fault kind
// (failed compile, k-th inference fails, failure probability, k-th inference
// hangs, hang probability, disappearance), each jitter distribution's
// statistics over many seeded samples, and run-to-run determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "devices/sim/sim_random.hpp"
#include "tests/unit/sim_test_support.hpp"

namespace autosched::sim {
namespace {

using namespace testing;

class SimFault : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  Model model = matmul_model(1);
};

// Runs `n` inferences on `request` with time jumping to each deadline; an
// inference that hangs is cancelled by a helper thread. Returns one outcome
// per inference: "ok", or the Error code name.
std::vector<std::string> run_inferences(ManualClock& clock, plugin::ISyncInferRequest& request, const Model& model,
                                        int n) {
  clock.set_auto_advance(true);  // only endless (hanging) waits block now
  std::atomic<int> finished{0};
  std::atomic<bool> stop{false};
  std::thread canceller([&] {
    while (!stop) {
      if (!clock.wait_for_waiters(1, std::chrono::milliseconds(20))) continue;
      const int before = finished;
      request.cancel();
      while (finished == before && !stop) std::this_thread::yield();  // one cancel per hang
    }
  });
  std::vector<std::string> outcomes;
  const auto inputs = make_inputs(model);
  for (int i = 0; i < n; ++i) {
    std::vector<Tensor> outputs;
    try {
      request.infer(inputs, outputs);
      outcomes.push_back("ok");
    } catch (const Error& e) {
      outcomes.push_back(to_string(e.code()));
    }
    ++finished;
  }
  stop = true;
  canceller.join();
  clock.set_auto_advance(false);
  return outcomes;
}

TEST_F(SimFault, FailCompileFailsAfterTheCompileTime) {
  auto dev = device(R"("compile": {"fixed_ms": 50}, "faults": {"fail_compile": true})", clock);
  std::string message;
  std::thread compiling([&] { message = error_message([&] { dev->compile(model, {}); }, ErrorCode::device_failure); });
  ASSERT_TRUE(clock->wait_for_waiters(1));
  clock->advance(std::chrono::milliseconds(49));
  EXPECT_EQ(clock->waiting(), 1u);
  clock->advance(std::chrono::milliseconds(1));
  compiling.join();
  EXPECT_NE(message.find("injected compile failure"), std::string::npos) << message;
  EXPECT_NE(message.find("faults.fail_compile"), std::string::npos) << message;
}

TEST_F(SimFault, KthInferencesFailCountedAcrossTheDevice) {
  auto dev = device(R"("latency": {"base_ms": 1}, "faults": {"fail_inferences": [2, 4]})", clock);
  auto a = dev->compile(model, {})->create_sync_request();
  auto b = dev->compile(model, {})->create_sync_request();
  EXPECT_EQ(run_inferences(*clock, *a, model, 1), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(run_inferences(*clock, *b, model, 1), (std::vector<std::string>{"device_failure"}));
  EXPECT_EQ(run_inferences(*clock, *a, model, 3), (std::vector<std::string>{"ok", "device_failure", "ok"}));
  const auto m = error_message([&] {
    auto c = device(R"("faults": {"fail_inferences": [1]})", clock)->compile(model, {})->create_sync_request();
    std::vector<Tensor> out;
    c->infer(make_inputs(model), out);
  }, ErrorCode::device_failure);
  EXPECT_NE(m.find("injected failure of inference 1"), std::string::npos) << m;
}

TEST_F(SimFault, FailureProbabilityFollowsTheSeed) {
  auto dev = device(R"("seed": 5, "faults": {"fail_probability": 0.25})", clock);
  auto request = dev->compile(model, {})->create_sync_request();
  const auto outcomes = run_inferences(*clock, *request, model, 2000);
  int failed = 0;
  for (std::size_t k = 1; k <= outcomes.size(); ++k) {
    EventRandom r(5, RandomPurpose::inference, k);
    const bool expected_fail = r.uniform() < 0.25;
    EXPECT_EQ(outcomes[k - 1], expected_fail ? "device_failure" : "ok") << "inference " << k;
    failed += expected_fail;
  }
  EXPECT_NEAR(failed, 500, 60);  // 3 standard deviations of Binomial(2000, 0.25) ≈ 58
}

TEST_F(SimFault, KthInferenceHangsUntilCancelledThenTheNextRuns) {
  auto dev = device(R"("latency": {"base_ms": 3}, "faults": {"hang_inferences": [2]})", clock);
  auto request = dev->compile(model, {})->create_sync_request();
  {
    BackgroundInfer first(*request, make_inputs(model));
    ASSERT_TRUE(clock->wait_for_waiters(1));
    clock->advance(std::chrono::milliseconds(3));
    first.join();
  }
  {
    BackgroundInfer hung(*request, make_inputs(model));
    ASSERT_TRUE(clock->wait_for_waiters(1));
    EXPECT_EQ(clock->recorded_waits().back(), kForever);
    clock->advance(std::chrono::hours(24));
    EXPECT_EQ(clock->waiting(), 1u);  // a day later it still hangs
    EXPECT_FALSE(hung.done());
    request->cancel();
    const auto m = error_message([&] { hung.join(); }, ErrorCode::cancelled);
    EXPECT_NE(m.find("inference 2"), std::string::npos) << m;
  }
  {
    BackgroundInfer third(*request, make_inputs(model));  // the cancel does not leak into the next run
    ASSERT_TRUE(clock->wait_for_waiters(1));
    EXPECT_EQ(clock->recorded_waits().back(), from_ms(3));
    clock->advance(std::chrono::milliseconds(3));
    EXPECT_NO_THROW(third.join());
  }
}

TEST_F(SimFault, HangProbabilityFollowsTheSeed) {
  auto dev = device(R"("seed": 9, "latency": {"base_ms": 1}, "faults": {"hang_probability": 0.3})", clock);
  auto request = dev->compile(model, {})->create_sync_request();
  const auto outcomes = run_inferences(*clock, *request, model, 300);
  int hung = 0;
  for (std::size_t k = 1; k <= outcomes.size(); ++k) {
    EventRandom r(9, RandomPurpose::inference, k);
    r.uniform();  // the failure draw comes first
    const bool expected_hang = r.uniform() < 0.3;
    EXPECT_EQ(outcomes[k - 1], expected_hang ? "cancelled" : "ok") << "inference " << k;
    hung += expected_hang;
  }
  EXPECT_NEAR(hung, 90, 24);  // 3 standard deviations of Binomial(300, 0.3) ≈ 24
}

TEST_F(SimFault, DeviceDisappearsAfterItsTime) {
  auto dev = device(R"("latency": {"base_ms": 2000}, "faults": {"disappear_after_s": 5})", clock);
  auto request = dev->compile(model, {})->create_sync_request();
  {
    BackgroundInfer early(*request, make_inputs(model));
    ASSERT_TRUE(clock->wait_for_waiters(1));
    clock->advance(std::chrono::seconds(2));
    EXPECT_NO_THROW(early.join());
  }
  clock->advance_to(std::chrono::seconds(4));
  {
    // Due at 6 s, but the device is gone at 5 s: the in-flight inference fails then.
    BackgroundInfer cut(*request, make_inputs(model));
    ASSERT_TRUE(clock->wait_for_waiters(1));
    clock->advance(std::chrono::milliseconds(999));
    EXPECT_EQ(clock->waiting(), 1u);
    clock->advance(std::chrono::milliseconds(1));
    const auto m = error_message([&] { cut.join(); }, ErrorCode::device_failure);
    EXPECT_NE(m.find("device disappeared"), std::string::npos) << m;
  }
  std::vector<Tensor> out;
  error_message([&] { request->infer(make_inputs(model), out); }, ErrorCode::device_failure);
  const auto m = error_message([&] { dev->compile(model, {}); }, ErrorCode::device_failure);
  EXPECT_NE(m.find("device disappeared"), std::string::npos) << m;
}

TEST_F(SimFault, DisappearanceEndsCompilesAndHangsInProgress) {
  auto dev = device(R"("compile": {"fixed_ms": 10000}, "faults": {"disappear_after_s": 5, "hang_inferences": [1]})",
                    clock);
  std::thread compiling([&] { error_message([&] { dev->compile(model, {}); }, ErrorCode::device_failure); });
  ASSERT_TRUE(clock->wait_for_waiters(1));
  EXPECT_EQ(clock->recorded_waits().back(), Duration(std::chrono::seconds(5)));  // cut short by the disappearance
  clock->advance(std::chrono::seconds(5));
  compiling.join();

  auto other_clock = std::make_shared<ManualClock>();
  auto hanging = device(R"("faults": {"disappear_after_s": 1, "hang_inferences": [1]})", other_clock);
  auto request = hanging->compile(model, {})->create_sync_request();
  BackgroundInfer hung(*request, make_inputs(model));
  ASSERT_TRUE(other_clock->wait_for_waiters(1));
  other_clock->advance(std::chrono::seconds(1));
  error_message([&] { hung.join(); }, ErrorCode::device_failure);
}

// Samples the latency of `n` inferences (ms) of a fresh device built from `fields`.
std::vector<double> latency_samples(const std::string& fields, int n) {
  auto clock = std::make_shared<ManualClock>();
  auto dev = device(fields, clock);
  const Model model = matmul_model(1);
  auto request = dev->compile(model, {})->create_sync_request();
  clock->set_auto_advance(true);
  clock->clear_recorded_waits();
  const auto inputs = make_inputs(model);
  std::vector<Tensor> outputs;
  for (int i = 0; i < n; ++i) request->infer(inputs, outputs);
  std::vector<double> ms;
  for (auto d : clock->recorded_waits()) ms.push_back(to_ms(d));
  return ms;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::size_t(q * double(v.size() - 1) + 0.5)];
}

TEST(SimJitter, NoneGivesTheExactLatency) {
  const auto ms = latency_samples(R"("latency": {"base_ms": 10, "jitter": {"distribution": "none"}})", 100);
  ASSERT_EQ(ms.size(), 100u);
  for (double v : ms) EXPECT_EQ(v, 10.0);
}

TEST(SimJitter, NormalHasTheProfilesMeanAndSigma) {
  const auto ms =
      latency_samples(R"("seed": 21, "latency": {"base_ms": 10, "jitter": {"distribution": "normal", "sigma": 0.1}})",
                      4000);
  ASSERT_EQ(ms.size(), 4000u);
  double sum = 0, sq = 0;
  for (double v : ms) sum += v, sq += v * v;
  const double mean = sum / 4000, sd = std::sqrt(sq / 4000 - mean * mean);
  EXPECT_NEAR(mean, 10.0, 0.05);  // standard error 1/sqrt(4000) = 0.016
  EXPECT_NEAR(sd, 1.0, 0.04);     // standard error of sd ≈ 0.011
  // Sample k is exactly base · (1 + sigma · z_k) with z_k from the seeded stream.
  for (std::uint64_t k = 1; k <= 5; ++k) {
    EventRandom r(21, RandomPurpose::inference, k);
    r.uniform(), r.uniform();
    EXPECT_NEAR(ms[k - 1], 10.0 * (1 + 0.1 * r.normal()), 1e-6) << k;
  }
}

TEST(SimJitter, LognormalHasTheProfilesMedianAndP99Ratio) {
  const auto ms = latency_samples(
      R"("seed": 22, "latency": {"base_ms": 10, "jitter": {"distribution": "lognormal", "p99_over_p50": 2}})", 4000);
  ASSERT_EQ(ms.size(), 4000u);
  const double p50 = quantile(ms, 0.5), p99 = quantile(ms, 0.99);
  EXPECT_NEAR(p50, 10.0, 0.25);          // standard error ≈ 0.6 %
  EXPECT_NEAR(p99 / p50, 2.0, 0.16);     // standard error ≈ 1.8 %
  EXPECT_GT(*std::min_element(ms.begin(), ms.end()), 0.0);
}

TEST(SimSeed, SameSeedSameRunOtherSeedOtherRun) {
  const char* a = R"("seed": 77, "latency": {"base_ms": 5, "jitter": {"distribution": "lognormal", "p99_over_p50": 3}})";
  const char* b = R"("seed": 78, "latency": {"base_ms": 5, "jitter": {"distribution": "lognormal", "p99_over_p50": 3}})";
  EXPECT_EQ(latency_samples(a, 200), latency_samples(a, 200));
  EXPECT_NE(latency_samples(a, 200), latency_samples(b, 200));

  auto outcomes = [](const char* seed_field) {
    auto clock = std::make_shared<ManualClock>();
    auto dev = device(std::string(seed_field) + R"(, "faults": {"fail_probability": 0.3, "hang_probability": 0.1})",
                      clock);
    const Model model = matmul_model(1);
    auto request = dev->compile(model, {})->create_sync_request();
    return run_inferences(*clock, *request, model, 200);
  };
  EXPECT_EQ(outcomes(R"("seed": 1)"), outcomes(R"("seed": 1)"));
  EXPECT_NE(outcomes(R"("seed": 1)"), outcomes(R"("seed": 2)"));
}

}  // namespace
}  // namespace autosched::sim
