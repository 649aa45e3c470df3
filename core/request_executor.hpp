#pragma once
// A fixed set of worker threads that run queued jobs in FIFO order: the
// core's async engine for one compiled model (one worker per parallel slot
// of the device). Jobs must not throw. Destruction stops the workers after
// the jobs already queued have run; it is safe to destroy the executor from
// one of its own workers (that worker is detached and exits by itself).
// With `max_queued` > 0 at most that many submitted jobs wait for a worker;
// try_submit refuses more (the core turns that into resource_exhausted).
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace autosched::detail {

class RequestExecutor {
 public:
  // `on_worker_start(i)` runs first on worker thread i (pinning, thread set-up).
  RequestExecutor(unsigned workers, std::function<void(unsigned)> on_worker_start, std::size_t max_queued = 0);
  ~RequestExecutor();
  RequestExecutor(const RequestExecutor&) = delete;
  RequestExecutor& operator=(const RequestExecutor&) = delete;

  void submit(std::function<void()> job);
  // Like submit, but returns false (and drops `job`) when max_queued jobs are already waiting.
  bool try_submit(std::function<void()> job);
  std::size_t max_queued() const noexcept { return max_queued_; }
  unsigned workers() const noexcept { return unsigned(threads_.size()); }
  // Index of the worker running the calling job (the `i` its on_worker_start
  // got); 0 on a thread that is no executor's worker.
  static unsigned current_worker() noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
  std::size_t max_queued_;
};

}  // namespace autosched::detail
