#pragma once
// autosched-simulate's engine: the scheduler's decisions on a virtual clock.
//
// A discrete-event simulation (one binary heap of arrival, finish and probe
// events) of requests flowing through a queue to a fleet of SIM devices. It
// runs the REAL policy objects (autosched::make_policy) on DeviceStats
// snapshots filled by the REAL live statistics (scheduler::LiveStats) and the
// SIM devices' own latency and fault model (sim::SimProfile), so a policy
// behaves here as it would in AUTO / MULTI, at scales this machine does not
// have. What the simulation keeps simple is documented in tools/README.md.
//
// Deterministic: the same config gives the same result, bit for bit (no wall
// clock, no threads). Not thread-safe; one simulation per call.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tools/simulation_config.hpp"

namespace autosched::tools {

struct DeviceResult {
  std::string name;          // "SIM.fast_gpu#3"
  std::string profile;       // "fast_gpu"
  std::string device_class;  // "discrete_gpu", ...
  unsigned slots = 0;
  double mean_latency_ms = 0;  // modelled, without slowdowns (the oracle's figure)
  double oracle_rate_per_s = 0;
  std::uint64_t completed = 0;     // attempts that succeeded (= requests it completed)
  std::uint64_t failed = 0;        // attempts that failed (injected failure, hang, disappearance)
  std::uint64_t quarantines = 0;   // times it was quarantined
  double utilisation = 0;          // busy slot time / (slots × duration)
  std::vector<std::uint64_t> timeline;  // completions per time bucket
};

struct SimulationResult {
  std::string policy;  // the policy object's name()
  std::uint64_t requests = 0;   // issued
  std::uint64_t completed = 0;
  std::uint64_t rejected = 0;   // the policy answered reject (admission control)
  std::uint64_t failed = 0;     // failed on every device of the fleet
  std::uint64_t stranded = 0;   // still queued when nothing was left to happen (the policy kept waiting)
  std::uint64_t retries = 0;    // attempts after a failure
  std::uint64_t decisions = 0;  // calls of choose()
  std::uint64_t waits = 0;      // ... that answered wait
  std::uint64_t invalid_decisions = 0;  // ... that picked a device that could not take the request (treated as wait)
  double duration_s = 0;        // virtual time from the first arrival (0) to the last event
  double throughput_per_s = 0;  // completed / duration
  double oracle_per_s = 0;      // Σ device rates (slots / mean latency)
  double oracle_pct = 0;        // throughput as % of the oracle
  // End-to-end latency of completed requests (arrival to completion: queueing and retries included), ms.
  double latency_mean_ms = 0, latency_p50_ms = 0, latency_p90_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
  double latency_budget_ms = 0;  // 0: none given
  std::uint64_t within_budget = 0;
  double slo_attainment = 0;     // within_budget / requests (rejected and failed count as misses)
  double bucket_s = 0;           // width of one timeline bucket
  std::vector<DeviceResult> devices;
};

// Called now and then with the requests finished so far (completed, rejected or failed) and the total.
using SimulationProgress = std::function<void(std::uint64_t finished, std::uint64_t total)>;

// Runs one simulation. Throws what make_policy throws for a bad policy name
// or library (Error(invalid_argument)), and Error(invalid_argument) for an
// empty fleet or zero requests.
SimulationResult simulate(const SimulationConfig& config, const SimulationProgress& progress = {});

}  // namespace autosched::tools
