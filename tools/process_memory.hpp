#pragma once
// ProcessMemory: the resident memory of this process as Linux reports it in
// /proc/self/status, for the benchmarks' memory figures. Plain data; reading
// never throws. Without /proc only the peak is known (getrusage's ru_maxrss)
// and reset_peak() returns false.
#include <cstdint>
#include <string>

namespace autosched::tools {

struct ProcessMemory {
  std::uint64_t peak_rss_bytes = 0;  // VmHWM: high-water mark since start or the last reset_peak()
  std::uint64_t rss_bytes = 0;       // VmRSS: resident now
  std::uint64_t rss_anon_bytes = 0;  // RssAnon: heap, stacks, anonymous mappings
  std::uint64_t rss_file_bytes = 0;  // RssFile: mapped files, mostly shared libraries' code

  static ProcessMemory read();
  // Starts a new high-water mark at the current RSS (writes 5 to /proc/self/clear_refs,
  // Linux >= 4.0), so a phase of the run can be measured on its own. False when the
  // kernel refuses: peak_rss_bytes then stays the peak since the process started.
  static bool reset_peak();
};

// Bytes as "123.4 MiB".
std::string format_mib(std::uint64_t bytes);

}  // namespace autosched::tools
