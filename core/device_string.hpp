#pragma once
// Parsing of device strings: "CPU", "CPU(2)", "AUTO", "AUTO:OCL.0,CPU",
// "AUTO:-CPU", "MULTI:SIM.fast_gpu,CPU". Pure syntax; whether names exist is
// checked by the Core against its devices.
#include <string>
#include <vector>

namespace autosched::detail {

struct DeviceRequest {
  std::string name;                     // "CPU", "AUTO", ...
  unsigned request_cap = 0;             // from "(N)"; 0 = none
  std::vector<std::string> candidates;  // after ':' (may hold "-NAME" exclusions and "NAME(N)")
  bool has_candidate_list = false;
};

// Throws Error(invalid_argument) naming the malformed part.
DeviceRequest parse_device_string(const std::string& text);
// Splits "NAME(N)" into name and cap; throws Error(invalid_argument) for a bad cap.
std::pair<std::string, unsigned> split_request_cap(const std::string& text, const std::string& whole);

}  // namespace autosched::detail
