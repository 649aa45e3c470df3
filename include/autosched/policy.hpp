#pragma once
// Scheduling policies of AUTO / MULTI: which device runs the next request.
//
// The scheduler (mechanism) keeps live statistics per device and a queue of
// pending requests; when a request arrives or a slot frees it builds a
// read-only snapshot of every candidate device and asks the policy. The
// policy answers with a device index, "wait" (the request stays queued until
// something changes), or "reject" (admission control: the request fails with
// ErrorCode::deadline_exceeded). Policies never see the mutable structures.
//
// Contract for implementations:
//  * choose() is called from scheduler threads, one call at a time per policy
//    object (the scheduler serialises calls), so a policy may keep state
//    without locking. It must be cheap (no allocation on the common path
//    where avoidable), must not block, sleep, throw, or call back into
//    autosched.
//  * It may only pick a device with `eligible && free_slots() > 0`; any other
//    answer is treated as "wait".
//  * on_complete() is called after each attempt ends, under the same
//    serialisation; the same rules apply.
//
// Built-in policies (by name): device_priority, round_robin, latency,
// throughput, slo. The `schedule_policy` property selects one by name or
// loads a shared library by path (see AUTOSCHED_POLICY_PLUGIN below).
// Std-only header.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace autosched {

// Bumped whenever DeviceStats, PendingRequest, Decision, PolicyConfig or
// Policy change layout or meaning. Shared-library policies built against
// another version are refused.
inline constexpr std::uint32_t kPolicyApiVersion = 1;

enum class DeviceHealth {
  healthy,      // takes requests
  quarantined,  // failed recently; offered (eligible) only for a probe after its back-off or as a last resort
  draining,     // takes no new requests (hand-over / consolidation); offered only to re-routed requests
  compiling,    // not ready yet
  unavailable,  // compile failed, released or gone
};
const char* to_string(DeviceHealth health) noexcept;

// One device as a policy sees it at decision time. Latency figures are the
// time on the device per request, in milliseconds, 0 before any sample.
struct DeviceStats {
  std::string name;            // "CPU", "SIM.fast_gpu", ...
  std::string device_class;    // "discrete_gpu", "integrated_gpu", "accelerator", "cpu", "reference"
  // Runs on the host's CPU cores (CPU, an OpenCL CPU device such as PoCL,
  // REF): devices with this flag compete for the same cores.
  bool shares_host_cpu = false;
  std::size_t priority = 0;    // position in the candidate order (0 = highest)
  unsigned slots = 0;          // requests it can run at once
  unsigned in_flight = 0;      // requests running on it now
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t samples = 0;   // completions in the latency statistics (warm-up runs excluded)
  double ewma_latency_ms = 0;  // exponentially weighted, with outliers clipped
  double p50_latency_ms = 0;   // over a sliding window of the latest samples
  double p90_latency_ms = 0;
  double p99_latency_ms = 0;
  double completions_per_s = 0;  // over a sliding time window
  unsigned batch_size = 1;       // requests per device run
  DeviceHealth health = DeviceHealth::healthy;
  // May take this request now: compiled, accepting, healthy (or due a
  // probe), and not already tried by this request.
  bool eligible = false;

  unsigned free_slots() const { return in_flight < slots ? slots - in_flight : 0; }
  // Median latency when measured, else the average, else 0.
  double typical_latency_ms() const { return p50_latency_ms > 0 ? p50_latency_ms : ewma_latency_ms; }
};

// The request being placed.
struct PendingRequest {
  using Clock = std::chrono::steady_clock;
  std::uint64_t id = 0;
  unsigned attempt = 1;              // 2, 3, ... after failures on other devices
  int priority = 1;                  // 0 = HIGH, 1 = MEDIUM, 2 = LOW (model_priority)
  Clock::time_point enqueued{};      // when it entered the scheduler
  Clock::time_point deadline = Clock::time_point::max();  // max(): none
  Clock::time_point now{};           // the decision time (virtual in the simulator)
  std::size_t queued = 0;            // requests waiting in the queue, this one included
  double model_gflops = 0;           // the model's work per inference
  std::size_t input_bytes = 0;
};

struct Decision {
  enum class Kind { run, wait, reject };
  Kind kind = Kind::wait;
  std::size_t device = 0;          // with run: an index into the snapshot
  double predicted_latency_ms = 0; // the policy's expectation (decision trace), 0 if none
  const char* reason = "";         // short, static text for the decision trace

  static Decision run(std::size_t device, double predicted_ms, const char* why) {
    return {Kind::run, device, predicted_ms, why};
  }
  static Decision wait(const char* why) { return {Kind::wait, 0, 0, why}; }
  static Decision reject(const char* why) { return {Kind::reject, 0, 0, why}; }
};

// What an attempt's end looks like to on_complete().
struct Completion {
  std::uint64_t request = 0;
  std::size_t device = 0;  // index in the snapshot order
  double latency_ms = 0;
  bool ok = true;
};

// Settings a policy receives when created (from the compiled model's properties).
struct PolicyConfig {
  std::string hint = "LATENCY";      // LATENCY / THROUGHPUT / CUMULATIVE_THROUGHPUT
  double latency_budget_ms = 0;      // slo: p99 target (0 = none)
  bool reject_over_budget = false;   // slo: reject (deadline_exceeded) instead of waiting
  unsigned exploration_samples = 3;  // runs measured per device before trusting its figures
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  virtual Decision choose(std::span<const DeviceStats> devices, const PendingRequest& request) = 0;
  virtual void on_complete(std::span<const DeviceStats> devices, const Completion& completion) {
    (void)devices;
    (void)completion;
  }
};

using PolicyFactory = std::function<std::unique_ptr<Policy>(const PolicyConfig&)>;

// Registers a policy under `name` for this process (replaces one of the same
// name). Thread-safe. Throws Error(invalid_argument) on an empty name or one
// containing '/' (reserved for shared-library paths).
void register_policy(const std::string& name, PolicyFactory factory);
// Names of the registered policies, sorted (built-ins included).
std::vector<std::string> policy_names();
// A policy by registered name, or loaded from a shared library when
// `name_or_path` contains '/' or ends in ".so". Throws Error(invalid_argument)
// naming the bad name and listing the valid ones, or naming the library and
// what is wrong with it (cannot be opened, no entry point, API mismatch).
std::unique_ptr<Policy> make_policy(const std::string& name_or_path, const PolicyConfig& config = {});

}  // namespace autosched

// ---- Shared-library policies ----
// A library exports one C function, AUTOSCHED_POLICY_PLUGIN_SYMBOL, returning
// a pointer to a static descriptor. autosched checks `api_version` and
// `abi_tag` (the layout of the types above as the library saw them) and
// refuses a mismatch; the library must be built with the same C++ standard
// library as autosched. Define it with AUTOSCHED_DEFINE_POLICY_PLUGIN.
extern "C" {
struct AutoschedPolicyPlugin {
  std::uint32_t api_version;  // kPolicyApiVersion when built
  std::uint64_t abi_tag;      // autosched_policy_abi_tag() when built
  const char* name;           // the policy's name
  // Creates a policy (ownership passes to the caller, who deletes it through destroy).
  autosched::Policy* (*create)(const autosched::PolicyConfig* config);
  void (*destroy)(autosched::Policy* policy);
};
}
#define AUTOSCHED_POLICY_PLUGIN_SYMBOL "autosched_policy_plugin"

namespace autosched {
// Sizes of the interface types folded into one number: differs when a
// library was built against headers with another layout.
constexpr std::uint64_t autosched_policy_abi_tag() {
  return (std::uint64_t(sizeof(DeviceStats)) << 48) ^ (std::uint64_t(sizeof(PendingRequest)) << 32) ^
         (std::uint64_t(sizeof(Decision)) << 24) ^ (std::uint64_t(sizeof(PolicyConfig)) << 12) ^
         std::uint64_t(sizeof(Completion)) ^ (std::uint64_t(kPolicyApiVersion) << 60);
}
}  // namespace autosched

// In one .cpp of the library: AUTOSCHED_DEFINE_POLICY_PLUGIN(MyPolicy, "my_policy")
// where MyPolicy has a constructor taking const autosched::PolicyConfig&.
#define AUTOSCHED_DEFINE_POLICY_PLUGIN(PolicyType, policy_name)                                        \
  extern "C" __attribute__((visibility("default"))) const AutoschedPolicyPlugin* autosched_policy_plugin() { \
    static const AutoschedPolicyPlugin plugin{                                                          \
        autosched::kPolicyApiVersion, autosched::autosched_policy_abi_tag(), policy_name,             \
        [](const autosched::PolicyConfig* config) -> autosched::Policy* {                               \
          return new PolicyType(config ? *config : autosched::PolicyConfig{});                          \
        },                                                                                              \
        [](autosched::Policy* policy) { delete policy; }};                                              \
    return &plugin;                                                                                     \
  }
