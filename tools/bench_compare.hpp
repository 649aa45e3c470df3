#pragma once
// `--compare a.json b.json`: two autosched-bench reports side by side — the
// machine and configuration of each, then every metric with the ratio b/a
// and which run is better (by more than 2 %).
#include <ostream>

#include <nlohmann/json.hpp>

namespace autosched::tools {

// Both reports must satisfy report_schema_error() (the caller checks).
void print_comparison(const nlohmann::json& a, const nlohmann::json& b, const std::string& name_a,
                      const std::string& name_b, std::ostream& out);

}  // namespace autosched::tools
