#include "tools/process_memory.hpp"

#include <sys/resource.h>

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

std::string format_mib(std::uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buffer;
}

}  // namespace autosched::tools
