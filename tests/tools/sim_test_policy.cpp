// A policy library for the simulator's tests, loaded by path through
// make_policy (the shared-library route): the first eligible device with a
// free slot, in snapshot order. Built-in policies may not exist in every
// build; this one always does.
#include "autosched/policy.hpp"

namespace {

class FirstFreePolicy : public autosched::Policy {
 public:
  explicit FirstFreePolicy(const autosched::PolicyConfig&) {}
  std::string name() const override { return "first_free"; }
  autosched::Decision choose(std::span<const autosched::DeviceStats> devices,
                             const autosched::PendingRequest&) override {
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].eligible && devices[i].free_slots() > 0)
        return autosched::Decision::run(i, devices[i].typical_latency_ms(), "first free slot");
    return autosched::Decision::wait("no free slot");
  }
};

}  // namespace

AUTOSCHED_DEFINE_POLICY_PLUGIN(FirstFreePolicy, "first_free")
