// libFuzzer target for the device-string and property parsers. Input: the
// first line is a device string ("AUTO:GPU,-CPU", "CPU(2)"); every further
// line is a "key=value" property. Parsing and validation either succeed or
// throw autosched::Error(invalid_argument); anything else is a bug. A parsed
// device string is re-checked for the invariants the Core relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "autosched/error.hpp"
#include "autosched/properties.hpp"
#include "core/device_string.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto eol = text.find('\n');
  const std::string device(text.substr(0, eol));
  try {
    const auto request = autosched::detail::parse_device_string(device);
    check(!request.name.empty());
    check(request.has_candidate_list || request.candidates.empty());
    for (const auto& c : request.candidates) check(!c.empty());
  } catch (const autosched::Error& e) {
    check(e.code() == autosched::ErrorCode::invalid_argument);
  }

  autosched::Properties props;
  std::size_t start = eol == std::string_view::npos ? text.size() : eol + 1;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(start, end - start);
    const auto eq = line.find('=');
    if (eq != std::string_view::npos) props[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    start = end + 1;
  }
  try {
    autosched::validate_properties(props);
    // Valid values must survive a typed read of the common keys.
    (void)autosched::get_or(props, autosched::hint::num_requests, std::int64_t{0});
    (void)autosched::get_or(props, autosched::enable_runtime_fallback, true);
    (void)autosched::get_or(props, autosched::device_priorities, {});
  } catch (const autosched::Error& e) {
    check(e.code() == autosched::ErrorCode::invalid_argument);
  }
  return 0;
}
