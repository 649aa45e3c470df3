#pragma once
// The JSON report of autosched-bench (`--json out.json`): the configuration,
// the effective configuration, timings, latency statistics, per-device share
// and latency, the hand-over moment, a throughput timeline, a latency
// histogram and a hardware fingerprint so that runs from different machines
// can be compared (`--compare`). Schema name: "autosched-bench/1"; the keys
// and types are listed by report_schema_error() and checked by the tests.
#include <string>

#include <nlohmann/json.hpp>

#include "autosched/core.hpp"
#include "tools/bench_result.hpp"

namespace autosched::tools {

inline constexpr const char* kReportSchema = "autosched-bench/1";

// CPU model, cores, ISA flags, memory, OS (from /proc and uname), every
// device the Core found with its full name and class (OpenCL devices with
// platform and driver), library versions. Never throws: unreadable parts are
// left out.
nlohmann::json hardware_fingerprint(const Core& core);

nlohmann::json report_json(const BenchResult& result, const nlohmann::json& fingerprint);

// Writes `value` (pretty-printed); throws Error(io) naming the path.
void write_json_file(const std::string& path, const nlohmann::json& value);
// Reads a JSON file; throws Error(io) naming the path and the parse error.
nlohmann::json read_json_file(const std::string& path);

// Empty when `report` has every required key with the right type, otherwise
// a one-line description of the first problem ("results.throughput_fps: missing").
std::string report_schema_error(const nlohmann::json& report);

}  // namespace autosched::tools
