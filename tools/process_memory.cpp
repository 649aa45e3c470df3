#include "tools/process_memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace autosched::tools {

ProcessMemory ProcessMemory::read() {
  ProcessMemory m;
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kib = 0;
    if (!(fields >> key >> kib)) continue;
    if (key == "VmHWM:") m.peak_rss_bytes = kib * 1024;
    else if (key == "VmRSS:") m.rss_bytes = kib * 1024;
    else if (key == "RssAnon:") m.rss_anon_bytes = kib * 1024;
    else if (key == "RssFile:") m.rss_file_bytes = kib * 1024;
  }
  if (m.peak_rss_bytes == 0) {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) m.peak_rss_bytes = std::uint64_t(usage.ru_maxrss) * 1024;  // KiB on Linux
  }
  return m;
}

bool ProcessMemory::reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return bool(out);
}

void MemoryFigures::read_compiled(const CompiledModel& compiled, int nireq) {
  auto bytes = [&](const char* name) -> std::int64_t {
    try {
      return std::stoll(compiled.get_property(name));
    } catch (const std::exception&) {  // not reported by this device
      return -1;
    }
  };
  weights_bytes = bytes("weights_bytes");
  activation_bytes_per_request = bytes("activation_bytes_per_request");
  scratchpad_bytes_per_request = bytes("scratchpad_bytes_per_request");
  batch_activation_bytes = std::max<std::int64_t>(bytes("batch_activation_bytes"), 0);
  requests = nireq;
}

std::uint64_t MemoryFigures::model_bytes() const {
  if (weights_bytes < 0 || activation_bytes_per_request < 0) return 0;
  return std::uint64_t(weights_bytes) +
         std::uint64_t(requests) * std::uint64_t(activation_bytes_per_request +
                                                 std::max<std::int64_t>(scratchpad_bytes_per_request, 0)) +
         std::uint64_t(batch_activation_bytes);
}

double MemoryFigures::ratio(std::uint64_t peak) const {
  const std::uint64_t model = model_bytes();
  return model > 0 && peak > 0 ? double(peak) / double(model) : 0.0;
}

std::string format_mib(std::uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buffer;
}

}  // namespace autosched::tools
