#pragma once
// Per-device configuration of AUTO / MULTI: the `device_properties` property
// gives properties for one candidate only; they override (or add to) the
// properties every candidate gets. Two spellings, same meaning:
//   JSON        {"CPU": {"num_streams": 2, "inference_num_threads": 1}, "OCL.0": {"ocl_compute_units": 1}}
//   brace form  CPU:{num_streams:2,inference_num_threads:1},OCL.0:{ocl_compute_units:1}
// Text whose first non-blank characters are `{"` (or that is `{}`) is JSON;
// anything else is the brace form, optionally wrapped in one pair of braces.
// In the brace form a value runs to the next ',' or '}' (blanks trimmed) unless
// it is double-quoted ("a,b" keeps its comma; \" and \\ escape). JSON values
// may be strings, numbers, booleans or arrays of strings (joined with ',').
// A device is named by its own name or an alias (GPU for OCL.0 on a GPU).
#include <map>
#include <string>
#include <vector>

#include "autosched/properties.hpp"
#include "scheduler/candidate_selection.hpp"

namespace autosched::scheduler {

// Properties that shape AUTO / MULTI themselves (candidates, fallback,
// policy): refused inside a per-device entry, where they could mean nothing.
inline constexpr const char* kNotPerDeviceProperties[] = {"device_priorities", "enable_startup_fallback",
                                                          "enable_runtime_fallback", "schedule_policy",
                                                          "inference_timeout_ms", "device_properties"};

// Device name as written → its properties.
using DeviceEntries = std::map<std::string, Properties>;

// Parses device_properties text and checks every entry's properties
// (validate_properties; AUTO / MULTI's own properties are refused). Throws
// Error(invalid_argument): malformed text with the character position and
// what was expected there, a device or a key given twice, a bad property.
// Knows no devices: names are checked by DeviceConfig. Thread-safe.
DeviceEntries parse_device_properties(const std::string& text);

// What AUTO / MULTI pass to each candidate's compile: the shared properties
// overlaid with the candidate's own entry. Immutable once built.
class DeviceConfig {
 public:
  DeviceConfig() = default;
  // Resolves `entries` to `candidates` by name or alias. Throws
  // Error(invalid_argument) naming an entry that matches no candidate (and
  // listing the candidates), or two entries that name the same device.
  DeviceConfig(Properties shared, const DeviceEntries& entries, const std::vector<Candidate>& candidates,
               const std::string& virtual_name);

  // The properties for the candidate whose own name is `name`.
  Properties for_device(const std::string& name) const;
  // JSON {"<name>": {"<key>": "<value>", ...}, ...} of for_device(name) for
  // each of `names`, in that order; parse_device_properties reads it back.
  std::string effective_json(const std::vector<std::string>& names) const;

 private:
  Properties shared_;
  std::map<std::string, Properties> own_;  // candidate's own name → its entry
};

}  // namespace autosched::scheduler
