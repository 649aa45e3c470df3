// "device_priority": the first eligible device in candidate order (lowest
// `priority`) with a free slot; when every eligible device is full, wait.
// Ignores measurements: the order the user or the class ranking gave is the
// whole policy.
#include "policies/estimates.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::policies {
namespace {

class DevicePriorityPolicy final : public Policy {
 public:
  std::string name() const override { return "device_priority"; }

  Decision choose(std::span<const DeviceStats> devices, const PendingRequest&) override {
    const DeviceStats* best = nullptr;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.free_slots() == 0) continue;
      if (!best || d.priority < best->priority) {
        best = &d;
        best_index = i;
      }
    }
    if (!best) return Decision::wait(nothing_free_reason(devices));
    return Decision::run(best_index, best->typical_latency_ms(), "highest priority free");
  }
};

}  // namespace

AUTOSCHED_REGISTER_POLICY("device_priority",
                          [](const PolicyConfig&) -> std::unique_ptr<Policy> {
                            return std::make_unique<DevicePriorityPolicy>();
                          });

}  // namespace autosched::policies
