#pragma once
// What autosched-simulate runs: a fleet of SIM devices, an arrival process,
// the model's work per request and the policy. Plain data plus the parsers of
// the command-line forms; every parser throws Error(invalid_argument) (or
// Error(not_found / io) for a model file) naming the bad item and what is
// valid, so the tool can exit with code 2.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autosched/policy.hpp"
#include "devices/sim/sim_profile.hpp"

namespace autosched::tools {

// At most this many devices in a fleet (a request's tried devices are one 64-bit mask).
inline constexpr std::size_t kMaxFleetDevices = 64;

// One simulated device. `profile.seed` is already this instance's seed:
// instance 0 of a profile with run seed 0 keeps the profile's own seed (the
// same jitter and fault sequence as the real SIM device); other instances and
// run seeds get their own streams, so eight fast_gpu are not in lock-step.
struct FleetDevice {
  std::string name;  // "SIM.fast_gpu", or "SIM.fast_gpu#3" when the profile appears more than once
  sim::SimProfile profile;
};

// "SIM.fast_gpu*8,SIM.cpu_like*2" (the "SIM." prefix is optional; "*N"
// defaults to 1) against the known profiles (builtins plus --profiles files).
std::vector<FleetDevice> parse_fleet(const std::string& spec, const std::vector<sim::SimProfile>& profiles,
                                     std::uint64_t run_seed);
// "SIM.cpu_like, SIM.fast_gpu, ...": the names a fleet may use.
std::string valid_device_names(const std::vector<sim::SimProfile>& profiles);

struct ArrivalProcess {
  enum class Kind { closed, poisson };
  Kind kind = Kind::closed;
  // closed: this many clients, each issuing its next request as soon as the
  // previous one ends (completed, rejected or failed); 0 = twice the fleet's slots.
  unsigned clients = 0;
  double rate_per_s = 0;  // poisson: mean arrivals per second of virtual time
  double oracle_percent = 0;  // poisson:N%: the rate is N % of the fleet's oracle (resolve_rate sets rate_per_s)
  std::string to_string() const;  // "closed:64", "poisson:20000"
};
// "closed", "closed:CLIENTS", "poisson:RATE_PER_S" or "poisson:N%" (of the oracle).
ArrivalProcess parse_arrivals(const std::string& spec);

// The work of one request.
struct Workload {
  std::string model;          // "builtin:resnet50", an ONNX path, or "" when given as --gflops
  double gflop_per_item = 0;  // the model's GFLOP / its batch (as the SIM device computes it)
  std::uint64_t batch = 1;    // dimension 0 of the first input when rank >= 2 (sim::batch_of)
  std::size_t input_bytes = 0;
};
// From a model ("builtin:<name>" or an ONNX file) or a plain GFLOP figure (batch 1).
Workload load_workload(const std::optional<std::string>& model, const std::optional<double>& gflops);

struct SimulationConfig {
  std::vector<FleetDevice> fleet;
  std::string policy;         // a registered name or a policy library path (make_policy)
  PolicyConfig policy_config;
  std::uint64_t requests = 1'000'000;
  ArrivalProcess arrivals;
  Workload workload;
  std::uint64_t seed = 0;     // arrivals; also varies the devices' streams (FleetDevice)
  unsigned buckets = 10;      // time buckets of the per-device share over time
  // Scheduler mechanics mirrored from the real device set (scheduler/device_set.hpp).
  double initial_backoff_ms = 100;  // quarantine after a failure; doubled per failed probe
  double max_backoff_ms = 5000;
};

// The oracle's view of one device: slots / mean latency (no slowdowns, no failures).
double device_rate_per_s(const FleetDevice& device, const Workload& workload);
double oracle_rate_per_s(const std::vector<FleetDevice>& fleet, const Workload& workload);
// Sets arrivals.rate_per_s from arrivals.oracle_percent (when given) and the
// fleet's oracle; Error(invalid_argument) when the oracle is 0 (zero latency).
void resolve_rate(SimulationConfig& config);

}  // namespace autosched::tools
