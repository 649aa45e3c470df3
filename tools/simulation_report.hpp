#pragma once
// autosched-simulate's outputs: the text report of one run, the markdown
// table comparing policies, and the JSON document (schema
// "autosched-simulate/1"; tools/README.md lists its keys). Everything printed
// or written comes from the virtual clock, so equal runs give equal output;
// the wall time is printed by the tool, never stored in the JSON.
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/simulation_config.hpp"
#include "tools/simulator.hpp"

namespace autosched::tools {

// How the run was asked for, as the user spelled it (for the report's header and JSON).
struct SimulationRequest {
  std::string fleet;     // the --fleet text
  std::string profiles;  // the --profiles text ("" when none)
  std::string hint;      // LATENCY / THROUGHPUT / CUMULATIVE_THROUGHPUT
};

// Summary, per-device table and per-device share over the time buckets.
void print_result(const SimulationConfig& config, const SimulationResult& result,
                  std::ostream& out);
// One markdown table row per policy: throughput, % of the oracle, p50, p99, SLO attainment, rejected, failed.
void print_comparison(const SimulationConfig& config, const std::vector<SimulationResult>& results,
                      std::ostream& out);
// {"schema": "autosched-simulate/1", "config": {...}, "runs": [one per policy]}.
nlohmann::json simulation_json(const SimulationRequest& request, const SimulationConfig& config,
                               const std::vector<SimulationResult>& results);

}  // namespace autosched::tools
