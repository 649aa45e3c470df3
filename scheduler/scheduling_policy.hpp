#pragma once
// Which device gets the next request: the policy half of the scheduler.
// The mechanism (DeviceSet: slots, health, compiled models) builds a
// read-only snapshot of every device and asks the policy; the policy never
// sees the mutable structures. Issue 8's policy engine (policies/) plugs in
// here through make_scheduling_policy.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"

namespace autosched::scheduler {

// One device as the policy sees it at decision time.
struct DeviceSnapshot {
  std::string name;
  plugin::DeviceClass device_class = plugin::DeviceClass::cpu;
  std::size_t priority = 0;    // position in the candidate order (0 = highest)
  unsigned slots = 0;          // requests it can run at once
  unsigned in_flight = 0;      // requests running on it now
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t samples = 0;   // completions counted in the latency average (first one is warm-up)
  double ewma_latency_ms = 0;  // exponentially weighted average; 0 before any sample
  double median_latency_ms = 0;  // median of the latest samples (robust to one-off stalls)
  bool quarantined = false;    // true only when offered as a probe or a last resort
  // May take this request now: compiled, accepting, healthy (or due a probe),
  // and not already tried by this request.
  bool eligible = false;

  unsigned free_slots() const { return in_flight < slots ? slots - in_flight : 0; }
};

// The request being placed.
struct RequestSnapshot {
  std::uint64_t id = 0;
  unsigned attempt = 1;  // 2, 3, ... after failures on other devices
};

// Contract: called from scheduler threads under the device set's lock, so it
// must be cheap and must not block or call back into the scheduler. It may
// keep its own state (it is called by one thread at a time).
class SchedulingPolicy {
 public:
  virtual ~SchedulingPolicy() = default;
  virtual std::string name() const = 0;
  // An index into `devices` of an eligible device with a free slot, or
  // nullopt to make the request wait until a slot frees or a device changes.
  virtual std::optional<std::size_t> choose(std::span<const DeviceSnapshot> devices,
                                            const RequestSnapshot& request) = 0;
};

// First eligible device with a free slot, in priority order ("device_priority").
std::unique_ptr<SchedulingPolicy> make_device_priority_policy();
// LATENCY: gives each eligible device `samples_per_device` measured runs
// (preferring the device with the fewest), then the lowest median latency
// with a free slot; waits for it rather than using a slower device ("latency").
std::unique_ptr<SchedulingPolicy> make_measured_latency_policy(unsigned samples_per_device);

// A policy by name: "device_priority", "latency". Throws
// Error(invalid_argument) naming the bad name and the valid ones.
std::unique_ptr<SchedulingPolicy> make_scheduling_policy(const std::string& name);
std::vector<std::string> scheduling_policy_names();

}  // namespace autosched::scheduler
