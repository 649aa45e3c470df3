#pragma once
// The machine as plain data, probed once with hwloc (the only folder that
// includes hwloc), or loaded from an hwloc synthetic string / XML file so that
// planning and tests work for machines we do not have.
#include <cstdint>
#include <string>
#include <vector>

namespace autosched::topology {

struct Core {
  int id = 0;               // logical index over the allowed cores
  int package = 0;          // socket index
  int numa_node = 0;
  int efficiency_class = 0; // hwloc cpukind efficiency (higher = faster, P-cores); 0 when unknown / uniform
  std::vector<int> pus;     // OS indices of the allowed hardware threads of this core (SMT siblings)
  std::uint64_t l2_bytes = 0;  // L2 cache shared by this core's group (0 when unknown)
  std::uint64_t l3_bytes = 0;
};

struct NumaNode {
  int id = 0;
  int package = 0;
  std::uint64_t memory_bytes = 0;
  std::vector<int> cores;  // indices into Topology::cores
};

struct Topology {
  std::string source;  // "hwloc", "synthetic:<string>", "xml:<path>", "fallback"
  int packages = 1;
  std::vector<NumaNode> numa_nodes;
  std::vector<Core> cores;  // only cores with at least one allowed PU
  bool hybrid() const;       // more than one efficiency class present
  int physical_cores() const { return int(cores.size()); }
  int hardware_threads() const;
  std::string to_string() const;  // multi-line, stable (used in tests and autosched-query)
};

// Probes this machine (respecting the process's allowed cpuset: taskset,
// containers). On failure falls back to std::thread::hardware_concurrency()
// single-threaded cores, logging a warning. Cached after the first call.
const Topology& machine();
// Throws Error(invalid_argument) naming the bad string / Error(io) for a bad file.
Topology from_synthetic(const std::string& description);
Topology from_xml(const std::string& path);
// What machine() returns when hwloc fails: one single-threaded core per CPU of
// the process affinity mask (or per std::thread::hardware_concurrency() when
// that is unavailable), one package, one NUMA node of unknown memory. Never throws.
Topology from_hardware_concurrency();

}  // namespace autosched::topology
