// The simulator's engine in-process, with test policies registered through
// autosched::register_policy: what a policy sees (LiveStats figures on the
// virtual clock), rejections, the quarantine back-off, and the oracle against
// saturated jittery devices. Deterministic: virtual time only.
#include <gtest/gtest.h>

#include <memory>

#include "autosched/error.hpp"
#include "autosched/policy.hpp"
#include "devices/sim/sim_profile.hpp"
#include "tools/simulator.hpp"

namespace autosched::tools {
namespace {

using Clock = std::chrono::steady_clock;

FleetDevice device(const std::string& json, const std::string& name) {
  FleetDevice d;
  d.profile = sim::parse_profile(json, "test");
  d.name = name;
  return d;
}

FleetDevice fixed(double ms, unsigned slots, const std::string& name = "SIM.fixed", const std::string& faults = "{}") {
  return device(R"({"name": "fixed", "device_class": "cpu", "latency": {"base_ms": )" + std::to_string(ms) +
                    R"(}, "parallel_slots": )" + std::to_string(slots) + R"(, "faults": )" + faults + "}",
                name);
}

SimulationConfig closed_loop(std::vector<FleetDevice> fleet, const std::string& policy, unsigned clients,
                             std::uint64_t requests) {
  SimulationConfig c;
  c.fleet = std::move(fleet);
  c.policy = policy;
  c.arrivals.kind = ArrivalProcess::Kind::closed;
  c.arrivals.clients = clients;
  c.requests = requests;
  return c;
}

// First eligible device with a free slot; remembers what it saw.
struct Observed {
  std::vector<DeviceStats> last_snapshot;
  PendingRequest last_request;
  bool time_ran_backwards = false;
  std::uint64_t completions = 0, failures = 0;
};

class FirstFree : public Policy {
 public:
  explicit FirstFree(std::shared_ptr<Observed> seen, bool reject_odd = false)
      : seen_(std::move(seen)), reject_odd_(reject_odd) {}
  std::string name() const override { return "test_first_free"; }
  Decision choose(std::span<const DeviceStats> devices, const PendingRequest& request) override {
    if (request.now < seen_->last_request.now) seen_->time_ran_backwards = true;
    seen_->last_snapshot.assign(devices.begin(), devices.end());
    seen_->last_request = request;
    if (reject_odd_ && request.id % 2 == 1) return Decision::reject("odd");
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].eligible && devices[i].free_slots() > 0) return Decision::run(i, 0, "first free");
    return Decision::wait("full");
  }
  void on_complete(std::span<const DeviceStats>, const Completion& c) override {
    ++(c.ok ? seen_->completions : seen_->failures);
  }

 private:
  std::shared_ptr<Observed> seen_;
  bool reject_odd_;
};

std::shared_ptr<Observed> register_first_free(const std::string& name, bool reject_odd = false) {
  auto seen = std::make_shared<Observed>();
  register_policy(name, [seen, reject_odd](const PolicyConfig&) { return std::make_unique<FirstFree>(seen, reject_odd); });
  return seen;
}

TEST(Simulator, PoliciesSeeLiveStatisticsOnTheVirtualClock) {
  const auto seen = register_first_free("test_sees_stats");
  const auto r = simulate(closed_loop({fixed(2, 1)}, "test_sees_stats", 1, 100));
  EXPECT_EQ(r.policy, "test_first_free");
  EXPECT_EQ(r.completed, 100u);
  EXPECT_DOUBLE_EQ(r.duration_s, 0.2);
  EXPECT_FALSE(seen->time_ran_backwards);
  EXPECT_EQ(seen->completions, 100u);
  // The last decision (request 100) came after 99 completions, at 198 ms of virtual time.
  const auto& request = seen->last_request;
  EXPECT_EQ(request.id, 100u);
  EXPECT_EQ(request.now - request.enqueued, Clock::duration::zero());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(request.now.time_since_epoch()).count(), 198000);
  ASSERT_EQ(seen->last_snapshot.size(), 1u);
  const auto& s = seen->last_snapshot[0];
  EXPECT_EQ(s.name, "SIM.fixed");
  EXPECT_EQ(s.device_class, "cpu");
  EXPECT_EQ(s.samples, 98u);  // the device's first run counts for the rate only, as in the device set
  EXPECT_EQ(s.completed, 99u);
  EXPECT_DOUBLE_EQ(s.p50_latency_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.ewma_latency_ms, 2.0);
  EXPECT_DOUBLE_EQ(s.completions_per_s, 99.0);  // all 99 within LiveStats' 1 s rate window
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_TRUE(s.eligible);
  EXPECT_EQ(s.health, DeviceHealth::healthy);
}

TEST(Simulator, RejectionsEndRequestsAndCountAsSloMisses) {
  register_first_free("test_rejects_odd", true);
  auto config = closed_loop({fixed(1, 2)}, "test_rejects_odd", 2, 100);
  config.policy_config.latency_budget_ms = 10;
  config.policy_config.reject_over_budget = true;
  const auto r = simulate(config);
  EXPECT_EQ(r.rejected, 50u);
  EXPECT_EQ(r.completed, 50u);
  EXPECT_EQ(r.within_budget, 50u);
  EXPECT_DOUBLE_EQ(r.slo_attainment, 0.5);
}

TEST(Simulator, AFailedDeviceIsQuarantinedForTheBackoffThenProbed) {
  const auto seen = register_first_free("test_quarantine");
  // Device 0 fails its first two inferences. The first failure is sporadic
  // (scheduler/quarantine.hpp): no back-off, the next request probes it at
  // once; that probe fails too: quarantined for 100 ms. Meanwhile device 1
  // serves (the two retried requests, then one per ms); after the back-off
  // the probe on device 0 succeeds and it takes everything again (first free).
  auto config = closed_loop({fixed(1, 1, "SIM.a", R"({"fail_inferences": [1, 2]})"), fixed(1, 1, "SIM.b")},
                            "test_quarantine", 1, 200);
  const auto r = simulate(config);
  EXPECT_EQ(r.completed, 200u);
  EXPECT_EQ(r.retries, 2u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(seen->failures, 2u);
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_EQ(r.devices[0].failed, 2u);
  EXPECT_EQ(r.devices[0].quarantines, 1u);  // one quarantine, re-probed once inside it
  EXPECT_NEAR(double(r.devices[1].completed), 101.0, 1.0);  // ~100 ms of 1 ms requests, plus the retries
  EXPECT_EQ(r.devices[0].completed + r.devices[1].completed, 200u);
}

TEST(Simulator, ASporadicFailureCostsNoBackoff) {
  register_first_free("test_sporadic");
  auto config = closed_loop({fixed(1, 1, "SIM.a", R"({"fail_inferences": [50]})"), fixed(1, 1, "SIM.b")},
                            "test_sporadic", 1, 200);
  const auto r = simulate(config);
  EXPECT_EQ(r.completed, 200u);
  EXPECT_EQ(r.retries, 1u);
  EXPECT_EQ(r.devices[0].quarantines, 1u);
  EXPECT_EQ(r.devices[1].completed, 1u) << "only the retried request left device a";
}

TEST(Simulator, ARequestThatFailsOnEveryDeviceFails) {
  register_first_free("test_all_fail");
  const auto r = simulate(closed_loop({fixed(1, 1, "SIM.a", R"({"fail_probability": 1})"),
                                       fixed(1, 1, "SIM.b", R"({"fail_probability": 1})")},
                                      "test_all_fail", 1, 10));
  EXPECT_EQ(r.completed, 0u);
  EXPECT_EQ(r.failed, 10u);
  EXPECT_EQ(r.retries, 10u);  // each request: device a, then b
}

TEST(Simulator, ThroughputOfSaturatedJitteryDevicesMeetsTheOracle) {
  register_first_free("test_saturate");
  for (const auto& profile : sim::builtin_profiles()) {
    FleetDevice d;
    d.profile = profile;
    d.name = "SIM." + profile.name;
    auto config = closed_loop({d}, "test_saturate", 2 * profile.parallel_slots, 100000);
    config.workload.gflop_per_item = 1;
    const auto r = simulate(config);
    // Every slot always busy: throughput = slots / mean latency, the oracle's own figure.
    EXPECT_NEAR(r.oracle_pct, 100.0, 1.0) << profile.name;
  }
}

TEST(Simulator, PoissonArrivalsBelowCapacityAreServedAtTheirRate) {
  register_first_free("test_poisson");
  SimulationConfig config;
  config.fleet = {fixed(1, 4)};  // 4000 /s
  config.policy = "test_poisson";
  config.arrivals.kind = ArrivalProcess::Kind::poisson;
  config.arrivals.rate_per_s = 1000;
  config.requests = 100000;
  const auto r = simulate(config);
  EXPECT_EQ(r.completed, 100000u);
  EXPECT_NEAR(r.throughput_per_s, 1000.0, 10.0);
  EXPECT_NEAR(r.oracle_per_s, 4000.0, 1e-9);
  EXPECT_GE(r.latency_p50_ms, 1.0);
}

TEST(Simulator, AnUnknownPolicyIsTheRegistrysError) {
  try {
    simulate(closed_loop({fixed(1, 1)}, "no_such_policy_here", 1, 1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("no_such_policy_here"), std::string::npos) << e.what();
  }
}


// Re-balancing end to end (issue 8): the real throughput policy and LiveStats
// on the virtual clock. Device A (2 ms) slows down 4x at t = 2 s; device B
// (4 ms) does not. Before: A does 2/3 of the work; after: 1/3. The split must
// follow within 50 completions on A (0.4 s of its slowed rate), i.e. the
// first full time bucket after the slowdown already shows the new split.
TEST(SimulatorRebalancing, ThroughputSplitReconvergesAfterA4xSlowdown) {
  auto a = device(R"({"name": "a", "device_class": "discrete_gpu", "latency": {"base_ms": 2},
                      "slowdowns": [{"start_s": 2, "duration_s": 1000, "factor": 4}]})",
                  "SIM.a");
  auto b = device(R"({"name": "b", "device_class": "cpu", "latency": {"base_ms": 4}})", "SIM.b");
  auto config = closed_loop({a, b}, "throughput", 8, 4500);  // ~2 s fast + ~8 s slowed
  config.workload.gflop_per_item = 0;
  config.buckets = 20;
  const auto r = simulate(config);
  ASSERT_EQ(r.completed, 4500u);
  ASSERT_EQ(r.devices.size(), 2u);
  const auto share_of_a = [&](std::size_t bucket) {
    const double on_a = double(r.devices[0].timeline[bucket]);
    const double on_b = double(r.devices[1].timeline[bucket]);
    return on_a / std::max(1.0, on_a + on_b);
  };
  const auto bucket_at = [&](double t_s) { return std::size_t(t_s / r.bucket_s); };
  ASSERT_GT(r.duration_s, 6.0);
  EXPECT_NEAR(share_of_a(0), 2.0 / 3.0, 0.07) << "before the slowdown A runs 2/3";
  // The first whole bucket starting 0.4 s after the slowdown, and every later one.
  for (std::size_t k = bucket_at(2.4) + 1; k + 1 < r.devices[0].timeline.size(); ++k)
    EXPECT_NEAR(share_of_a(k), 1.0 / 3.0, 0.07) << "bucket " << k << " at " << double(k) * r.bucket_s << " s";
}

// The same slowdown under light load (one client): the latency policy runs
// every request on the measured fastest device, so it must leave A for B once
// A's own measurements show it slowed (a policy that ignored live timing, e.g.
// device_priority, would stay on A). Within 50 completions on A.
TEST(SimulatorRebalancing, LatencyPolicyLeavesADeviceThatSlowedDown) {
  auto a = device(R"({"name": "a", "device_class": "discrete_gpu", "latency": {"base_ms": 2},
                      "slowdowns": [{"start_s": 2, "duration_s": 1000, "factor": 4}]})",
                  "SIM.a");
  auto b = device(R"({"name": "b", "device_class": "cpu", "latency": {"base_ms": 4}})", "SIM.b");
  for (const std::string policy : {"latency", "device_priority"}) {
    auto config = closed_loop({a, b}, policy, 1, 3000);
    config.workload.gflop_per_item = 0;
    config.buckets = 20;
    const auto r = simulate(config);
    ASSERT_EQ(r.completed, 3000u);
    const std::size_t slowed = std::size_t(2.0 / r.bucket_s) + 1;  // first whole bucket after t = 2 s
    std::uint64_t on_a_after = 0, total_after = 0;
    for (std::size_t k = slowed; k < r.devices[0].timeline.size(); ++k) {
      on_a_after += r.devices[0].timeline[k];
      total_after += r.devices[0].timeline[k] + r.devices[1].timeline[k];
    }
    ASSERT_GT(total_after, 0u);
    if (policy == "latency") {
      EXPECT_GT(r.devices[0].timeline[0], r.devices[1].timeline[0] * 10) << "A is fastest before the slowdown";
      EXPECT_LE(on_a_after, 50u) << "A kept requests after it slowed down";
    } else {
      EXPECT_EQ(on_a_after, total_after) << "device_priority ignores timing (control)";
    }
  }
}

}  // namespace
}  // namespace autosched::tools
