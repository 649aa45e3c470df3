#pragma once
// The core's async wrapper around a device's ISyncInferRequest: owns the
// bound tensors, the state machine (idle → queued → running → done | failed |
// cancelled) and the callback. See InferRequest for the user-facing contract.
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "autosched/infer_request.hpp"
#include "autosched/plugin/device.hpp"

namespace autosched::detail {

class CompiledModelImpl;

class AsyncInferRequest : public std::enable_shared_from_this<AsyncInferRequest> {
 public:
  explicit AsyncInferRequest(std::shared_ptr<CompiledModelImpl> model);
  ~AsyncInferRequest();

  Tensor get_tensor(const std::string& name);
  Tensor get_input_tensor(std::size_t index);
  Tensor get_output_tensor(std::size_t index);
  void set_tensor(const std::string& name, const Tensor& tensor);
  void set_input_tensor(std::size_t index, const Tensor& tensor);

  void start_async();
  void wait();
  bool wait_for(std::chrono::milliseconds timeout);
  void set_callback(std::function<void(std::exception_ptr)> callback);
  void cancel();
  RequestState state() const;

  // The worker side, driven by CompiledModelImpl's jobs. A run is claimed
  // (queued → running) by exactly one job, which then either infers it alone
  // or hands its batch_item() to the device and finishes it with the item's error.
  // Runs run `run_id` alone unless it was cancelled or superseded meanwhile.
  void run(std::uint64_t run_id);
  // Queued run `run_id` turns running; false when it was cancelled or superseded.
  bool claim(std::uint64_t run_id);
  // Infers a claimed run through this request's own ISyncInferRequest and finishes it.
  void infer_claimed();
  // A claimed run's sync request and bound tensors, for ICompiledModel::infer_batch.
  plugin::BatchItem batch_item();
  // Completes a claimed run: null `error` = done; an Error as thrown (cancelled →
  // cancelled, else failed); anything else becomes device_failure naming the device.
  void finish(std::exception_ptr error);
  // Whether both requests' inputs have the same shapes. Only for requests with a
  // run queued (or being started): their inputs cannot change meanwhile.
  bool same_input_shapes(const AsyncInferRequest& other) const;

 private:
  // Records the outcome, runs the callback, wakes waiters. Called without the lock held.
  void complete(std::unique_lock<std::mutex>& lock, RequestState final_state, std::exception_ptr error);
  bool busy() const { return state_ == RequestState::queued || state_ == RequestState::running || callbacks_running_ > 0; }
  void check_not_busy(const char* what) const;
  void validate_inputs() const;
  std::size_t port_index(const std::vector<PortInfo>& ports, const std::string& name) const;
  void bind(std::vector<Tensor>& slots, const PortInfo& port, std::size_t index, const Tensor& tensor);

  std::shared_ptr<CompiledModelImpl> model_;
  std::unique_ptr<plugin::ISyncInferRequest> sync_;
  std::vector<Tensor> inputs_;
  std::vector<Tensor> outputs_;

  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  RequestState state_ = RequestState::idle;
  int callbacks_running_ = 0;  // callbacks of finished runs still executing
  std::uint64_t run_id_ = 0;
  std::exception_ptr error_;
  std::function<void(std::exception_ptr)> callback_;
};

}  // namespace autosched::detail
