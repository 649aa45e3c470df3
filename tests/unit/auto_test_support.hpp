#pragma once
// Helpers of the AUTO / MULTI tests: a watchdog, a multi-threaded driver that
// gives every inference a unique input value and checks its output, and an
// observer that records which device finished each request.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/observer.hpp"
#include "tests/unit/auto_test_devices.hpp"
#include "tests/unit/test_device.hpp"
#include "tests/unit/watchdog.hpp"

namespace autosched::testing {

// The shared watchdog (tests/unit/watchdog.hpp) under the name the AUTO tests use.
template <class F> void auto_within(std::chrono::seconds limit, F&& f) { within(limit, std::forward<F>(f)); }

// Records the device of every finished request and the device events.
class RecordingObserver : public Observer {
 public:
  void on_request(const RequestEvent& e) override {
    std::lock_guard lock(mutex_);
    if (e.kind == RequestEventKind::finished) finished_on.push_back(e.device);
    if (e.kind == RequestEventKind::rerouted) ++rerouted;
    if (e.kind == RequestEventKind::failed) ++failed;
    ++request_events[e.kind];
  }
  void on_device(const DeviceEvent& e) override {
    std::lock_guard lock(mutex_);
    device_events.push_back(std::string(to_string(e.kind)) + " " + e.device);
  }
  std::vector<std::string> finished_devices() {
    std::lock_guard lock(mutex_);
    return finished_on;
  }
  bool saw(const std::string& device_event) {
    std::lock_guard lock(mutex_);
    for (const auto& e : device_events)
      if (e == device_event) return true;
    return false;
  }
  int count(RequestEventKind kind) {
    std::lock_guard lock(mutex_);
    return request_events[kind];
  }

  std::mutex mutex_;
  std::vector<std::string> finished_on;
  std::vector<std::string> device_events;
  std::map<RequestEventKind, int> request_events;
  int rerouted = 0;
  int failed = 0;
};

struct DriveResult {
  int ok = 0;
  int failed = 0;
  int wrong_output = 0;
  std::vector<std::string> errors;
};

// `threads` threads each run `per_thread` async inferences over `requests_per_thread`
// requests of `compiled`. Inference k of thread t writes value t*1e6+k+1 into
// every element of input 0 and expects it back in output 0 (identity model).
inline DriveResult drive(CompiledModel& compiled, int threads, int per_thread, int requests_per_thread) {
  DriveResult total;
  std::mutex mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      DriveResult mine;
      std::vector<InferRequest> requests;
      std::vector<float> pending(requests_per_thread, 0.0f);
      for (int i = 0; i < requests_per_thread; ++i) requests.push_back(compiled.create_infer_request());
      auto finish = [&](int i) {
        if (pending[i] == 0.0f) return;
        try {
          requests[i].wait();
          ++mine.ok;
          const Tensor out = requests[i].get_output_tensor(0);
          const float* y = out.data<float>();
          for (std::size_t e = 0; e < out.size(); ++e)
            if (y[e] != pending[i]) {
              ++mine.wrong_output;
              break;
            }
        } catch (const std::exception& e) {
          ++mine.failed;
          if (mine.errors.size() < 5) mine.errors.push_back(e.what());
        }
        pending[i] = 0.0f;
      };
      for (int k = 0; k < per_thread; ++k) {
        const int i = k % requests_per_thread;
        finish(i);
        const float value = float(t) * 1e6f + float(k) + 1.0f;
        Tensor in = requests[i].get_input_tensor(0);
        float* x = in.data<float>();
        for (std::size_t e = 0; e < in.size(); ++e) x[e] = value;
        pending[i] = value;
        requests[i].start_async();
      }
      for (int i = 0; i < requests_per_thread; ++i) finish(i);
      std::lock_guard lock(mutex);
      total.ok += mine.ok;
      total.failed += mine.failed;
      total.wrong_output += mine.wrong_output;
      for (auto& e : mine.errors) total.errors.push_back(e);
    });
  }
  for (auto& w : workers) w.join();
  return total;
}

// Every value in 1..per_thread of each thread ran exactly once over the given
// fakes. Value 0 is AUTO's warm-up inference (zero-filled inputs): ignored.
inline void expect_each_ran_once(const std::vector<std::string>& fakes, int threads, int per_thread) {
  std::map<float, int> runs;
  for (const auto& f : fakes)
    for (const auto& [value, n] : fake(f).completed_values())
      if (value != 0.0f) runs[value] += n;
  int lost = 0, duplicated = 0;
  for (int t = 0; t < threads; ++t)
    for (int k = 0; k < per_thread; ++k) {
      const float value = float(t) * 1e6f + float(k) + 1.0f;
      auto it = runs.find(value);
      if (it == runs.end())
        ++lost;
      else if (it->second > 1)
        ++duplicated;
    }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(runs.size(), std::size_t(threads) * std::size_t(per_thread));
}

// Polls `condition` every 5 ms for up to `limit`; true when it became true.
template <class F> bool eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace autosched::testing
