#pragma once
// Shared pieces of the stress and fault-injection tests: the run mode (short
// in CI), a watchdog that turns a hang into a failure with a thread dump, the
// small models the tests run, and STRESSDEV — a device registered only in
// this binary whose latency, failures and cancellation the tests control.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "autosched/autosched.hpp"

namespace autosched::stress {

// Short mode unless AUTOSCHED_STRESS_SHORT=0: ctest and CI run the short
// mode; scripts/stress.sh sets 0 for the full one (10^4 per thread, 10^5 per fault scenario).
bool short_mode();
// `full` in full mode, `short_value` in short mode.
std::int64_t scaled(std::int64_t full, std::int64_t short_value);

// Fails the test binary if not disarmed (destroyed) within `limit`: prints
// what was running, dumps every thread's stack (gdb -p when available) and
// exits with status 3 — a hang becomes a readable failure instead of a CI timeout.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};
// Prints every thread's stack of this process to stderr (gdb), or says why not.
void dump_threads();

// y = x (Identity), f32 [n]: what STRESSDEV runs.
Model identity_model(std::int64_t n = 4);
// y = relu(x + c), c[i] = i - n/2, f32 [n]: what REF computes exactly.
Model add_relu_model(std::int64_t n = 4);
// The expected output of add_relu_model for input x at index i.
inline float add_relu_expected(float x, std::int64_t i, std::int64_t n) {
  const float s = x + (float(i) - float(n) / 2);
  return s > 0 ? s : 0;
}

// Behaviour and counters of STRESSDEV (one process-wide instance; tests run
// one at a time). Latency: a cancellable wait of up to `max_delay_us`.
struct StressDeviceControl {
  std::atomic<int> max_delay_us{0};
  std::atomic<int> fail_every{0};  // every k-th call throws device_failure (0 = never)
  std::atomic<bool> block_until_cancel{false};
  std::atomic<unsigned> parallel_slots{4};
  std::atomic<std::int64_t> calls{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> cancelled{0};
  std::atomic<int> live_requests{0};
  std::atomic<int> live_compiled{0};
  void reset();
};
StressDeviceControl& stress_device();

}  // namespace autosched::stress
