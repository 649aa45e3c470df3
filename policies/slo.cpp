// "slo": as much throughput as possible while every request finishes within
// config.latency_budget_ms of entering the scheduler (and by its deadline,
// when it has one; the tighter of the two applies).
//
// remaining = budget - (now - enqueued), or deadline - now if sooner. A
// device fits when its slot wait (policies/estimates.hpp; 0 with a free slot)
// plus its tail latency (p99, or the typical latency while p99 is 0) is
// within `remaining`.
//  1. Run on a fitting device with a free slot and trusted figures (at least
//     config.exploration_samples samples): the lowest tail latency, then the
//     most free slots, then priority. Any fitting free slot is used, so the
//     fleet stays busy (throughput) within the budget.
//  2. Else explore: an eligible device with a free slot and fewer samples,
//     unmeasured or fitting so far (a device whose samples already overshoot
//     is not tried again). An unmeasured device may overshoot on its first
//     runs (one per slot); exploring only when no trusted fitting slot is
//     free keeps that rare.
//  3. Else wait if some device could fit later: a full one whose slot wait
//     + tail fits, or one whose first measurement is still running.
//  4. Else no device can meet it: reject (Decision::reject, the scheduler
//     fails the request with deadline_exceeded) when
//     config.reject_over_budget, otherwise best effort on the fastest free
//     device (a request that cannot meet its budget still completes rather
//     than waiting forever).
// Budget 0 and no deadline: exactly the "throughput" policy.
// predicted_latency_ms is the tail latency the decision rests on.
#include <algorithm>
#include <chrono>
#include <limits>

#include "policies/estimates.hpp"
#include "policies/throughput_policy.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::policies {
namespace {

using Ms = std::chrono::duration<double, std::milli>;

double tail_latency_ms(const DeviceStats& d) {
  return d.p99_latency_ms > 0 ? d.p99_latency_ms : d.typical_latency_ms();
}

class SloPolicy final : public Policy {
 public:
  explicit SloPolicy(const PolicyConfig& config)
      : budget_ms_(config.latency_budget_ms),
        reject_over_budget_(config.reject_over_budget),
        samples_needed_(samples_needed(config)),
        throughput_(config) {}

  std::string name() const override { return "slo"; }

  Decision choose(std::span<const DeviceStats> devices, const PendingRequest& request) override {
    const double remaining_ms = remaining_budget_ms(request);
    if (remaining_ms == std::numeric_limits<double>::infinity()) return throughput_.choose(devices, request);

    // 1. A trusted device that fits now.
    std::size_t best = kNoDevice;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.free_slots() == 0 || d.samples < samples_needed_) continue;
      if (tail_latency_ms(d) > remaining_ms) continue;
      if (best == kNoDevice || preferred(d, devices[best])) best = i;
    }
    if (best != kNoDevice) return Decision::run(best, tail_latency_ms(devices[best]), "within budget");

    // 2. Explore a device that is unmeasured or fits so far.
    const auto explore = exploration_candidate(devices, samples_needed_, [&](const DeviceStats& d) {
      return !is_measured(d) || tail_latency_ms(d) <= remaining_ms;
    });
    if (explore != kNoDevice) return Decision::run(explore, tail_latency_ms(devices[explore]), "exploring");

    // 3. A device that could fit once a slot frees (or once it is measured).
    for (const auto& d : devices) {
      if (!d.eligible || d.slots == 0 || d.free_slots() > 0) continue;
      if (!is_measured(d)) return Decision::wait("waiting for measurements");
      if (slot_wait_ms(d) + tail_latency_ms(d) <= remaining_ms)
        return Decision::wait("waiting for device within budget");
    }

    // 4. Nothing can meet the budget.
    if (reject_over_budget_) return Decision::reject("no device can meet the latency budget");
    std::size_t fastest = kNoDevice;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.free_slots() == 0) continue;
      if (fastest == kNoDevice || d.typical_latency_ms() < devices[fastest].typical_latency_ms()) fastest = i;
    }
    if (fastest == kNoDevice) return Decision::wait(nothing_free_reason(devices));
    return Decision::run(fastest, tail_latency_ms(devices[fastest]), "over budget, fastest free");
  }

 private:
  // Budget left for this request in ms; infinity when it has none.
  double remaining_budget_ms(const PendingRequest& request) const {
    double remaining = std::numeric_limits<double>::infinity();
    if (budget_ms_ > 0) {
      const double waited = std::max(0.0, Ms(request.now - request.enqueued).count());
      remaining = budget_ms_ - waited;
    }
    if (request.deadline != PendingRequest::Clock::time_point::max())
      remaining = std::min(remaining, Ms(request.deadline - request.now).count());
    return remaining;
  }

  // Among fitting free devices: fastest tail, then most spare slots, then priority.
  static bool preferred(const DeviceStats& a, const DeviceStats& b) {
    if (tail_latency_ms(a) != tail_latency_ms(b)) return tail_latency_ms(a) < tail_latency_ms(b);
    if (a.free_slots() != b.free_slots()) return a.free_slots() > b.free_slots();
    return a.priority < b.priority;
  }

  double budget_ms_;
  bool reject_over_budget_;
  std::uint64_t samples_needed_;
  ThroughputPolicy throughput_;
};

}  // namespace

AUTOSCHED_REGISTER_POLICY("slo", [](const PolicyConfig& config) -> std::unique_ptr<Policy> {
  return std::make_unique<SloPolicy>(config);
});

}  // namespace autosched::policies
