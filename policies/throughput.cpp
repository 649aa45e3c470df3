// "throughput": work-conserving; a free slot pulls the next request, so each
// device's share follows its measured rate (slots / typical latency).
//
//  1. Explore: an eligible device with a free slot and fewer than
//     config.exploration_samples samples gets the request (fewest samples
//     first, then priority).
//  2. Otherwise the candidate is the fastest eligible device with a free slot
//     (lowest typical latency, then priority); none free: wait.
//  3. Held back only when waiting is expected to finish sooner. The faster
//     devices (eligible, measured, full, typical latency below the
//     candidate's) drain the queue at their combined rate R = sum(slots /
//     typical). If the candidate stays idle, the `request.queued` waiting
//     requests (this one included, plus any in flight beyond slots) go
//     through them; the last of them is expected to finish after
//       queued / R  +  (sum of their slots) / R
//     (queue wait, then the rate-weighted mean latency of those devices).
//     New requests keep arriving meanwhile, at the rate requests complete
//     now (sum of completions_per_s, a proxy for the arrival rate in steady
//     state), so the faster devices drain the queue only at R - arrivals: when
//     the faster devices alone cannot keep up (R <= arrivals, e.g. a closed
//     loop that saturates them) the queue never drains and the candidate
//     runs the request. Only when the drain time is below the candidate's own
//     latency does the request wait; otherwise it runs on the candidate. A
//     deep queue or sustained load therefore uses every free slot, and a
//     single request under light load does not go to a slow device while a
//     fast one is about to free.
//
//  4. Devices that share the host's CPU cores (DeviceStats::shares_host_cpu:
//     the CPU device, an OpenCL CPU device such as PoCL) do not add capacity
//     to each other: a request on the slower one takes cores from the faster
//     one. Such a device is left out while an eligible host-sharing device
//     with at least twice its measured rate exists (measured on this machine:
//     MULTI:OCL.0,CPU on mobilenetv2 sent 1.7% of the requests to PoCL at
//     ~450 ms each, lowering throughput below the CPU alone, p99 0.9 s).
//
// Capacity comes from slots and typical latency (p50 over a window, robust to
// one-off spikes), not from completions_per_s: the measured rate reflects the
// work a device was given, so a device starved of work would look slow.
#include "policies/throughput_policy.hpp"

#include <algorithm>

#include "policies/estimates.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::policies {

ThroughputPolicy::ThroughputPolicy(const PolicyConfig& config) : samples_needed_(samples_needed(config)) {}

namespace {
// Requests per ms a device sustains with every slot busy.
double rate_per_ms(const DeviceStats& d) { return double(d.slots) / std::max(d.typical_latency_ms(), kMinLatencyMs); }
// A host-sharing device at under this fraction of the fastest host-sharing device's rate is left out.
constexpr double kHostShareFloor = 0.5;
}  // namespace

Decision ThroughputPolicy::choose(std::span<const DeviceStats> devices, const PendingRequest& request) {
  if (const auto i = exploration_candidate(devices, samples_needed_); i != kNoDevice)
    return Decision::run(i, devices[i].typical_latency_ms(), "exploring");

  double best_host_rate = 0;
  for (const auto& d : devices)
    if (d.eligible && d.shares_host_cpu && is_measured(d)) best_host_rate = std::max(best_host_rate, rate_per_ms(d));

  std::size_t best = kNoDevice;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    if (!d.eligible || d.free_slots() == 0) continue;
    if (d.shares_host_cpu && is_measured(d) && rate_per_ms(d) < kHostShareFloor * best_host_rate) continue;
    if (best == kNoDevice || d.typical_latency_ms() < devices[best].typical_latency_ms() ||
        (d.typical_latency_ms() == devices[best].typical_latency_ms() && d.priority < devices[best].priority))
      best = i;
  }
  if (best == kNoDevice) return Decision::wait(nothing_free_reason(devices));
  const double candidate_ms = devices[best].typical_latency_ms();

  double faster_rate_per_ms = 0;  // combined rate of the faster, full devices
  double faster_slots = 0;
  double backlog = double(std::max<std::size_t>(request.queued, 1));
  double arrivals_per_ms = 0;
  for (const auto& d : devices) arrivals_per_ms += d.completions_per_s / 1000.0;
  for (const auto& d : devices) {
    if (!d.eligible || !is_measured(d) || d.slots == 0 || d.free_slots() > 0) continue;
    if (d.typical_latency_ms() >= candidate_ms) continue;
    faster_rate_per_ms += rate_per_ms(d);
    faster_slots += double(d.slots);
    backlog += double(d.in_flight - d.slots);
  }
  const double drain_per_ms = faster_rate_per_ms - arrivals_per_ms;
  if (faster_rate_per_ms > 0 && drain_per_ms > 0 && (backlog + faster_slots) / drain_per_ms < candidate_ms)
    return Decision::wait("waiting for faster device");
  return Decision::run(best, candidate_ms, "fastest free");
}

AUTOSCHED_REGISTER_POLICY("throughput", [](const PolicyConfig& config) -> std::unique_ptr<Policy> {
  return std::make_unique<ThroughputPolicy>(config);
});

}  // namespace autosched::policies
