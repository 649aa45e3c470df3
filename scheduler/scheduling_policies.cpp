// The two built-in decisions of the scheduler until the policy engine
// (issue 8) supplies more: first free slot in priority order, and measured
// lowest latency.
#include "autosched/error.hpp"
#include "scheduler/scheduling_policy.hpp"

namespace autosched::scheduler {

namespace {

class DevicePriorityPolicy : public SchedulingPolicy {
 public:
  std::string name() const override { return "device_priority"; }
  std::optional<std::size_t> choose(std::span<const DeviceSnapshot> devices, const RequestSnapshot&) override {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.free_slots() == 0) continue;
      if (!best || d.priority < devices[*best].priority) best = i;
    }
    return best;
  }
};

class MeasuredLatencyPolicy : public SchedulingPolicy {
 public:
  explicit MeasuredLatencyPolicy(unsigned samples) : samples_(samples) {}
  std::string name() const override { return "latency"; }

  std::optional<std::size_t> choose(std::span<const DeviceSnapshot> devices, const RequestSnapshot&) override {
    // Exploration: an eligible device still short of samples gets the request
    // (fewest samples first, then priority) so every candidate is measured.
    std::optional<std::size_t> explore;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.samples >= samples_ || d.free_slots() == 0) continue;
      if (!explore || d.samples < devices[*explore].samples ||
          (d.samples == devices[*explore].samples && d.priority < devices[*explore].priority))
        explore = i;
    }
    if (explore) return explore;
    // Exploitation: the measured fastest eligible device; if it is busy, wait for it.
    std::optional<std::size_t> fastest;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      if (!d.eligible || d.samples < samples_) continue;
      if (!fastest || d.median_latency_ms < devices[*fastest].median_latency_ms) fastest = i;
    }
    if (fastest && devices[*fastest].free_slots() > 0) return fastest;
    return std::nullopt;
  }

 private:
  unsigned samples_;
};

}  // namespace

std::unique_ptr<SchedulingPolicy> make_device_priority_policy() { return std::make_unique<DevicePriorityPolicy>(); }

std::unique_ptr<SchedulingPolicy> make_measured_latency_policy(unsigned samples_per_device) {
  return std::make_unique<MeasuredLatencyPolicy>(samples_per_device == 0 ? 1 : samples_per_device);
}

std::vector<std::string> scheduling_policy_names() { return {"device_priority", "latency"}; }

std::unique_ptr<SchedulingPolicy> make_scheduling_policy(const std::string& name) {
  if (name == "device_priority") return make_device_priority_policy();
  if (name == "latency") return make_measured_latency_policy(3);
  std::string valid;
  for (const auto& n : scheduling_policy_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw Error(ErrorCode::invalid_argument,
              "property 'schedule_policy': unknown policy '" + name + "'; available: " + valid);
}

}  // namespace autosched::scheduler
