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

// Throws Error(invalid_argument) for contradictory overrides (naming them).
StreamPlan plan_streams(const Topology& topology, const PlanRequest& request);

// Pins the calling thread to `pus` (no-op with a debug log when empty). Returns false on failure.
bool pin_current_thread(const std::vector<int>& pus);

}  // namespace autosched::topology
