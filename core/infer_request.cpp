#include "autosched/infer_request.hpp"

#include "core/async_infer_request.hpp"

namespace autosched {

const char* to_string(RequestState s) noexcept {
  switch (s) {
    case RequestState::idle: return "idle";
    case RequestState::queued: return "queued";
    case RequestState::running: return "running";
    case RequestState::done: return "done";
    case RequestState::failed: return "failed";
    case RequestState::cancelled: return "cancelled";
  }
  return "unknown";
}

InferRequest::InferRequest(std::shared_ptr<detail::AsyncInferRequest> impl) : impl_(std::move(impl)) {}

namespace {
detail::AsyncInferRequest& checked(const std::shared_ptr<detail::AsyncInferRequest>& impl) {
  if (!impl) throw Error(ErrorCode::invalid_argument, "use of an empty InferRequest (default-constructed)");
  return *impl;
}
}  // namespace

Tensor InferRequest::get_tensor(const std::string& name) { return checked(impl_).get_tensor(name); }
Tensor InferRequest::get_input_tensor(std::size_t index) { return checked(impl_).get_input_tensor(index); }
Tensor InferRequest::get_output_tensor(std::size_t index) { return checked(impl_).get_output_tensor(index); }
void InferRequest::set_tensor(const std::string& name, const Tensor& tensor) { checked(impl_).set_tensor(name, tensor); }
void InferRequest::set_input_tensor(std::size_t index, const Tensor& tensor) {
  checked(impl_).set_input_tensor(index, tensor);
}
void InferRequest::infer() {
  checked(impl_).start_async();
  impl_->wait();
}
void InferRequest::start_async() { checked(impl_).start_async(); }
void InferRequest::wait() { checked(impl_).wait(); }
bool InferRequest::wait_for(std::chrono::milliseconds timeout) { return checked(impl_).wait_for(timeout); }
void InferRequest::set_callback(std::function<void(std::exception_ptr)> callback) {
  checked(impl_).set_callback(std::move(callback));
}
void InferRequest::cancel() { checked(impl_).cancel(); }
RequestState InferRequest::state() const { return checked(impl_).state(); }

}  // namespace autosched
