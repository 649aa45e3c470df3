#pragma once
// What the measuring policies (latency, throughput, slo) assume about a
// device from its snapshot, in one place so they agree on what "waiting for
// a device" costs and on who gets explored.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "autosched/policy.hpp"

namespace autosched::policies {

inline constexpr std::size_t kNoDevice = std::numeric_limits<std::size_t>::max();

// Divisor floor: a zero-latency device (measured at 0 ms) counts as very
// fast, not infinitely fast.
inline constexpr double kMinLatencyMs = 1e-3;

// Has latency figures (typical_latency_ms() may still be 0 for a zero-latency device).
inline bool is_measured(const DeviceStats& d) { return d.samples > 0; }

// Expected time until a request that queues for `d` now gets one of its
// slots: 0 with a free slot; otherwise (ahead + 1) slot intervals, where a
// device frees one slot per typical latency / slots at steady state and
// `ahead` = requests in flight beyond its slots. The snapshot does not say
// when the running requests started, so this assumes they just did: a little
// pessimistic about waiting, which errs towards running now.
inline double slot_wait_ms(const DeviceStats& d) {
  if (d.free_slots() > 0) return 0;
  if (d.slots == 0) return std::numeric_limits<double>::infinity();
  const unsigned ahead = d.in_flight - d.slots;  // in_flight >= slots here
  return double(ahead + 1) * d.typical_latency_ms() / double(d.slots);
}

// Exploration: the eligible device with a free slot and fewer than
// `samples_needed` samples (fewest samples first, then priority) that
// `accept` agrees to, or kNoDevice. Every candidate gets measured before its
// figures are trusted.
template <class Accept>
std::size_t exploration_candidate(std::span<const DeviceStats> devices, std::uint64_t samples_needed,
                                  Accept accept) {
  std::size_t best = kNoDevice;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    if (!d.eligible || d.free_slots() == 0 || d.samples >= samples_needed || !accept(d)) continue;
    if (best == kNoDevice || d.samples < devices[best].samples ||
        (d.samples == devices[best].samples && d.priority < devices[best].priority))
      best = i;
  }
  return best;
}

inline std::size_t exploration_candidate(std::span<const DeviceStats> devices, std::uint64_t samples_needed) {
  return exploration_candidate(devices, samples_needed, [](const DeviceStats&) { return true; });
}

// Samples a device needs before its figures are trusted (at least one).
inline std::uint64_t samples_needed(const PolicyConfig& config) { return std::max(1u, config.exploration_samples); }

// "no free slot" when some device may take requests, else "no eligible device".
inline const char* nothing_free_reason(std::span<const DeviceStats> devices) {
  for (const auto& d : devices)
    if (d.eligible) return "no free slot";
  return "no eligible device";
}

}  // namespace autosched::policies
