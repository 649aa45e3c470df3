#pragma once
// Load driver shared by the async tests: `total` runs through a few request
// objects whose callbacks restart their own request until `total` runs have
// started, so completions and starts race on the workers.
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "autosched/autosched.hpp"
#include "tests/unit/watchdog.hpp"

namespace autosched::testing {

struct RestartCounts {
  int completed = 0;
  int rejected = 0;  // completions `ok` judged wrong
};

// `ok(i, error)` judges a completion of requests[i], from its callback (before
// the restart). Replaces the requests' callbacks; returns once every run has
// completed and no callback runs; aborts the binary after `limit` (a hang).
inline RestartCounts run_restarting(std::vector<InferRequest>& requests, int total,
                                    const std::function<bool(std::size_t, std::exception_ptr)>& ok,
                                    std::chrono::seconds limit) {
  std::mutex mutex;
  std::condition_variable cv;
  int started = 0;
  RestartCounts counts;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].set_callback([&, i](std::exception_ptr error) {
      const bool good = ok(i, error);
      std::unique_lock lock(mutex);
      ++counts.completed;
      if (!good) ++counts.rejected;
      if (started < total) {
        ++started;
        lock.unlock();
        requests[i].start_async();
        return;
      }
      cv.notify_all();
    });
  }
  within(limit, [&] {
    std::unique_lock lock(mutex);
    // Completions restart their request while this loop runs: they may reach the total first.
    for (std::size_t i = 0; i < requests.size() && started < total; ++i) {
      ++started;
      lock.unlock();
      requests[i].start_async();
      lock.lock();
    }
    cv.wait(lock, [&] { return counts.completed == total; });
  });
  for (auto& r : requests) {
    try {
      r.wait();  // also waits for a callback still running; its outcome went to `ok`
    } catch (const Error&) {
    }
    r.set_callback({});  // it refers to this frame
  }
  return counts;
}

}  // namespace autosched::testing
