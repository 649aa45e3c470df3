// "latency": each request where it is expected to finish first.
//
//  1. Explore: an eligible device with a free slot and fewer than
//     config.exploration_samples samples gets the request (fewest samples
//     first, then priority), so every candidate is measured.
//  2. Otherwise, over the eligible measured devices, expected completion =
//     slot wait + typical latency, where the slot wait is 0 with a free slot
//     and (ahead + 1) x typical / slots when full (policies/estimates.hpp).
//     The minimum wins (ties: a free device, then priority). If it has a free
//     slot the request runs there; if it is busy, waiting for it is expected
//     to finish sooner than running now on a slower free device, so wait.
//
// With one clearly fastest device the steady state therefore uses only it
// while it has a free slot or frees soon; a slower device takes a request
// only when the fastest is so far behind that it would finish later.
#include <limits>

#include "policies/estimates.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::policies {
namespace {

class LatencyPolicy final : public Policy {
 public:
  explicit LatencyPolicy(const PolicyConfig& config) : samples_needed_(samples_needed(config)) {}

  std::string name() const override { return "latency"; }

  Decision choose(std::span<const DeviceStats> devices, const PendingRequest&) override {
    if (const auto i = exploration_candidate(devices, samples_needed_); i != kNoDevice)
      return Decision::run(i, devices[i].typical_latency_ms(), "exploring");

    std::size_t best = kNoDevice;
    double best_ms = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || !is_measured(d) || d.slots == 0) continue;
      const double expected_ms = slot_wait_ms(d) + d.typical_latency_ms();
      if (best == kNoDevice || expected_ms < best_ms ||
          (expected_ms == best_ms && better_tie(d, devices[best]))) {
        best = i;
        best_ms = expected_ms;
      }
    }
    if (best == kNoDevice) return Decision::wait(nothing_free_reason(devices));
    if (devices[best].free_slots() == 0) return Decision::wait("waiting for faster device");
    return Decision::run(best, best_ms, "fastest expected");
  }

 private:
  // Equal expected completion: running now beats waiting, then priority.
  static bool better_tie(const DeviceStats& a, const DeviceStats& b) {
    const bool a_free = a.free_slots() > 0, b_free = b.free_slots() > 0;
    if (a_free != b_free) return a_free;
    return a.priority < b.priority;
  }

  std::uint64_t samples_needed_;
};

}  // namespace

AUTOSCHED_REGISTER_POLICY("latency", [](const PolicyConfig& config) -> std::unique_ptr<Policy> {
  return std::make_unique<LatencyPolicy>(config);
});

}  // namespace autosched::policies
