#include "core/request_executor.hpp"

#include <tbb/concurrent_queue.h>

#include "core/logging.hpp"

namespace autosched::detail {

// Shared with the workers so that a worker outliving the executor object
// (destroyed from inside a job) still has valid state to exit through.
struct RequestExecutor::State {
  tbb::concurrent_bounded_queue<std::function<void()>> jobs;  // empty function = stop
};

RequestExecutor::RequestExecutor(unsigned workers, std::function<void(unsigned)> on_worker_start)
    : state_(std::make_shared<State>()) {
  if (workers == 0) workers = 1;
  threads_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) {
    threads_.emplace_back([state = state_, on_worker_start, i] {
      if (on_worker_start) {
        try {
          on_worker_start(i);
        } catch (const std::exception& e) {
          log().warn("worker {} set-up failed: {}", i, e.what());
        }
      }
      for (;;) {
        std::function<void()> job;
        state->jobs.pop(job);
        if (!job) return;
        job();
      }
    });
  }
}

RequestExecutor::~RequestExecutor() {
  for (std::size_t i = 0; i < threads_.size(); ++i) state_->jobs.push({});
  const auto self = std::this_thread::get_id();
  for (auto& t : threads_) {
    if (t.get_id() == self)
      t.detach();
    else
      t.join();
  }
}

void RequestExecutor::submit(std::function<void()> job) { state_->jobs.push(std::move(job)); }

}  // namespace autosched::detail
