// Topology: hwloc probe of this machine, synthetic strings, XML files (hybrid).
#include "topology/topology.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "autosched/error.hpp"

namespace autosched::topology {
namespace {

const std::string kHybridXml = std::string(AUTOSCHED_SOURCE_DIR) + "/tests/unit/data/hybrid_8p16e.xml";

std::set<int> affinity_of_process() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(getpid(), sizeof(set), &set), 0);
  std::set<int> out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) out.insert(cpu);
  return out;
}

TEST(TopologyTest, SyntheticOneCore) {
  const Topology t = from_synthetic("pack:1 numa:1 core:1 pu:1");
  EXPECT_EQ(t.source, "synthetic:pack:1 numa:1 core:1 pu:1");
  EXPECT_EQ(t.packages, 1);
  ASSERT_EQ(t.numa_nodes.size(), 1u);
  ASSERT_EQ(t.physical_cores(), 1);
  EXPECT_EQ(t.hardware_threads(), 1);
  EXPECT_EQ(t.cores[0].pus, std::vector<int>{0});
  EXPECT_FALSE(t.hybrid());
}

TEST(TopologyTest, SyntheticEightCoresWithSmt) {
  const Topology t = from_synthetic("pack:1 numa:1 core:8 pu:2");
  ASSERT_EQ(t.physical_cores(), 8);
  EXPECT_EQ(t.hardware_threads(), 16);
  for (int c = 0; c < 8; ++c) {
    EXPECT_EQ(t.cores[std::size_t(c)].id, c);
    EXPECT_EQ(t.cores[std::size_t(c)].pus, (std::vector<int>{2 * c, 2 * c + 1}));
  }
  EXPECT_EQ(t.numa_nodes[0].cores, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(TopologyTest, SyntheticTwoSockets) {
  const Topology t = from_synthetic("pack:2 numa:1 core:32 pu:2");
  EXPECT_EQ(t.packages, 2);
  ASSERT_EQ(t.numa_nodes.size(), 2u);
  ASSERT_EQ(t.physical_cores(), 64);
  EXPECT_EQ(t.hardware_threads(), 128);
  EXPECT_EQ(t.numa_nodes[1].package, 1);
  ASSERT_EQ(t.numa_nodes[1].cores.size(), 32u);
  EXPECT_EQ(t.numa_nodes[1].cores.front(), 32);
  EXPECT_EQ(t.cores[31].package, 0);
  EXPECT_EQ(t.cores[32].package, 1);
  EXPECT_EQ(t.cores[32].numa_node, 1);
  EXPECT_EQ(t.cores[32].pus, (std::vector<int>{64, 65}));
}

TEST(TopologyTest, SyntheticCachesAndMemory) {
  // L2 below the core level in the string: hwloc places it; sizes still reach each core.
  const Topology t = from_synthetic("pack:1 numa:1(memory=16GiB) l3:1(size=32MiB) core:4 l2:1(size=1MiB) pu:2");
  ASSERT_EQ(t.physical_cores(), 4);
  EXPECT_EQ(t.numa_nodes[0].memory_bytes, 16ull << 30);
  for (const Core& core : t.cores) {
    EXPECT_EQ(core.l2_bytes, 1ull << 20);
    EXPECT_EQ(core.l3_bytes, 32ull << 20);
  }
}

TEST(TopologyTest, ToStringIsStableAndReadable) {
  const Topology t = from_synthetic("pack:1 numa:1(memory=8GiB) l3:1(size=16MiB) l2:2(size=1MiB) core:1 pu:2");
  EXPECT_EQ(t.to_string(),
            "topology synthetic:pack:1 numa:1(memory=8GiB) l3:1(size=16MiB) l2:2(size=1MiB) core:1 pu:2: "
            "1 package, 1 NUMA node, 2 cores, 4 hardware threads\n"
            "  numa 0: package 0, memory 8 GiB, cores 0-1\n"
            "  core 0: package 0, numa 0, pus 0-1, L2 1 MiB, L3 16 MiB\n"
            "  core 1: package 0, numa 0, pus 2-3, L2 1 MiB, L3 16 MiB\n");
  EXPECT_EQ(t.to_string(), from_synthetic("pack:1 numa:1(memory=8GiB) l3:1(size=16MiB) l2:2(size=1MiB) core:1 pu:2")
                               .to_string());
}

TEST(TopologyTest, HybridXmlHasPAndECores) {
  const Topology t = from_xml(kHybridXml);
  EXPECT_EQ(t.source, "xml:" + kHybridXml);
  EXPECT_TRUE(t.hybrid());
  ASSERT_EQ(t.physical_cores(), 24);
  EXPECT_EQ(t.hardware_threads(), 32);
  EXPECT_EQ(t.numa_nodes.size(), 1u);
  EXPECT_EQ(t.numa_nodes[0].memory_bytes, 32ull << 30);
  for (int c = 0; c < 8; ++c) {  // P-cores: SMT2, faster kind, private 2 MiB L2
    const Core& core = t.cores[std::size_t(c)];
    EXPECT_EQ(core.efficiency_class, 1) << "core " << c;
    EXPECT_EQ(core.pus, (std::vector<int>{2 * c, 2 * c + 1}));
    EXPECT_EQ(core.l2_bytes, 2ull << 20);
    EXPECT_EQ(core.l3_bytes, 36ull << 20);
  }
  for (int c = 8; c < 24; ++c) {  // E-cores: no SMT, 4 MiB L2 per 4-core cluster
    const Core& core = t.cores[std::size_t(c)];
    EXPECT_EQ(core.efficiency_class, 0) << "core " << c;
    EXPECT_EQ(core.pus, std::vector<int>{8 + c});
    EXPECT_EQ(core.l2_bytes, 4ull << 20);
  }
  EXPECT_NE(t.to_string().find(", hybrid\n"), std::string::npos);
  EXPECT_NE(t.to_string().find("core 0: package 0, numa 0, efficiency 1, pus 0-1"), std::string::npos);
}

TEST(TopologyTest, BadSyntheticStringIsNamed) {
  try {
    from_synthetic("bogus:3 core:2");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("'bogus:3 core:2'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pack:2"), std::string::npos) << "message shows a valid example";
  }
  EXPECT_THROW(from_synthetic(""), Error);
}

TEST(TopologyTest, MissingOrMalformedXmlIsIoError) {
  try {
    from_xml("/nonexistent/topology.xml");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/topology.xml"), std::string::npos) << e.what();
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("autosched_bad_topology_" + std::to_string(getpid()) + ".xml"))
                               .string();
  std::ofstream(path) << "<topology>not hwloc</topology";
  try {
    from_xml(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(TopologyTest, MachineIsSaneAndRespectsAffinity) {
  const Topology& t = machine();
  EXPECT_EQ(&t, &machine()) << "probed once, cached";
  EXPECT_TRUE(t.source == "hwloc" || t.source == "fallback") << t.source;
  EXPECT_GE(t.physical_cores(), 1);
  EXPECT_GE(t.hardware_threads(), t.physical_cores());
  EXPECT_GE(t.packages, 1);
  EXPECT_FALSE(t.numa_nodes.empty());
  const std::set<int> allowed = affinity_of_process();
  std::set<int> seen;
  for (const Core& core : t.cores) {
    EXPECT_FALSE(core.pus.empty());
    for (int pu : core.pus) {
      EXPECT_TRUE(allowed.count(pu)) << "PU " << pu << " is outside the process affinity";
      EXPECT_TRUE(seen.insert(pu).second) << "PU " << pu << " listed twice";
    }
  }
  EXPECT_EQ(seen, allowed) << t.to_string();
}

TEST(TopologyTest, FallbackIsOneCorePerAllowedCpu) {
  const Topology t = from_hardware_concurrency();
  EXPECT_EQ(t.source, "fallback");
  const std::set<int> allowed = affinity_of_process();
  ASSERT_EQ(std::size_t(t.physical_cores()), allowed.size());
  EXPECT_EQ(t.hardware_threads(), t.physical_cores());
  ASSERT_EQ(t.numa_nodes.size(), 1u);
  EXPECT_EQ(t.numa_nodes[0].cores.size(), allowed.size());
}

}  // namespace
}  // namespace autosched::topology
