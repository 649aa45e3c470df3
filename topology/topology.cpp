// hwloc → plain Topology. The only translation unit of autosched that includes
// <hwloc.h>: everything hwloc-specific (objects, bitmaps, cpukinds) stays here.
#include "topology/topology.hpp"

#include <hwloc.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched::topology {

namespace {

// RAII owners for hwloc handles.
struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;
struct BitmapDeleter {
  void operator()(hwloc_bitmap_s* b) const { hwloc_bitmap_free(b); }
};
using BitmapPtr = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;

BitmapPtr make_bitmap() { return BitmapPtr(hwloc_bitmap_alloc()); }

TopologyPtr init_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw Error(ErrorCode::internal, "hwloc_topology_init failed");
  return TopologyPtr(raw);
}

std::vector<int> os_indices(hwloc_const_bitmap_t set) {
  std::vector<int> out;
  for (int i = hwloc_bitmap_first(set); i != -1; i = hwloc_bitmap_next(set, i)) out.push_back(i);
  return out;
}

// The main thread's affinity (tid == pid): what taskset / container runtimes
// restrict. Reading the *process* rather than the calling thread means a pinned
// stream thread that happens to call machine() first does not shrink the result.
BitmapPtr process_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(getpid(), sizeof(set), &set) != 0) return nullptr;
  BitmapPtr out = make_bitmap();
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) hwloc_bitmap_set(out.get(), unsigned(cpu));
  return out;
}

std::uint64_t cache_size_for(hwloc_topology_t topo, hwloc_obj_type_t type, hwloc_const_bitmap_t core_set) {
  // Caches may sit above the core (the usual case) or below it (synthetic
  // strings like "core:4 l2:1"): take the first cache of that level touching the core.
  for (hwloc_obj_t cache = hwloc_get_next_obj_by_type(topo, type, nullptr); cache != nullptr;
       cache = hwloc_get_next_obj_by_type(topo, type, cache))
    if (cache->cpuset != nullptr && hwloc_bitmap_intersects(cache->cpuset, core_set)) return cache->attr->cache.size;
  return 0;
}

// Efficiency class of the PUs in `set`: hwloc's cpukind efficiency (0 = most
// energy-efficient kind). When the OS gave no ranking (-1), fall back to the
// CoreType info (Intel hybrid: IntelCore above IntelAtom). 0 when uniform.
int efficiency_of(hwloc_topology_t topo, hwloc_const_bitmap_t set) {
  const int kinds = hwloc_cpukinds_get_nr(topo, 0);
  if (kinds <= 1) return 0;
  const int kind = hwloc_cpukinds_get_by_cpuset(topo, set, 0);
  if (kind < 0) return 0;
  int efficiency = -1;
  unsigned nr_infos = 0;
  hwloc_info_s* infos = nullptr;
  if (hwloc_cpukinds_get_info(topo, unsigned(kind), nullptr, &efficiency, &nr_infos, &infos, 0) != 0) return 0;
  if (efficiency >= 0) return efficiency;
  for (unsigned i = 0; i < nr_infos; ++i)
    if (std::string(infos[i].name) == "CoreType") return std::string(infos[i].value) == "IntelCore" ? 1 : 0;
  return 0;
}

// Converts a loaded hwloc topology into plain data, keeping only PUs in `allowed`.
Topology convert(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, std::string source) {
  Topology out;
  out.source = std::move(source);

  // One entry per core (or per PU when hwloc found no core objects).
  hwloc_obj_type_t core_type = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  std::map<unsigned, int> package_index;   // hwloc logical index → dense index over used packages
  std::map<unsigned, int> numa_index;      // hwloc logical index → index into out.numa_nodes
  BitmapPtr core_set = make_bitmap();
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topo, core_type, nullptr); obj != nullptr;
       obj = hwloc_get_next_obj_by_type(topo, core_type, obj)) {
    hwloc_bitmap_and(core_set.get(), obj->cpuset, allowed);
    if (hwloc_bitmap_iszero(core_set.get())) continue;

    Core core;
    core.id = int(out.cores.size());
    core.pus = os_indices(core_set.get());
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj);
    const unsigned package_key = package != nullptr ? package->logical_index : 0;
    core.package = package_index.emplace(package_key, int(package_index.size())).first->second;

    // The first NUMA node whose cpuset covers this core (cores belong to one node).
    hwloc_obj_t node = nullptr;
    for (hwloc_obj_t n = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
         n = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, n))
      if (hwloc_bitmap_intersects(n->cpuset, obj->cpuset)) {
        node = n;
        break;
      }
    const unsigned node_key = node != nullptr ? node->logical_index : 0;
    auto [it, inserted] = numa_index.emplace(node_key, int(out.numa_nodes.size()));
    if (inserted) {
      NumaNode numa;
      numa.id = it->second;
      numa.package = core.package;
      numa.memory_bytes = node != nullptr ? node->attr->numanode.local_memory : 0;
      out.numa_nodes.push_back(numa);
    }
    core.numa_node = it->second;
    out.numa_nodes[std::size_t(core.numa_node)].cores.push_back(core.id);

    core.efficiency_class = efficiency_of(topo, obj->cpuset);
    core.l2_bytes = cache_size_for(topo, HWLOC_OBJ_L2CACHE, obj->cpuset);
    core.l3_bytes = cache_size_for(topo, HWLOC_OBJ_L3CACHE, obj->cpuset);
    out.cores.push_back(std::move(core));
  }
  out.packages = std::max<int>(1, int(package_index.size()));
  return out;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes == 0) return "?";
  constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  if (bytes % GiB == 0) return std::to_string(bytes / GiB) + " GiB";
  if (bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes >= MiB) return std::to_string((bytes + MiB / 2) / MiB) + " MiB";  // real machines: rounded
  if (bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " B";
}

std::string format_ints(const std::vector<int>& values) {
  // Consecutive runs collapse to "a-b": "0-7,16,18".
  std::string out;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(values[i]);
    if (j > i) out += '-' + std::to_string(values[j]);
    i = j + 1;
  }
  return out;
}

Topology probe_machine() {
  TopologyPtr topo = init_topology();
  if (hwloc_topology_load(topo.get()) != 0) throw Error(ErrorCode::internal, "hwloc_topology_load failed");
  // hwloc already dropped PUs outside the cgroup cpuset (no INCLUDE_DISALLOWED
  // flag); the process affinity (taskset) narrows it further — but only when the
  // topology is this machine (HWLOC_XMLFILE may point hwloc elsewhere).
  BitmapPtr allowed(hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(topo.get())));
  if (hwloc_topology_is_thissystem(topo.get())) {
    if (BitmapPtr affinity = process_affinity()) {
      BitmapPtr both = make_bitmap();
      hwloc_bitmap_and(both.get(), allowed.get(), affinity.get());
      if (!hwloc_bitmap_iszero(both.get())) allowed = std::move(both);
    }
  }
  Topology out = convert(topo.get(), allowed.get(), "hwloc");
  if (out.cores.empty()) throw Error(ErrorCode::internal, "hwloc reported no allowed cores");
  return out;
}

Topology load_from(TopologyPtr topo, std::string source, const std::string& what) {
  if (hwloc_topology_load(topo.get()) != 0)
    throw Error(ErrorCode::invalid_argument, "hwloc could not build a topology from " + what);
  Topology out = convert(topo.get(), hwloc_topology_get_allowed_cpuset(topo.get()), std::move(source));
  if (out.cores.empty()) throw Error(ErrorCode::invalid_argument, what + " describes no processing units");
  return out;
}

}  // namespace

bool Topology::hybrid() const {
  std::set<int> classes;
  for (const Core& core : cores) classes.insert(core.efficiency_class);
  return classes.size() > 1;
}

int Topology::hardware_threads() const {
  int n = 0;
  for (const Core& core : cores) n += int(core.pus.size());
  return n;
}

std::string Topology::to_string() const {
  std::ostringstream out;
  out << "topology " << source << ": " << packages << (packages == 1 ? " package, " : " packages, ")
      << numa_nodes.size() << (numa_nodes.size() == 1 ? " NUMA node, " : " NUMA nodes, ") << cores.size()
      << (cores.size() == 1 ? " core, " : " cores, ") << hardware_threads()
      << (hardware_threads() == 1 ? " hardware thread" : " hardware threads")
      << (hybrid() ? ", hybrid" : "") << '\n';
  for (const NumaNode& node : numa_nodes)
    out << "  numa " << node.id << ": package " << node.package << ", memory " << format_bytes(node.memory_bytes)
        << ", cores " << format_ints(node.cores) << '\n';
  for (const Core& core : cores) {
    out << "  core " << core.id << ": package " << core.package << ", numa " << core.numa_node;
    if (hybrid()) out << ", efficiency " << core.efficiency_class;
    out << ", pus " << format_ints(core.pus) << ", L2 " << format_bytes(core.l2_bytes) << ", L3 "
        << format_bytes(core.l3_bytes) << '\n';
  }
  return out.str();
}

Topology from_hardware_concurrency() {
  Topology out;
  out.source = "fallback";
  std::vector<int> pus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(getpid(), sizeof(set), &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) pus.push_back(cpu);
  if (pus.empty()) {
    const int n = std::max(1, int(std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) pus.push_back(i);
  }
  NumaNode node;
  for (int pu : pus) {
    Core core;
    core.id = int(out.cores.size());
    core.pus = {pu};
    node.cores.push_back(core.id);
    out.cores.push_back(core);
  }
  out.numa_nodes.push_back(std::move(node));
  return out;
}

const Topology& machine() {
  static const Topology cached = [] {
    try {
      return probe_machine();
    } catch (const std::exception& e) {
      Topology fallback = from_hardware_concurrency();
      log().warn("topology: hwloc probe failed ({}); assuming {} single-threaded cores", e.what(),
                 fallback.cores.size());
      return fallback;
    }
  }();
  return cached;
}

Topology from_synthetic(const std::string& description) {
  TopologyPtr topo = init_topology();
  if (description.empty() || hwloc_topology_set_synthetic(topo.get(), description.c_str()) != 0)
    throw Error(ErrorCode::invalid_argument,
                "invalid hwloc synthetic topology '" + description +
                    "': expected levels like 'pack:2 numa:1 l3:1(size=32MiB) core:16 l2:1(size=1MiB) pu:2'");
  return load_from(std::move(topo), "synthetic:" + description, "synthetic topology '" + description + "'");
}

Topology from_xml(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorCode::io, "topology XML file '" + path + "' does not exist or is not a regular file");
  TopologyPtr topo = init_topology();
  if (hwloc_topology_set_xml(topo.get(), path.c_str()) != 0)
    throw Error(ErrorCode::io, "hwloc cannot read topology XML file '" + path + "'");
  if (hwloc_topology_load(topo.get()) != 0)
    throw Error(ErrorCode::io, "topology XML file '" + path + "' is not a valid hwloc XML export (hwloc 2.x)");
  Topology out = convert(topo.get(), hwloc_topology_get_allowed_cpuset(topo.get()), "xml:" + path);
  if (out.cores.empty()) throw Error(ErrorCode::io, "topology XML file '" + path + "' describes no processing units");
  return out;
}

}  // namespace autosched::topology
