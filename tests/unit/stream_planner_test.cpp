// Stream planner: exact plans on the five synthetic machines, override and
// error handling, invariants over a sweep, and pinning seen by sched_getaffinity.
#include "topology/stream_planner.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "autosched/error.hpp"

namespace autosched::topology {
namespace {

const Topology& one_core() {
  static const Topology t = from_synthetic("pack:1 numa:1 core:1 pu:1");
  return t;
}
const Topology& two_cores() {
  static const Topology t = from_synthetic("pack:1 numa:1 core:2 pu:1");
  return t;
}
const Topology& eight_smt() {
  static const Topology t = from_synthetic("pack:1 numa:1 core:8 pu:2");
  return t;
}
const Topology& two_sockets() {
  static const Topology t = from_synthetic("pack:2 numa:1 core:32 pu:2");
  return t;
}
const Topology& hybrid() {
  static const Topology t = from_xml(std::string(AUTOSCHED_SOURCE_DIR) + "/tests/unit/data/hybrid_8p16e.xml");
  return t;
}

PlanRequest latency() { return PlanRequest{}; }
PlanRequest throughput(double gflops = 0, int num_requests = 0) {
  PlanRequest r;
  r.mode = PerformanceMode::THROUGHPUT;
  r.model_gflops = gflops;
  r.num_requests = num_requests;
  return r;
}
PlanRequest with_ht(PlanRequest r) {
  r.enable_hyper_threading = true;
  return r;
}

// The plan without its reason: "N streams x T threads: [pus]... (pinned)".
std::string layout(const StreamPlan& plan) {
  const std::string s = plan.to_string();
  return s.substr(0, s.find(" \u2014 "));
}
std::string layout(const Topology& t, const PlanRequest& r) { return layout(plan_streams(t, r)); }

// "[a,a+step,...]" for n values, to keep the big-machine expectations readable.
std::string seq(int first, int n, int step) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += std::to_string(first + i * step);
  }
  return out + "]";
}

TEST(StreamPlanTest, OneCore) {
  EXPECT_EQ(plan_streams(one_core(), latency()).to_string(),
            "1 stream x 1 thread: [0] (pinned) \u2014 LATENCY: one stream over the 1 core of NUMA node 0, one thread "
            "per core; 1 of 1 usable hardware threads (1 core, hyper-threading off)");
  EXPECT_EQ(layout(one_core(), throughput()), "1 stream x 1 thread: [0] (pinned)");
  EXPECT_EQ(layout(one_core(), throughput(20, 8)), "1 stream x 1 thread: [0] (pinned)");
}

TEST(StreamPlanTest, TwoCores) {
  EXPECT_EQ(layout(two_cores(), latency()), "1 stream x 2 threads: [0-1] (pinned)");
  EXPECT_EQ(plan_streams(two_cores(), throughput()).to_string(),
            "2 streams x 1 thread: [0] [1] (pinned) \u2014 THROUGHPUT: 2 cores, model size unknown -> 1 core per "
            "stream; 2 of 2 usable hardware threads (2 cores, hyper-threading off)");
  EXPECT_EQ(layout(two_cores(), throughput(20)), "2 streams x 1 thread: [0] [1] (pinned)");
  EXPECT_EQ(layout(two_cores(), throughput(0, 1)), "1 stream x 2 threads: [0-1] (pinned)");
  EXPECT_EQ(layout(two_cores(), throughput(0, 4)), "2 streams x 1 thread: [0] [1] (pinned)");
}

TEST(StreamPlanTest, EightCoresWithSmt) {
  EXPECT_EQ(layout(eight_smt(), latency()), "1 stream x 8 threads: [0,2,4,6,8,10,12,14] (pinned)");
  EXPECT_EQ(layout(eight_smt(), with_ht(latency())), "1 stream x 16 threads: [0-15] (pinned)");
  EXPECT_EQ(layout(eight_smt(), throughput()), "8 streams x 1 thread: [0] [2] [4] [6] [8] [10] [12] [14] (pinned)");
  EXPECT_EQ(layout(eight_smt(), throughput(20)), "8 streams x 1 thread: [0] [2] [4] [6] [8] [10] [12] [14] (pinned)")
      << "<= 8 cores: one thread per stream whatever the model";
  EXPECT_EQ(layout(eight_smt(), with_ht(throughput())),
            "8 streams x 2 threads: [0-1] [2-3] [4-5] [6-7] [8-9] [10-11] [12-13] [14-15] (pinned)");
  EXPECT_EQ(layout(eight_smt(), throughput(0, 4)), "4 streams x 2 threads: [0,2] [4,6] [8,10] [12,14] (pinned)");
  EXPECT_EQ(layout(eight_smt(), throughput(0, 3)), "3 streams x (3,3,2) threads: [0,2,4] [6,8,10] [12,14] (pinned)");
  EXPECT_EQ(layout(eight_smt(), throughput(0, 1)), layout(eight_smt(), latency()));
}

TEST(StreamPlanTest, TwoSocketsBy32Cores) {
  const std::string socket0 = seq(0, 32, 2), socket1 = seq(64, 32, 2);
  EXPECT_EQ(layout(two_sockets(), latency()), "1 stream x 32 threads: " + socket0 + " (pinned)");
  EXPECT_EQ(layout(two_sockets(), with_ht(latency())), "1 stream x 64 threads: [0-63] (pinned)");
  const StreamPlan small = plan_streams(two_sockets(), throughput());
  EXPECT_EQ(small.streams.size(), 64u);
  EXPECT_EQ(small.total_threads(), 64);
  EXPECT_EQ(small.streams[63].pus, std::vector<int>{126});
  const StreamPlan resnet = plan_streams(two_sockets(), throughput(4.1));  // medium model: 2 cores per stream
  ASSERT_EQ(resnet.streams.size(), 32u);
  EXPECT_EQ(resnet.streams[0].pus, (std::vector<int>{0, 2}));
  EXPECT_EQ(resnet.streams[16].pus, (std::vector<int>{64, 66}));
  const StreamPlan large = plan_streams(two_sockets(), throughput(20));  // large model: 4 cores per stream
  ASSERT_EQ(large.streams.size(), 16u);
  EXPECT_EQ(large.streams[15].pus, (std::vector<int>{120, 122, 124, 126}));
  EXPECT_EQ(layout(two_sockets(), throughput(0, 2)),
            "2 streams x 32 threads: " + socket0 + " " + socket1 + " (pinned)");
  EXPECT_EQ(layout(two_sockets(), throughput(0, 4)), "4 streams x 16 threads: " + seq(0, 16, 2) + " " +
                                                         seq(32, 16, 2) + " " + seq(64, 16, 2) + " " +
                                                         seq(96, 16, 2) + " (pinned)");
  EXPECT_EQ(layout(two_sockets(), throughput(0, 3)),
            "3 streams x (16,16,32) threads: " + seq(0, 16, 2) + " " + seq(32, 16, 2) + " " + socket1 + " (pinned)")
      << "streams never straddle a socket; no core idles";
}

TEST(StreamPlanTest, HybridEightPSixteenE) {
  EXPECT_EQ(plan_streams(hybrid(), latency()).to_string(),
            "1 stream x 8 threads: [0,2,4,6,8,10,12,14] (pinned) \u2014 LATENCY: one stream over the 8 P-cores of "
            "NUMA node 0, one thread per core; 8 of 24 usable hardware threads (24 cores, hyper-threading off)");
  EXPECT_EQ(layout(hybrid(), with_ht(latency())), "1 stream x 16 threads: [0-15] (pinned)");
  EXPECT_EQ(layout(hybrid(), throughput()),
            "24 streams x 1 thread: [0] [2] [4] [6] [8] [10] [12] [14] [16] [17] [18] [19] [20] [21] [22] [23] [24] "
            "[25] [26] [27] [28] [29] [30] [31] (pinned)");
  EXPECT_EQ(layout(hybrid(), throughput(4.1)),
            "12 streams x 2 threads: [0,2] [4,6] [8,10] [12,14] [16-17] [18-19] [20-21] [22-23] [24-25] [26-27] "
            "[28-29] [30-31] (pinned)")
      << "streams never mix P- and E-cores";
  EXPECT_EQ(layout(hybrid(), with_ht(throughput())),
            "24 streams x (2,2,2,2,2,2,2,2,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1) threads: [0-1] [2-3] [4-5] [6-7] [8-9] "
            "[10-11] [12-13] [14-15] [16] [17] [18] [19] [20] [21] [22] [23] [24] [25] [26] [27] [28] [29] [30] [31] "
            "(pinned)");
  EXPECT_EQ(layout(hybrid(), throughput(0, 1)), layout(hybrid(), latency())) << "one request: the P-cores";
  EXPECT_EQ(layout(hybrid(), throughput(0, 3)), "3 streams x 8 threads: [0,2,4,6,8,10,12,14] [16-23] [24-31] (pinned)");
}

TEST(StreamPlanTest, CumulativeThroughputPlansLikeThroughput) {
  for (const Topology* t : {&one_core(), &eight_smt(), &two_sockets(), &hybrid()}) {
    PlanRequest r = throughput(4.1, 5);
    const std::string expected = layout(*t, r);
    r.mode = PerformanceMode::CUMULATIVE_THROUGHPUT;
    EXPECT_EQ(layout(*t, r), expected) << t->source;
  }
}

TEST(StreamPlanTest, OverridesAreHonoured) {
  PlanRequest r = throughput();
  r.num_streams = 2;
  EXPECT_EQ(layout(eight_smt(), r), "2 streams x 4 threads: [0,2,4,6] [8,10,12,14] (pinned)");
  r.num_requests = 1;  // explicit num_streams is not capped by num_requests
  EXPECT_EQ(layout(eight_smt(), r), "2 streams x 4 threads: [0,2,4,6] [8,10,12,14] (pinned)");
  r.threads_per_stream = 2;
  EXPECT_EQ(layout(two_sockets(), r), "2 streams x 2 threads: [0,2] [64,66] (pinned)") << "spread over sockets";
  r = throughput();
  r.threads_per_stream = 3;
  EXPECT_EQ(layout(eight_smt(), r), "2 streams x 3 threads: [0,2,4] [6,8,10] (pinned)");
  r.num_requests = 1;
  EXPECT_EQ(layout(eight_smt(), r), "1 stream x 3 threads: [0,2,4] (pinned)");
  r = throughput();
  r.num_streams = 3;
  r.inference_num_threads = 7;  // 7 / 3 = 2 threads per stream (documented round-down)
  EXPECT_EQ(layout(eight_smt(), r), "3 streams x 2 threads: [0,2] [4,6] [8,10] (pinned)");
  r = throughput();
  r.inference_num_threads = 4;  // a budget: the hint plans on the first 4 cores
  EXPECT_EQ(layout(eight_smt(), r), "4 streams x 1 thread: [0] [2] [4] [6] (pinned)");
  r = latency();
  r.inference_num_threads = 4;
  EXPECT_EQ(layout(two_sockets(), r), "1 stream x 4 threads: [0,2,4,6] (pinned)");
  r.inference_num_threads = 12;  // more than the 8 P-cores: continues on E-cores
  EXPECT_EQ(layout(hybrid(), r), "1 stream x 12 threads: [0,2,4,6,8,10,12,14,16-19] (pinned)");
  r = latency();
  r.num_streams = 2;  // LATENCY with explicit streams splits like THROUGHPUT
  EXPECT_EQ(layout(two_cores(), r), "2 streams x 1 thread: [0] [1] (pinned)");
  r = with_ht(throughput());
  r.num_streams = 3;  // more streams than the 2 cores: split into hardware threads
  EXPECT_EQ(layout(from_synthetic("pack:1 numa:1 core:2 pu:2"), r), "3 streams x (2,1,1) threads: [0-1] [2] [3] (pinned)");
}

TEST(StreamPlanTest, PinningOffKeepsPusButDoesNotPin) {
  PlanRequest r = throughput(0, 0);
  const StreamPlan pinned = plan_streams(eight_smt(), r);
  r.enable_cpu_pinning = false;
  const StreamPlan free = plan_streams(eight_smt(), r);
  EXPECT_TRUE(pinned.pinned);
  EXPECT_FALSE(free.pinned);
  ASSERT_EQ(free.streams.size(), pinned.streams.size());
  for (std::size_t i = 0; i < free.streams.size(); ++i) EXPECT_EQ(free.streams[i].pus, pinned.streams[i].pus);
  EXPECT_NE(free.to_string().find("(not pinned)"), std::string::npos);
  EXPECT_NE(free.reason.find("pinning off"), std::string::npos);
}

void expect_error(const Topology& t, const PlanRequest& r, std::vector<std::string> fragments) {
  try {
    const StreamPlan plan = plan_streams(t, r);
    ADD_FAILURE() << "expected an Error, got " << plan.to_string();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    for (const std::string& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(StreamPlanTest, ImpossibleRequestsAreErrorsNamingTheValues) {
  PlanRequest r = throughput();
  r.num_streams = 3;
  expect_error(two_cores(), r, {"num_streams=3", "2 usable hardware threads", "valid: 1..2"});
  r.enable_hyper_threading = true;  // with HT, 16 PUs on the 8-core box: 17 is too many
  r.num_streams = 17;
  expect_error(eight_smt(), r, {"num_streams=17", "16 usable hardware threads", "hyper-threading on"});
  r = throughput();
  r.num_streams = 4;
  r.threads_per_stream = 3;
  expect_error(eight_smt(), r, {"num_streams=4", "threads_per_stream=3", "12 threads", "8 usable"});
  r.inference_num_threads = 8;
  expect_error(eight_smt(), r, {"num_streams=4", "threads_per_stream=3", "inference_num_threads=8"});
  r = latency();
  r.inference_num_threads = 3;
  expect_error(two_cores(), r, {"inference_num_threads=3", "2 usable"});
  r = throughput();
  r.num_streams = 4;
  r.inference_num_threads = 2;
  expect_error(eight_smt(), r, {"inference_num_threads=2", "num_streams=4"});
  r = throughput();
  r.num_streams = 0;
  expect_error(eight_smt(), r, {"num_streams=0", "at least 1"});
  r = throughput();
  r.threads_per_stream = -1;
  expect_error(eight_smt(), r, {"threads_per_stream=-1"});
  r = throughput(0, -2);
  expect_error(eight_smt(), r, {"num_requests=-2"});
}

// Over every machine × hint × HT × requests × model size: no PU twice, no
// oversubscription, threads == PUs, only the machine's PUs, no SMT siblings with HT off.
TEST(StreamPlanTest, InvariantsHoldOverASweep) {
  for (const Topology* t : {&one_core(), &two_cores(), &eight_smt(), &two_sockets(), &hybrid(), &machine()}) {
    std::map<int, int> core_of;
    for (const Core& c : t->cores)
      for (int pu : c.pus) core_of[pu] = c.id;
    for (PerformanceMode mode :
         {PerformanceMode::LATENCY, PerformanceMode::THROUGHPUT, PerformanceMode::CUMULATIVE_THROUGHPUT})
      for (bool ht : {false, true})
        for (int nreq : {0, 1, 2, 3, 5, 7, 100})
          for (double gflops : {0.0, 0.5, 4.1, 30.0}) {
            PlanRequest r;
            r.mode = mode;
            r.enable_hyper_threading = ht;
            r.num_requests = nreq;
            r.model_gflops = gflops;
            const StreamPlan plan = plan_streams(*t, r);
            SCOPED_TRACE(t->source + ": " + plan.to_string());
            ASSERT_FALSE(plan.streams.empty());
            if (mode == PerformanceMode::LATENCY) {
              EXPECT_EQ(plan.streams.size(), 1u);
            }
            if (nreq > 0) {
              EXPECT_LE(plan.streams.size(), std::size_t(nreq));
            }
            EXPECT_LE(plan.total_threads(), ht ? t->hardware_threads() : t->physical_cores());
            std::set<int> pus, cores;
            for (const StreamPlan::Stream& s : plan.streams) {
              EXPECT_EQ(s.threads, int(s.pus.size()));
              for (int pu : s.pus) {
                ASSERT_TRUE(core_of.count(pu)) << "PU " << pu << " is not in the topology";
                EXPECT_TRUE(pus.insert(pu).second) << "PU " << pu << " used twice";
                if (!ht) {
                  EXPECT_TRUE(cores.insert(core_of[pu]).second) << "SMT siblings with HT off";
                }
              }
            }
            EXPECT_FALSE(plan.reason.empty());
          }
  }
}

std::vector<int> thread_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  return out;
}

TEST(StreamPlanPinningTest, PinnedThreadSeesExactlyItsPu) {
  for (const Core& core : machine().cores) {
    const int pu = core.pus.front();
    bool ok = false;
    std::vector<int> seen;
    std::thread worker([&] {
      ok = pin_current_thread({pu});
      seen = thread_affinity();
    });
    worker.join();
    EXPECT_TRUE(ok);
    EXPECT_EQ(seen, std::vector<int>{pu});
  }
}

TEST(StreamPlanPinningTest, StreamThreadsOfAMachinePlanArePinnedToTheirSets) {
  const StreamPlan plan = plan_streams(machine(), throughput());
  std::vector<std::vector<int>> seen(plan.streams.size());
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < plan.streams.size(); ++i)
    workers.emplace_back([&, i] {
      if (pin_current_thread(plan.streams[i].pus)) seen[i] = thread_affinity();
    });
  for (std::thread& w : workers) w.join();
  for (std::size_t i = 0; i < plan.streams.size(); ++i) {
    std::vector<int> expected = plan.streams[i].pus;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(seen[i], expected) << "stream " << i;
  }
}

TEST(StreamPlanPinningTest, FailureReturnsFalseAndEmptyIsANoOp) {
  std::vector<int> before, after_empty, after_bad;
  bool empty_ok = false, bad_ok = true;
  std::thread worker([&] {
    before = thread_affinity();
    empty_ok = pin_current_thread({});
    after_empty = thread_affinity();
    bad_ok = pin_current_thread({4000});  // no such CPU: the kernel refuses
    after_bad = thread_affinity();
  });
  worker.join();
  EXPECT_TRUE(empty_ok);
  EXPECT_EQ(after_empty, before);
  EXPECT_FALSE(bad_ok);
  EXPECT_EQ(after_bad, before);
  EXPECT_FALSE(pin_current_thread({-1}));
}

}  // namespace
}  // namespace autosched::topology
