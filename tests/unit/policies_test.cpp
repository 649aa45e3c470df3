// The built-in scheduling policies (policies/): each one's decisions on
// hand-built snapshots, lookup by name, and closed-loop runs on a virtual
// clock (VirtualFleet below) where devices with fixed latencies feed
// scheduler::LiveStats, so the split, spike and slowdown behaviour is checked
// deterministically, without sleeping or wall-clock timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autosched/error.hpp"
#include "autosched/policy.hpp"
#include "scheduler/live_stats.hpp"

namespace autosched {
namespace {

using Clock = PendingRequest::Clock;
using Ms = std::chrono::duration<double, std::milli>;

const char* const kBuiltins[] = {"device_priority", "round_robin", "latency", "throughput", "slo"};

// A measured device: every latency figure equals `latency_ms`.
DeviceStats device(std::size_t priority, unsigned slots, unsigned in_flight, double latency_ms,
                   std::uint64_t samples = 10) {
  DeviceStats d;
  d.name = "D";  // not "D" + std::to_string(): GCC 12 -O3 -Wrestrict false positive
  d.name += std::to_string(priority);
  d.priority = priority;
  d.slots = slots;
  d.in_flight = in_flight;
  d.samples = samples;
  if (samples > 0) d.ewma_latency_ms = d.p50_latency_ms = d.p90_latency_ms = d.p99_latency_ms = latency_ms;
  d.eligible = true;
  return d;
}

PendingRequest request(std::size_t queued = 1) {
  PendingRequest r;
  r.now = Clock::time_point{} + std::chrono::hours(1);
  r.enqueued = r.now;
  r.queued = queued;
  return r;
}

std::unique_ptr<Policy> policy(const char* name, PolicyConfig config = {}) { return make_policy(name, config); }

bool runs_on(const Decision& d, std::size_t device) { return d.kind == Decision::Kind::run && d.device == device; }

// ---- Registry ----

TEST(PoliciesRegistry, BuiltinsAreRegisteredAndMadeByName) {
  const auto names = policy_names();
  for (const char* name : kBuiltins) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_EQ(make_policy(name)->name(), name);
  }
}

TEST(PoliciesRegistry, UnknownNameIsInvalidArgumentListingValidNames) {
  try {
    make_policy("fastest_please");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    const std::string message = e.what();
    EXPECT_NE(message.find("fastest_please"), std::string::npos) << message;
    for (const char* name : kBuiltins) EXPECT_NE(message.find(name), std::string::npos) << message;
  }
}

// ---- Decisions on hand-built snapshots ----

TEST(PoliciesDevicePriority, FirstFreeInPriorityOrder) {
  auto p = policy("device_priority");
  std::vector<DeviceStats> d{device(2, 1, 0, 5), device(0, 1, 1, 50), device(1, 2, 1, 20)};
  EXPECT_TRUE(runs_on(p->choose(d, request()), 2));  // priority 0 is full
  d[2].eligible = false;
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));
  d[0].in_flight = 1;
  const auto waiting = p->choose(d, request());
  EXPECT_EQ(waiting.kind, Decision::Kind::wait);
  EXPECT_STREQ(waiting.reason, "no free slot");
}

TEST(PoliciesRoundRobin, CyclesThroughFreeEligibleDevices) {
  auto p = policy("round_robin");
  std::vector<DeviceStats> d{device(0, 4, 0, 10), device(1, 4, 0, 10), device(2, 4, 0, 10)};
  std::vector<std::size_t> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(p->choose(d, request()).device);
  EXPECT_EQ(picks, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  d[1].in_flight = 4;  // full
  d[2].eligible = false;
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));
  d.resize(1);  // the set shrank: the remembered index wraps
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));
  d[0].in_flight = 4;
  EXPECT_EQ(p->choose(d, request()).kind, Decision::Kind::wait);
}

TEST(PoliciesLatency, ExploresFewestSamplesFirstThenPriority) {
  auto p = policy("latency");  // exploration_samples = 3
  std::vector<DeviceStats> d{device(0, 1, 0, 10, 3), device(2, 1, 0, 90, 1), device(1, 1, 0, 0, 1)};
  auto decision = p->choose(d, request());
  EXPECT_TRUE(runs_on(decision, 2));  // one sample each: priority 1 before 2
  EXPECT_STREQ(decision.reason, "exploring");
  d[2].in_flight = 1;
  EXPECT_TRUE(runs_on(p->choose(d, request()), 1));
}

TEST(PoliciesLatency, FastestFreeRunsWithItsLatencyPredicted) {
  auto p = policy("latency");
  std::vector<DeviceStats> d{device(0, 1, 0, 30), device(1, 1, 0, 10)};
  const auto decision = p->choose(d, request());
  EXPECT_TRUE(runs_on(decision, 1));
  EXPECT_DOUBLE_EQ(decision.predicted_latency_ms, 10);
  EXPECT_STREQ(decision.reason, "fastest expected");
}

TEST(PoliciesLatency, WaitsForBusyFastestOnlyWhenThatFinishesSooner) {
  auto p = policy("latency");
  // Fastest busy: slot in ~10 ms, done in ~20 ms; the free one takes 30 ms: wait.
  std::vector<DeviceStats> d{device(0, 1, 1, 10), device(1, 1, 0, 30)};
  const auto waiting = p->choose(d, request());
  EXPECT_EQ(waiting.kind, Decision::Kind::wait);
  EXPECT_STREQ(waiting.reason, "waiting for faster device");
  d[1] = device(1, 1, 0, 15);  // 15 ms now beats ~20 ms later
  EXPECT_TRUE(runs_on(p->choose(d, request()), 1));
  d[1] = device(1, 1, 0, 30);
  d[0].in_flight = 3;  // two more already queued on it: ~30 + 10 ms
  EXPECT_TRUE(runs_on(p->choose(d, request()), 1));
  d[0] = device(0, 4, 4, 10);  // four slots free one every 2.5 ms: ~12.5 ms
  EXPECT_EQ(p->choose(d, request()).kind, Decision::Kind::wait);
}

TEST(PoliciesThroughput, ExploresThenFastestFree) {
  auto p = policy("throughput");
  std::vector<DeviceStats> d{device(0, 1, 0, 10), device(1, 2, 0, 0, 0), device(2, 1, 0, 5)};
  EXPECT_TRUE(runs_on(p->choose(d, request()), 1));
  d[1] = device(1, 2, 0, 40);
  const auto decision = p->choose(d, request());
  EXPECT_TRUE(runs_on(decision, 2));
  EXPECT_STREQ(decision.reason, "fastest free");
  EXPECT_DOUBLE_EQ(decision.predicted_latency_ms, 5);
}

TEST(PoliciesThroughput, HoldsBackFromSlowDeviceOnlyWhileTheQueueIsShort) {
  auto p = policy("throughput");
  std::vector<DeviceStats> d{device(0, 1, 1, 10), device(1, 1, 0, 50)};
  // One request: the busy 10 ms device finishes it in ~20 ms, before 50 ms.
  const auto held = p->choose(d, request(1));
  EXPECT_EQ(held.kind, Decision::Kind::wait);
  EXPECT_STREQ(held.reason, "waiting for faster device");
  // Five queued: draining them through the fast device takes ~60 ms, so the
  // slow free slot takes one now (work-conserving).
  EXPECT_TRUE(runs_on(p->choose(d, request(5)), 1));
  // Two fast devices drain twice as fast: five queued are held back now.
  d.push_back(device(2, 1, 1, 10));
  EXPECT_EQ(p->choose(d, request(5)).kind, Decision::Kind::wait);
  EXPECT_TRUE(runs_on(p->choose(d, request(9)), 1));
  d[0].eligible = d[2].eligible = false;  // the fast ones left: nothing to wait for
  EXPECT_TRUE(runs_on(p->choose(d, request(1)), 1));
}

TEST(PoliciesThroughput, CountsArrivalsSoSustainedLoadUsesTheSlowDeviceToo) {
  auto p = policy("throughput");
  std::vector<DeviceStats> d{device(0, 1, 1, 10), device(1, 1, 0, 50)};
  EXPECT_EQ(p->choose(d, request(1)).kind, Decision::Kind::wait);  // light load: wait for the fast one
  // Requests arrive (complete) at 100/s, the fast device's whole rate: the queue never drains through it.
  d[0].completions_per_s = 100;
  EXPECT_TRUE(runs_on(p->choose(d, request(1)), 1));
}

TEST(PoliciesThroughput, LeavesOutASlowDeviceOnTheSameHostCores) {
  auto p = policy("throughput");
  // CPU (10 ms, 2 slots, both busy) and an OpenCL CPU device (200 ms) on the same cores; deep queue.
  std::vector<DeviceStats> d{device(0, 2, 2, 10), device(1, 1, 0, 200)};
  d[0].shares_host_cpu = d[1].shares_host_cpu = true;
  d[0].completions_per_s = 200;
  const auto held = p->choose(d, request(50));
  EXPECT_EQ(held.kind, Decision::Kind::wait) << held.reason;
  // On separate hardware the same slow device adds capacity: work-conserving again.
  d[1].shares_host_cpu = false;
  EXPECT_TRUE(runs_on(p->choose(d, request(50)), 1));
  // Host devices of similar speed both serve.
  d[1] = device(1, 2, 0, 12);
  d[1].shares_host_cpu = true;
  EXPECT_TRUE(runs_on(p->choose(d, request(50)), 1));
}

TEST(PoliciesSlo, RunsOnTheFastestDeviceThatFitsTheBudget) {
  PolicyConfig config;
  config.latency_budget_ms = 40;
  auto p = policy("slo", config);
  std::vector<DeviceStats> d{device(0, 1, 0, 10), device(1, 2, 0, 30)};
  d[0].p99_latency_ms = 60;  // typical 10 but p99 over budget
  const auto decision = p->choose(d, request());
  EXPECT_TRUE(runs_on(decision, 1));
  EXPECT_STREQ(decision.reason, "within budget");
  EXPECT_DOUBLE_EQ(decision.predicted_latency_ms, 30);
  d[0].p99_latency_ms = 0;  // unmeasured p99: the typical latency stands in
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));
}

TEST(PoliciesSlo, TimeAlreadyQueuedAndTheDeadlineCountAgainstTheBudget) {
  PolicyConfig config;
  config.latency_budget_ms = 40;
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  std::vector<DeviceStats> d{device(0, 1, 0, 30)};
  auto r = request();
  r.enqueued = r.now - std::chrono::milliseconds(5);
  EXPECT_TRUE(runs_on(p->choose(d, r), 0));
  r.enqueued = r.now - std::chrono::milliseconds(15);  // 15 + 30 > 40
  EXPECT_EQ(p->choose(d, r).kind, Decision::Kind::reject);
  r.enqueued = r.now;
  r.deadline = r.now + std::chrono::milliseconds(20);  // tighter than the budget
  EXPECT_EQ(p->choose(d, r).kind, Decision::Kind::reject);

  auto no_budget = policy("slo");  // a deadline alone acts as the budget
  d.push_back(device(1, 1, 0, 15));
  const auto fits = no_budget->choose(d, r);
  EXPECT_TRUE(runs_on(fits, 1));
  EXPECT_STREQ(fits.reason, "within budget");
  d[1].in_flight = 1;  // not rejecting: best effort rather than no service
  const auto best_effort = no_budget->choose(d, r);
  EXPECT_TRUE(runs_on(best_effort, 0));
  EXPECT_STREQ(best_effort.reason, "over budget, fastest free");
}

TEST(PoliciesSlo, WaitsForABusyDeviceThatFitsLaterElseRejects) {
  PolicyConfig config;
  config.latency_budget_ms = 25;
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  std::vector<DeviceStats> d{device(0, 1, 1, 10), device(1, 1, 0, 30)};
  const auto waiting = p->choose(d, request());  // ~10 + 10 fits 25; 30 does not
  EXPECT_EQ(waiting.kind, Decision::Kind::wait);
  EXPECT_STREQ(waiting.reason, "waiting for device within budget");
  config.latency_budget_ms = 15;  // ~20 later does not fit either
  p = policy("slo", config);
  const auto rejected = p->choose(d, request());
  EXPECT_EQ(rejected.kind, Decision::Kind::reject);
  EXPECT_STREQ(rejected.reason, "no device can meet the latency budget");
  config.reject_over_budget = false;  // best effort instead of starving it
  p = policy("slo", config);
  const auto best_effort = p->choose(d, request());
  EXPECT_TRUE(runs_on(best_effort, 1));
  EXPECT_STREQ(best_effort.reason, "over budget, fastest free");
}

TEST(PoliciesSlo, ExploresOnlyUnmeasuredOrFittingDevicesAndWaitsForFirstMeasurements) {
  PolicyConfig config;
  config.latency_budget_ms = 20;
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  std::vector<DeviceStats> d{device(0, 1, 0, 0, 0), device(1, 1, 0, 100, 1)};
  EXPECT_TRUE(runs_on(p->choose(d, request()), 0));  // unmeasured: explored
  d[0].in_flight = 1;  // its first run is still going; device 1 overshot once: not again
  const auto waiting = p->choose(d, request());
  EXPECT_EQ(waiting.kind, Decision::Kind::wait);
  EXPECT_STREQ(waiting.reason, "waiting for measurements");
}

TEST(PoliciesSlo, WithoutBudgetOrDeadlineDecidesLikeThroughput) {
  auto slo = policy("slo");
  auto throughput = policy("throughput");
  std::vector<DeviceStats> d{device(0, 1, 1, 10), device(1, 1, 0, 50), device(2, 2, 0, 0, 0)};
  for (std::size_t queued : {1, 5}) {
    for (int step = 0; step < 2; ++step) {
      const auto a = slo->choose(d, request(queued)), b = throughput->choose(d, request(queued));
      EXPECT_EQ(a.kind, b.kind);
      EXPECT_EQ(a.device, b.device);
      EXPECT_STREQ(a.reason, b.reason);
      d[2] = device(2, 2, 0, 60);
    }
  }
}

// Every policy, on many pseudo-random snapshots: "run" only on an eligible
// device with a free slot, a finite prediction and a reason.
TEST(PoliciesAll, RunOnlyOnEligibleDevicesWithFreeSlots) {
  std::uint64_t state = 12345;
  auto next = [&](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  for (const char* name : kBuiltins) {
    PolicyConfig config;
    config.latency_budget_ms = double(next(3)) * 30;
    config.reject_over_budget = next(2) == 1;
    auto p = policy(name, config);
    for (int round = 0; round < 2000; ++round) {
      std::vector<DeviceStats> d;
      for (std::size_t i = 0, n = next(5); i < n; ++i) {
        d.push_back(device(next(4), unsigned(next(4)), unsigned(next(5)), double(next(50)), next(5)));
        d.back().eligible = next(4) != 0;
        d.back().p99_latency_ms *= double(1 + next(3));
      }
      auto r = request(1 + next(6));
      r.enqueued = r.now - std::chrono::milliseconds(next(40));
      const auto decision = p->choose(d, r);
      EXPECT_NE(std::strlen(decision.reason), 0u) << name;
      if (decision.kind != Decision::Kind::run) continue;
      ASSERT_LT(decision.device, d.size()) << name;
      EXPECT_TRUE(d[decision.device].eligible) << name;
      EXPECT_GT(d[decision.device].free_slots(), 0u) << name;
      EXPECT_TRUE(std::isfinite(decision.predicted_latency_ms) && decision.predicted_latency_ms >= 0) << name;
    }
  }
}

// ---- Closed loop on a virtual clock ----

struct SimDevice {
  unsigned slots = 1;
  std::function<double(std::uint64_t run)> latency_ms;  // time on the device of its `run`-th request (0-based)
};

// One finished request, with the device's statistics right after it was recorded.
struct SimRecord {
  std::size_t device = 0;
  double device_ms = 0, latency_ms = 0, finish_ms = 0;  // latency: enqueued -> finished
  std::string reason;
  double p50_ms = 0, p99_ms = 0, ewma_ms = 0;
};

// `clients` requests always outstanding: each one finished (or rejected,
// retried 1 ms later) is replaced by a new one. Every completion feeds the
// device's LiveStats, and each decision sees a snapshot built from them, as
// the scheduler does. Events are processed one at a time in (time, start
// order): fully deterministic.
class VirtualFleet {
 public:
  VirtualFleet(std::vector<SimDevice> devices, Policy& policy, unsigned clients)
      : devices_(std::move(devices)), policy_(policy), stats_(devices_.size()), snapshot_(devices_.size()) {
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      snapshot_[i].name = "V";
      snapshot_[i].name += std::to_string(i);
      snapshot_[i].priority = i;
      snapshot_[i].slots = devices_[i].slots;
      snapshot_[i].eligible = true;
    }
    runs_.resize(devices_.size());
    for (unsigned c = 0; c < clients; ++c) queue_.push_back(0);
  }

  // Runs until `resolved` requests have completed or been rejected in total.
  void run(std::size_t resolved) {
    while (!failed_ && records_.size() + rejected_.size() < resolved) {
      dispatch();
      if (!advance()) {
        ADD_FAILURE() << "requests queued but nothing running: the policy starved them";
        failed_ = true;
      }
    }
  }

  const std::vector<SimRecord>& records() const { return records_; }
  const std::vector<std::string>& rejected() const { return rejected_; }

 private:
  struct Running {
    std::size_t device;
    double enqueued_ms, finish_ms, device_ms;
    std::uint64_t order;
    const char* reason;
  };

  Clock::time_point at(double ms) const {
    return Clock::time_point{} + std::chrono::hours(1) + std::chrono::duration_cast<Clock::duration>(Ms(ms));
  }

  void dispatch() {
    while (!queue_.empty()) {
      for (std::size_t i = 0; i < devices_.size(); ++i) stats_[i].fill(snapshot_[i], at(now_));
      PendingRequest r;
      r.id = ++ids_;
      r.enqueued = at(queue_.front());
      r.now = at(now_);
      r.queued = queue_.size();
      const auto decision = policy_.choose(snapshot_, r);
      if (decision.kind == Decision::Kind::wait) return;
      const double enqueued = queue_.front();
      queue_.pop_front();
      if (decision.kind == Decision::Kind::reject) {
        rejected_.push_back(decision.reason);
        retries_.push_back(now_ + 1);
        continue;
      }
      const auto d = decision.device;
      if (d >= devices_.size() || snapshot_[d].free_slots() == 0) {
        ADD_FAILURE() << "ran on device " << d << " without a free slot";
        failed_ = true;
        return;
      }
      ++snapshot_[d].in_flight;
      const double device_ms = devices_[d].latency_ms(runs_[d]++);
      running_.push_back({d, enqueued, now_ + device_ms, device_ms, order_++, decision.reason});
    }
  }

  // Moves the clock to the next completion or retry; false when there is none.
  bool advance() {
    std::size_t next = running_.size();
    for (std::size_t i = 0; i < running_.size(); ++i)
      if (next == running_.size() || running_[i].finish_ms < running_[next].finish_ms ||
          (running_[i].finish_ms == running_[next].finish_ms && running_[i].order < running_[next].order))
        next = i;
    std::size_t retry = retries_.size();
    for (std::size_t i = 0; i < retries_.size(); ++i)
      if (retry == retries_.size() || retries_[i] < retries_[retry]) retry = i;
    if (retry < retries_.size() && (next == running_.size() || retries_[retry] <= running_[next].finish_ms)) {
      now_ = retries_[retry];
      retries_.erase(retries_.begin() + std::ptrdiff_t(retry));
      queue_.push_back(now_);
      return true;
    }
    if (next == running_.size()) return false;
    const Running done = running_[next];
    running_.erase(running_.begin() + std::ptrdiff_t(next));
    now_ = done.finish_ms;
    --snapshot_[done.device].in_flight;
    stats_[done.device].record(done.device_ms, at(now_));
    stats_[done.device].fill(snapshot_[done.device], at(now_));
    policy_.on_complete(snapshot_, {0, done.device, done.device_ms, true});
    const auto& s = snapshot_[done.device];
    records_.push_back({done.device, done.device_ms, now_ - done.enqueued_ms, now_, done.reason, s.p50_latency_ms,
                        s.p99_latency_ms, s.ewma_latency_ms});
    queue_.push_back(now_);
    return true;
  }

  std::vector<SimDevice> devices_;
  Policy& policy_;
  std::vector<scheduler::LiveStats> stats_;
  std::vector<DeviceStats> snapshot_;
  std::vector<std::uint64_t> runs_;
  std::deque<double> queue_;  // enqueue times (ms)
  std::vector<Running> running_;
  std::vector<double> retries_;
  std::vector<SimRecord> records_;
  std::vector<std::string> rejected_;
  double now_ = 0;
  std::uint64_t ids_ = 0, order_ = 0;
  bool failed_ = false;
};

SimDevice fixed(unsigned slots, double ms) {
  return {slots, [ms](std::uint64_t) { return ms; }};
}

// Each device's share of the completions finishing in (from_ms, to_ms].
std::vector<double> shares(const std::vector<SimRecord>& records, std::size_t devices, double from_ms, double to_ms) {
  std::vector<double> count(devices, 0);
  double total = 0;
  for (const auto& r : records)
    if (r.finish_ms > from_ms && r.finish_ms <= to_ms) ++count[r.device], ++total;
  for (auto& c : count) c = total > 0 ? c / total : 0;
  return count;
}

// Shares proportional to capacity (slots / latency).
std::vector<double> rate_shares(const std::vector<std::pair<unsigned, double>>& slots_and_ms) {
  std::vector<double> out;
  double total = 0;
  for (const auto& [slots, ms] : slots_and_ms) total += slots / ms;
  for (const auto& [slots, ms] : slots_and_ms) out.push_back(slots / ms / total);
  return out;
}

void expect_within_10_percent(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 0.1 * expected[i]) << "device " << i;
}

// Index of the first record matching `pred`, or records.size().
template <class Pred>
std::size_t find_record(const std::vector<SimRecord>& records, Pred pred, std::size_t from = 0) {
  for (std::size_t i = from; i < records.size(); ++i)
    if (pred(records[i])) return i;
  return records.size();
}

// Enough clients that the queue stays deep: 3 x the slots of the fleet below.
constexpr unsigned kDeepQueueClients = 12;

TEST(PoliciesSimulation, ThroughputSplitFollowsDeviceRates) {
  auto p = policy("throughput");
  VirtualFleet fleet({fixed(1, 10), fixed(1, 20), fixed(2, 25)}, *p, kDeepQueueClients);
  fleet.run(1500);
  const double end = fleet.records().back().finish_ms;
  expect_within_10_percent(shares(fleet.records(), 3, 1000, end), rate_shares({{1, 10}, {1, 20}, {2, 25}}));
}

TEST(PoliciesSimulation, SingleSpikeMovesSplitUnder10PercentAndIsForgottenWithin20Completions) {
  auto p = policy("throughput");
  // Device 0's 150th run takes 100x as long.
  SimDevice spiky{1, [](std::uint64_t run) { return run == 150 ? 1000.0 : 10.0; }};
  VirtualFleet fleet({spiky, fixed(1, 20), fixed(2, 25)}, *p, kDeepQueueClients);
  fleet.run(2000);
  const auto& records = fleet.records();
  const auto spike = find_record(records, [](const SimRecord& r) { return r.device_ms == 1000; });
  ASSERT_LT(spike, records.size());
  const double spike_end = records[spike].finish_ms, spike_start = spike_end - 1000;
  // While it runs, device 0 is occupied (physics, not policy); compare the
  // split before it started with the split after it ended.
  const auto before = shares(records, 3, spike_start - 2000, spike_start);
  const auto after = shares(records, 3, spike_end, spike_end + 2000);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(after[i], before[i], 0.1 * before[i]) << "device " << i;
  // What policies see: the median never moved; p99 and the EWMA are back
  // within 20 completions on that device.
  std::size_t on_device = 0;
  for (std::size_t i = spike; i < records.size() && on_device <= 20; ++i) {
    if (records[i].device != 0) continue;
    EXPECT_EQ(records[i].p50_ms, 10) << "completion " << on_device << " after the spike";
    if (on_device++ < 20) continue;
    EXPECT_EQ(records[i].p99_ms, 10);
    EXPECT_NEAR(records[i].ewma_ms, 10, 1);
  }
  EXPECT_GT(on_device, 20u);
}

TEST(PoliciesSimulation, LatencyKeepsFastestDeviceThroughASingleSpike) {
  auto p = policy("latency");
  SimDevice spiky{1, [](std::uint64_t run) { return run == 100 ? 1000.0 : 10.0; }};
  VirtualFleet fleet({spiky, fixed(1, 30)}, *p, 2);
  fleet.run(400);
  const auto& records = fleet.records();
  const auto spike = find_record(records, [](const SimRecord& r) { return r.device_ms == 1000; });
  ASSERT_LT(spike, records.size());
  const double spike_end = records[spike].finish_ms;
  // Device 1 (30 ms) never beats waiting ~20 ms for device 0 once explored.
  EXPECT_EQ(shares(records, 2, 200, spike_end - 1000)[0], 1.0);
  EXPECT_EQ(shares(records, 2, spike_end, records.back().finish_ms)[0], 1.0);
}

TEST(PoliciesSimulation, ThroughputShareReconvergesWithin50CompletionsAfterSlowdown) {
  auto p = policy("throughput");
  // Device 0 slows down 4x from its 300th run.
  SimDevice slowing{1, [](std::uint64_t run) { return run < 300 ? 10.0 : 40.0; }};
  VirtualFleet fleet({slowing, fixed(1, 20), fixed(2, 25)}, *p, kDeepQueueClients);
  fleet.run(2500);
  const auto& records = fleet.records();
  const auto first_slow = find_record(records, [](const SimRecord& r) { return r.device_ms == 40; });
  ASSERT_LT(first_slow, records.size());
  expect_within_10_percent(shares(records, 3, 1000, records[first_slow].finish_ms - 40),
                           rate_shares({{1, 10}, {1, 20}, {2, 25}}));
  // The policy sees the new latency well within 50 completions on the device...
  std::size_t slow_completions = 0, fiftieth = first_slow;
  for (std::size_t i = first_slow; i < records.size() && slow_completions < 50; ++i)
    if (records[i].device == 0) ++slow_completions, fiftieth = i;
  ASSERT_EQ(slow_completions, 50u);
  EXPECT_EQ(records[fiftieth].p50_ms, 40);
  // ...and from its 50th slow completion on the split follows the new rates.
  const double from = records[fiftieth].finish_ms;
  expect_within_10_percent(shares(records, 3, from, from + 3000), rate_shares({{1, 40}, {1, 20}, {2, 25}}));
}

TEST(PoliciesSimulation, SloKeepsEveryRequestWithinAFeasibleBudgetOnAMixedFleet) {
  PolicyConfig config;
  config.latency_budget_ms = 100;
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  // Fast, mid (two slots) and a slow device whose 150 ms never fits.
  VirtualFleet fleet({fixed(1, 10), fixed(2, 30), fixed(1, 150)}, *p, 8);
  fleet.run(2000);
  EXPECT_TRUE(fleet.rejected().empty());
  std::size_t exploring = 0;
  std::vector<std::size_t> per_device(3, 0);
  for (const auto& r : fleet.records()) {
    if (r.reason == "exploring") {
      ++exploring;  // the slow device's first run overshoots: that is how it is found out
      continue;
    }
    ++per_device[r.device];
    EXPECT_LE(r.latency_ms, config.latency_budget_ms) << r.reason << " on device " << r.device;
  }
  EXPECT_LE(exploring, 3u * 3u);
  EXPECT_EQ(per_device[2], 0u);
  // Throughput: both fitting devices serve, in proportion to their rates.
  const double end = fleet.records().back().finish_ms;
  const auto split = shares(fleet.records(), 3, 2000, end);
  expect_within_10_percent({split[0], split[1]}, rate_shares({{1, 10}, {2, 30}}));
}

TEST(PoliciesSimulation, SloShedsOverloadByRejectingAndEveryRequestItRunsMeetsTheBudget) {
  PolicyConfig config;
  config.latency_budget_ms = 50;  // 8 clients queue ~30 ms before a slot: not all of them can make it
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  VirtualFleet fleet({fixed(1, 10), fixed(2, 30), fixed(1, 150)}, *p, 8);
  fleet.run(3000);
  EXPECT_FALSE(fleet.rejected().empty());
  std::vector<std::size_t> per_device(3, 0);
  for (const auto& r : fleet.records()) {
    if (r.reason == "exploring") continue;
    ++per_device[r.device];
    EXPECT_LE(r.latency_ms, config.latency_budget_ms) << r.reason << " on device " << r.device;
  }
  EXPECT_GT(per_device[0], 0u);
  EXPECT_GT(per_device[1], 0u);
  EXPECT_EQ(per_device[2], 0u);
}

TEST(PoliciesSimulation, SloRejectsWhenTheBudgetIsInfeasibleAndOtherwiseServesBestEffort) {
  PolicyConfig config;
  config.latency_budget_ms = 5;  // below every device's latency
  config.reject_over_budget = true;
  auto p = policy("slo", config);
  VirtualFleet fleet({fixed(1, 10), fixed(2, 30)}, *p, 4);
  fleet.run(300);
  EXPECT_GE(fleet.rejected().size(), 290u);
  for (const auto& reason : fleet.rejected()) EXPECT_EQ(reason, "no device can meet the latency budget");
  for (const auto& r : fleet.records()) EXPECT_EQ(r.reason, "exploring");

  config.reject_over_budget = false;
  auto lenient = policy("slo", config);
  VirtualFleet served({fixed(1, 10), fixed(2, 30)}, *lenient, 4);
  served.run(300);
  EXPECT_TRUE(served.rejected().empty());
  EXPECT_EQ(served.records().size(), 300u);
}

}  // namespace
}  // namespace autosched
