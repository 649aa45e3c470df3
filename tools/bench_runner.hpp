#pragma once
// BenchRunner: runs the measured inferences of autosched-bench on a compiled
// model — N requests in flight restarted from their callbacks (async API) or
// one request in a loop (sync API) — until the iteration count or the time
// limit is reached, and records every completion. A SchedulerRecorder
// (an autosched::Observer) records where AUTO / MULTI ran each inference.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/observer.hpp"
#include "tools/bench_result.hpp"

namespace autosched::tools {

using BenchClock = std::chrono::steady_clock;

// Records request completions and device state changes of the scheduler.
// Thread-safe (the hooks run on scheduler and worker threads).
class SchedulerRecorder : public Observer {
 public:
  void on_request(const RequestEvent& event) override;
  void on_device(const DeviceEvent& event) override;

  // Device completions that finished at or after `run_start` (seconds relative to it).
  std::vector<DeviceCompletion> completions_since(BenchClock::time_point run_start) const;
  // Device events relative to `origin` (compile start); the first hand-over, if any.
  std::vector<DeviceEventRecord> device_events(BenchClock::time_point origin) const;
  std::optional<HandOver> hand_over(BenchClock::time_point origin, BenchClock::time_point run_start) const;

 private:
  struct Finished {
    std::string device;
    double device_ms;
    BenchClock::time_point time;
  };
  mutable std::mutex mutex_;
  std::vector<Finished> finished_;
  std::vector<DeviceEvent> device_events_;
};

struct RunSettings {
  int nireq = 1;
  std::int64_t niter = 0;   // 0: no count limit
  double time_limit_s = 0;  // 0: no time limit
  bool sync_api = false;
  bool progress_bar = false;
  // Called with the requests' input tensors before the run (fills them).
  std::function<void(InferRequest&)> prepare;
};

struct RunOutput {
  std::vector<Completion> completions;
  double duration_ms = 0;
  BenchClock::time_point start;
};

// Creates the requests, runs the measured loop, rethrows the first failure.
// The first inference (warm-up) is not part of it: see first_inference().
RunOutput run_inferences(CompiledModel& compiled, const RunSettings& settings);
// Creates one request, prepares it and times one infer(); returns milliseconds.
double first_inference(CompiledModel& compiled, const RunSettings& settings);

}  // namespace autosched::tools
