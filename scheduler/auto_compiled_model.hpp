#pragma once
// The compiled model of AUTO / MULTI: owns the DeviceSet and the startup
// compiles still running in the background. compile() returns as soon as one
// device is ready:
//  * CUMULATIVE_THROUGHPUT (MULTI): every candidate compiles at once; all that
//    succeed run requests side by side; compile() waits for all of them.
//  * LATENCY / THROUGHPUT (AUTO): the target (first candidate) compiles; when
//    it is not a CPU, is not served from the compile cache and
//    enable_startup_fallback is on, the first CPU-class candidate compiles
//    as a helper (concurrently; on machines with under 4 hardware threads
//    first, the target right after) and runs requests until the target is ready
//    (THROUGHPUT: both serve until measured, then the higher measured
//    capacity stays — the target only if it is faster; LATENCY: the measured
//    fastest stays). In
//    this race each device is ready after its compile plus one warm-up
//    inference (first-run JIT costs), when the input shapes are static.
// Destroying it waits for background compiles to end (compiles cannot be
// interrupted).
#include <memory>
#include <thread>
#include <vector>

#include "autosched/plugin/device.hpp"
#include "scheduler/device_config.hpp"
#include "scheduler/device_set.hpp"

namespace autosched::scheduler {

struct AutoConfig {
  std::string virtual_name;  // "AUTO" / "MULTI"
  PerformanceMode mode = PerformanceMode::LATENCY;
  bool startup_fallback = true;
  bool runtime_fallback = true;
  std::string policy;        // schedule_policy; empty = by mode (LATENCY -> latency, else throughput)
  double latency_budget_ms = 0;    // slo policy / per-request deadline
  bool reject_over_budget = false; // slo policy: reject (deadline_exceeded) instead of waiting
  int model_priority = 1;          // 0 HIGH, 1 MEDIUM, 2 LOW
  double inference_timeout_ms = 0;
  DeviceConfig device_properties;  // what each inner compile gets: shared properties + the device's own entry
};

// The policy a config selects (schedule_policy, else by hint); throws
// Error(invalid_argument) for an unknown name or a bad policy library.
std::unique_ptr<Policy> policy_for(const AutoConfig& config);

class AutoCompiledModel : public plugin::ICompiledModel {
 public:
  // Compiles per the config; throws Error listing every device's compile
  // error when no candidate could be compiled.
  AutoCompiledModel(const Model& model, std::vector<Candidate> candidates, AutoConfig config);
  ~AutoCompiledModel() override;

  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override;
  unsigned num_parallel_requests() const override { return workers_; }
  std::string get_property(const std::string& name) const override;
  const Model& model() const override { return model_; }

 private:
  void start_background(std::size_t index);
  void compile_all_at_once();
  void compile_with_helper(std::size_t target, std::size_t helper);
  void compile_in_order();

  Model model_;
  AutoConfig config_;
  std::shared_ptr<DeviceSet> devices_;
  std::vector<std::thread> compiles_;
  unsigned workers_ = 1;
};

}  // namespace autosched::scheduler
