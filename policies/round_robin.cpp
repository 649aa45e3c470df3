// "round_robin": cycles through the eligible devices with a free slot,
// starting after the device it picked last; when every eligible device is
// full, wait. The remembered position is an index into the snapshot, so when
// the device set changes the cycle simply continues from that position.
#include "policies/estimates.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::policies {
namespace {

class RoundRobinPolicy final : public Policy {
 public:
  std::string name() const override { return "round_robin"; }

  Decision choose(std::span<const DeviceStats> devices, const PendingRequest&) override {
    const std::size_t n = devices.size();
    for (std::size_t step = 1; step <= n; ++step) {
      const std::size_t i = (last_ + step) % n;
      const auto& d = devices[i];
      if (!d.eligible || d.free_slots() == 0) continue;
      last_ = i;
      return Decision::run(i, d.typical_latency_ms(), "next in turn");
    }
    return Decision::wait(nothing_free_reason(devices));
  }

 private:
  // Index picked last. Starts at SIZE_MAX so that last_ + 1 wraps to 0 and
  // the first pick is device 0; may exceed the size of a shrunken set (modulo).
  std::size_t last_ = static_cast<std::size_t>(-1);
};

}  // namespace

AUTOSCHED_REGISTER_POLICY("round_robin",
                          [](const PolicyConfig&) -> std::unique_ptr<Policy> {
                            return std::make_unique<RoundRobinPolicy>();
                          });

}  // namespace autosched::policies
