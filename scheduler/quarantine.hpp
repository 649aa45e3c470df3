#pragma once
// How long a device that just failed stays out before a probe request may
// re-admit it: one rule for the device set and the simulator.
//  * A sporadic failure (the device's recent failure ratio, an EWMA over its
//    outcomes before this one, is at most kSporadicFailureRatio): no
//    back-off. The device is quarantined (the failed request is re-run
//    elsewhere) and the next request probes it at once, so a device failing
//    one run in twenty keeps serving the other nineteen.
//  * Otherwise (failures in a row, a failed probe): `initial`, doubled per
//    failed probe up to `max` (exponential back-off).
#include <algorithm>
#include <chrono>

namespace autosched::scheduler {

inline constexpr double kFailureRatioWeight = 1.0 / 16;  // of the newest outcome
inline constexpr double kSporadicFailureRatio = 0.1;

// The failure ratio after one more outcome.
inline double next_failure_ratio(double ratio, bool failed) {
  return (1 - kFailureRatioWeight) * ratio + kFailureRatioWeight * (failed ? 1.0 : 0.0);
}

// `ratio_before` is the failure ratio before this failure.
inline std::chrono::milliseconds backoff_after_failure(bool already_quarantined, std::chrono::milliseconds previous,
                                                       double ratio_before, std::chrono::milliseconds initial,
                                                       std::chrono::milliseconds max) {
  if (!already_quarantined && ratio_before <= kSporadicFailureRatio) return std::chrono::milliseconds(0);
  if (!already_quarantined || previous.count() == 0) return initial;
  return std::min(previous * 2, max);
}

}  // namespace autosched::scheduler
