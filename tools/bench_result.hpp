#pragma once
// BenchResult: everything one autosched-bench run measured, as plain data.
// The runner fills it, the console printer, the JSON report and the SVG plot
// read it. Times are milliseconds unless the name says otherwise.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/process_memory.hpp"

namespace autosched::tools {

// Order statistics of a latency sample (all 0 for an empty sample).
struct LatencyStats {
  std::size_t count = 0;
  double median = 0, avg = 0, min = 0, max = 0, p90 = 0, p99 = 0;
  double custom = 0;  // the --report_latency_percentile value
};
// Nearest-rank percentiles; `custom_percentile` in (0, 100].
LatencyStats latency_stats(std::vector<double> sample_ms, double custom_percentile);

// One completed inference of the measured run.
struct Completion {
  double end_s = 0;       // since the run started
  double latency_ms = 0;  // start_async → callback, as the application sees it
};

// What the scheduler observer saw finishing on one device during the run.
struct DeviceCompletion {
  std::string device;
  double end_s = 0;         // since the run started
  double device_ms = 0;     // time on the device (without queueing in the scheduler)
};

struct DeviceShare {
  std::string device;
  std::size_t count = 0;
  double share = 0;      // count / all completions
  LatencyStats latency;  // time on the device
};

struct DeviceEventRecord {
  double at_ms = 0;  // since compile_model was called
  std::string device, kind, detail;
};

// AUTO moved new requests from the CPU helper to the target.
struct HandOver {
  std::string from, to;
  double at_ms = 0;      // since compile_model was called
  double run_at_s = 0;   // since the measured run started (negative: before it)
};

struct PortDescription {
  std::string name, element_type, shape;
};

struct BenchResult {
  // What was asked.
  std::string command_line;
  std::string model, model_name;
  double model_gflops = 0;
  std::vector<PortDescription> inputs;
  std::string device, hint, api;
  int nireq = 0;
  std::int64_t niter = 0;  // 0: no count limit
  double time_limit_s = 0; // 0: no time limit
  double percentile = 99;  // --report_latency_percentile
  std::map<std::string, std::string> properties;  // passed to compile_model

  // What the device made of it.
  std::vector<std::string> execution_devices;             // after the run
  std::vector<std::string> execution_devices_at_compile;  // when compile_model returned
  std::int64_t optimal_nireq = 0;
  std::map<std::string, std::string> effective;   // readable compiled-model properties
  bool virtual_device = false;                     // AUTO / MULTI: per-device data from the observer

  double read_ms = 0, compile_ms = 0, first_inference_ms = 0;

  // The measured run.
  std::size_t count = 0;
  double duration_ms = 0, throughput = 0;
  LatencyStats latency;
  std::vector<Completion> completions;
  // AUTO / MULTI: from the scheduler observer; a concrete device: every
  // completion, on that device, with the application latency.
  std::vector<DeviceCompletion> device_completions;
  std::vector<DeviceShare> per_device;
  std::vector<DeviceEventRecord> device_events;
  std::optional<HandOver> hand_over;
  MemoryFigures memory;
};

// Fills per_device from device_completions.
void compute_device_shares(BenchResult& result);

}  // namespace autosched::tools

namespace autosched::tools {

// Completions per second per device over time (for the report and the plot).
struct Timeline {
  double bucket_s = 0;
  std::map<std::string, std::vector<double>> throughput;  // device → inferences/s per bucket
};
Timeline make_timeline(const BenchResult& result, std::size_t max_buckets = 60);

// Application latency histogram: counts[i] covers [edges[i], edges[i+1]).
struct Histogram {
  std::vector<double> edges_ms;
  std::vector<std::size_t> counts;
};
Histogram make_histogram(const BenchResult& result, std::size_t bins = 30);

}  // namespace autosched::tools
