#pragma once
// Turns (topology, hint, requests, user overrides) into N streams × T threads,
// each stream with its own set of PUs. Pure function over plain data.
#include <optional>
#include <string>
#include <vector>

#include "autosched/properties.hpp"
#include "topology/topology.hpp"

namespace autosched::topology {

struct PlanRequest {
  PerformanceMode mode = PerformanceMode::LATENCY;
  int num_requests = 0;                    // 0 = no cap from the application
  std::optional<int> num_streams;          // user overrides
  std::optional<int> threads_per_stream;   // from inference_num_threads (total threads / streams when both given)
  std::optional<int> inference_num_threads;
  bool enable_cpu_pinning = true;
  bool enable_hyper_threading = false;
  double model_gflops = 0;                 // helps choose threads per stream (bigger models → more threads)
};

struct StreamPlan {
  struct Stream {
    int threads = 1;
    std::vector<int> pus;  // OS PU indices this stream may run on (pinned when pinning is on)
  };
  std::vector<Stream> streams;
  bool pinned = true;
  std::string reason;  // one line: why this plan (for logs and autosched-query)
  int total_threads() const;
  std::string to_string() const;  // "2 streams x 1 thread: [0] [1] (pinned) — THROUGHPUT: ..."
};

// Rules. "Usable PUs" = every allowed PU with enable_hyper_threading, else the
// first PU of each core. Streams never share a PU and never exceed the usable
// PUs (no oversubscription); Stream::threads == Stream::pus.size() always.
// A "domain" is one NUMA node x one core kind; streams stay inside one domain
// unless explicit overrides make that impossible (the reason then says so).
//  * LATENCY: one stream over the cores of one NUMA node of the fastest core
//    kind (P-cores on hybrid; the node with most of them). A thread override
//    larger than that node continues on the other cores in preference order.
//  * THROUGHPUT / CUMULATIVE_THROUGHPUT: cores per stream = 1 on <= 8 cores;
//    on bigger machines 2 for models >= 1 GFLOP, 4 for >= 10 GFLOP on >= 32
//    cores — reduced to a divisor of each domain's core count so streams split
//    it evenly (SMT siblings join their core's stream when hyper-threading is
//    on). More streams than num_requests > 0 -> exactly num_requests streams,
//    spread over domains, each domain's cores split as evenly as possible with
//    none left idle (so streams may differ by one core).
//  * Overrides: num_streams alone -> that many streams spread as above (also
//    for LATENCY when > 1; num_requests does not cap it). threads_per_stream
//    alone -> as many such streams as fit (capped by num_requests).
//    inference_num_threads is the total over all streams: with num_streams,
//    threads per stream = total / streams (rounded down, documented clamp);
//    with threads_per_stream, streams = total / threads (rounded down); alone,
//    it limits the pool the hint plans on.
//  * enable_cpu_pinning=false: same PU sets, pinned=false (callers do not pin).
// Throws Error(invalid_argument) naming the values for: an override < 1,
// num_requests < 0, any request needing more threads than usable PUs, or
// num_streams x threads_per_stream != inference_num_threads.
StreamPlan plan_streams(const Topology& topology, const PlanRequest& request);

// Pins the calling thread to `pus` (no-op with a debug log when empty). Returns false on failure.
bool pin_current_thread(const std::vector<int>& pus);

}  // namespace autosched::topology
