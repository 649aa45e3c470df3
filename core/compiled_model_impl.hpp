#pragma once
// What a CompiledModel handle refers to: the device's compiled model plus the
// core's async workers for it. Owned jointly by CompiledModel handles and the
// requests created from it, so it lives until the last request is gone.
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "autosched/compiled_model.hpp"
#include "autosched/plugin/device.hpp"
#include "core/request_executor.hpp"

namespace autosched::detail {

class AsyncInferRequest;

class CompiledModelImpl : public std::enable_shared_from_this<CompiledModelImpl> {
 public:
  // `request_cap` > 0 limits requests in flight (device string "CPU(2)");
  // `max_queue_length` > 0 limits requests waiting for a worker (property max_queue_length).
  CompiledModelImpl(std::shared_ptr<plugin::ICompiledModel> compiled, std::string device, unsigned request_cap,
                    std::size_t max_queue_length = 0);
  ~CompiledModelImpl();

  plugin::ICompiledModel& compiled() { return *compiled_; }
  const Model& model() const { return compiled_->model(); }
  const std::string& device() const { return device_; }
  RequestExecutor& executor() { return *executor_; }
  std::string get_property(const std::string& name) const;

  // Queues run `run_id` of `request` for a worker; false (nothing queued) when
  // max_queue_length requests already wait. Called with the request's lock
  // held, before it turns queued. With max_batch() > 1 the run waits in the
  // pending FIFO, and the worker job that takes it may take others with it.
  bool submit(std::shared_ptr<AsyncInferRequest> request, std::uint64_t run_id);
  // Drops the pending entry of a queued run being cancelled (none without batching).
  // Called with the request's lock held.
  void withdraw(const AsyncInferRequest& request, std::uint64_t run_id);

 private:
  struct PendingRun {
    std::shared_ptr<AsyncInferRequest> request;
    std::uint64_t run_id;
  };
  // One worker job per submitted run: runs the oldest pending run together
  // with later ones of the same input shapes, up to max_batch().
  void run_pending();
  std::vector<PendingRun> take_batch();

  std::shared_ptr<plugin::ICompiledModel> compiled_;
  std::string device_;
  unsigned request_cap_;
  unsigned workers_;
  unsigned max_batch_;
  // Lock order: a request's lock, then pending_mutex_ (never the reverse).
  // Invariant: pending_.size() <= run_pending jobs queued and not yet started,
  // so no pending run is left without a job to take it.
  std::mutex pending_mutex_;
  std::deque<PendingRun> pending_;
  std::unique_ptr<RequestExecutor> executor_;
};

}  // namespace autosched::detail
