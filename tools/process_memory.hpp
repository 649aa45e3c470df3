#pragma once
// ProcessMemory: the resident memory of this process as Linux reports it in
// /proc/self/status, for the benchmarks' memory figures. Plain data; reading
// never throws. Without /proc only the peak is known (getrusage's ru_maxrss)
// and reset_peak() returns false.
#include <cstdint>
#include <string>

#include "autosched/compiled_model.hpp"

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

// Memory of the run: the process's resident set (Linux VmHWM) next to what the
// compiled model says it holds (devices that report weights_bytes; -1 otherwise).
struct MemoryFigures {
  std::uint64_t process_peak_rss = 0;  // over the whole process: read, compile (source weights alive), run
  std::uint64_t run_peak_rss = 0;      // from after compile (source model released) to the end; 0: unknown
  std::uint64_t rss_file_end = 0;      // of the RSS at the end: mapped files (shared libraries)
  std::int64_t weights_bytes = -1, activation_bytes_per_request = -1, scratchpad_bytes_per_request = -1;
  std::int64_t batch_activation_bytes = 0;  // the workers' memory for stacked requests (cross-request batching)
  int requests = 0;  // infer requests that each hold their own activations

  // The weights_bytes / activation_bytes_per_request / scratchpad_bytes_per_request properties
  // (-1 where the device does not report one) and the number of requests.
  void read_compiled(const CompiledModel& compiled, int nireq);
  // weights + requests x (activations + scratchpad) + batch activations; 0 when the device does not
  // report them.
  std::uint64_t model_bytes() const;
  // peak / model_bytes(); 0 when either is unknown.
  double ratio(std::uint64_t peak) const;
};

// Bytes as "123.4 MiB".
std::string format_mib(std::uint64_t bytes);

}  // namespace autosched::tools
