#pragma once
// InferRequest: one reusable inference slot of a compiled model. Inputs are
// written in place through get_tensor (no copies); start_async() queues the
// request on the compiled model's workers and returns at once.
//
// State machine: idle → queued → running → done | failed | cancelled, and back
// to queued on the next start. A request is used by one application thread at
// a time (like a file handle); wait()/cancel() may be called from any thread.
// The callback runs on a worker thread, once per completed run, before wait()
// returns; it may start this or another request again.
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "autosched/tensor.hpp"

namespace autosched {

namespace detail {
class AsyncInferRequest;
}

enum class RequestState { idle, queued, running, done, failed, cancelled };
const char* to_string(RequestState s) noexcept;

class InferRequest {
 public:
  InferRequest() = default;
  explicit InferRequest(std::shared_ptr<detail::AsyncInferRequest> impl);

  // Tensor access by name or index; throws Error(not_found) naming the valid names.
  Tensor get_tensor(const std::string& name);
  Tensor get_input_tensor(std::size_t index = 0);
  Tensor get_output_tensor(std::size_t index = 0);
  // Binds a user tensor (its memory is used directly). Type must match the
  // port and shape must be compatible with the port's partial shape.
  void set_tensor(const std::string& name, const Tensor& tensor);
  void set_input_tensor(std::size_t index, const Tensor& tensor);

  void infer();        // start_async() + wait()
  void start_async();  // throws Error(invalid_argument) if already queued/running
  // Blocks until the current run ends. Rethrows its failure as Error
  // (cancelled / device_failure / ...). Returns at once when idle.
  void wait();
  // Like wait() with a time limit; false when still running at the deadline.
  bool wait_for(std::chrono::milliseconds timeout);
  void set_callback(std::function<void(std::exception_ptr)> callback);
  // A queued request is cancelled at once; a running one is asked to stop
  // (the device may still finish it). Either way wait() then returns.
  void cancel();
  RequestState state() const;

 private:
  std::shared_ptr<detail::AsyncInferRequest> impl_;
};

}  // namespace autosched
