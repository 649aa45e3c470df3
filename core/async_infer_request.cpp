#include "core/async_infer_request.hpp"

#include "core/compiled_model_impl.hpp"
#include "core/logging.hpp"

namespace autosched::detail {

namespace {
// Initial tensor for a port: static shapes are allocated; dynamic dims start at 0
// and the application sets the real shape (get_tensor(...).set_shape) before running.
Tensor initial_tensor(const PortInfo& port) {
  Shape shape;
  if (port.shape.rank_known())
    for (const auto& d : port.shape.dims()) shape.push_back(d.is_static() ? d.length : 0);
  return Tensor(port.element_type, shape);
}

std::string port_names(const std::vector<PortInfo>& a, const std::vector<PortInfo>& b) {
  std::string s;
  for (const auto* ports : {&a, &b})
    for (const auto& p : *ports) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}
}  // namespace

AsyncInferRequest::AsyncInferRequest(std::shared_ptr<CompiledModelImpl> model) : model_(std::move(model)) {
  sync_ = model_->compiled().create_sync_request();
  for (const auto& p : model_->model().inputs()) inputs_.push_back(initial_tensor(p));
  for (const auto& p : model_->model().outputs()) outputs_.push_back(initial_tensor(p));
}

AsyncInferRequest::~AsyncInferRequest() = default;

std::size_t AsyncInferRequest::port_index(const std::vector<PortInfo>& ports, const std::string& name) const {
  for (std::size_t i = 0; i < ports.size(); ++i)
    if (ports[i].name == name) return i;
  return ports.size();
}

Tensor AsyncInferRequest::get_tensor(const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto& model = model_->model();
  if (auto i = port_index(model.inputs(), name); i < inputs_.size()) return inputs_[i];
  if (auto i = port_index(model.outputs(), name); i < outputs_.size()) return outputs_[i];
  throw Error(ErrorCode::not_found,
              "no tensor named '" + name + "'; valid names: " + port_names(model.inputs(), model.outputs()));
}

Tensor AsyncInferRequest::get_input_tensor(std::size_t index) {
  std::lock_guard lock(mutex_);
  if (index >= inputs_.size())
    throw Error(ErrorCode::not_found, "input index " + std::to_string(index) + " out of range; the model has " +
                                          std::to_string(inputs_.size()) + " inputs");
  return inputs_[index];
}

Tensor AsyncInferRequest::get_output_tensor(std::size_t index) {
  std::lock_guard lock(mutex_);
  if (index >= outputs_.size())
    throw Error(ErrorCode::not_found, "output index " + std::to_string(index) + " out of range; the model has " +
                                          std::to_string(outputs_.size()) + " outputs");
  return outputs_[index];
}

void AsyncInferRequest::bind(std::vector<Tensor>& slots, const PortInfo& port, std::size_t index,
                             const Tensor& tensor) {
  if (tensor.empty()) throw Error(ErrorCode::invalid_argument, "tensor for '" + port.name + "' is empty");
  if (tensor.element_type() != port.element_type)
    throw Error(ErrorCode::invalid_argument, "tensor for '" + port.name + "' has element type " +
                                                 to_string(tensor.element_type()) + "; the model expects " +
                                                 to_string(port.element_type));
  if (!port.shape.compatible(tensor.shape()))
    throw Error(ErrorCode::invalid_argument, "tensor for '" + port.name + "' has shape " +
                                                 to_string(tensor.shape()) + "; the model expects " +
                                                 port.shape.to_string());
  slots[index] = tensor;
}

void AsyncInferRequest::set_tensor(const std::string& name, const Tensor& tensor) {
  std::lock_guard lock(mutex_);
  check_not_busy("set_tensor");
  const auto& model = model_->model();
  if (auto i = port_index(model.inputs(), name); i < inputs_.size()) return bind(inputs_, model.inputs()[i], i, tensor);
  if (auto i = port_index(model.outputs(), name); i < outputs_.size())
    return bind(outputs_, model.outputs()[i], i, tensor);
  throw Error(ErrorCode::not_found,
              "no tensor named '" + name + "'; valid names: " + port_names(model.inputs(), model.outputs()));
}

void AsyncInferRequest::set_input_tensor(std::size_t index, const Tensor& tensor) {
  std::lock_guard lock(mutex_);
  check_not_busy("set_input_tensor");
  if (index >= inputs_.size())
    throw Error(ErrorCode::not_found, "input index " + std::to_string(index) + " out of range; the model has " +
                                          std::to_string(inputs_.size()) + " inputs");
  bind(inputs_, model_->model().inputs()[index], index, tensor);
}

void AsyncInferRequest::check_not_busy(const char* what) const {
  if (state_ == RequestState::queued || state_ == RequestState::running)
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": the request is " + to_string(state_) +
                                                 "; wait() for it before changing or restarting it");
}

void AsyncInferRequest::validate_inputs() const {
  const auto& ports = model_->model().inputs();
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (!ports[i].shape.compatible(inputs_[i].shape()))
      throw Error(ErrorCode::invalid_argument, "input '" + ports[i].name + "' has shape " +
                                                   to_string(inputs_[i].shape()) + "; the model expects " +
                                                   ports[i].shape.to_string());
  }
}

void AsyncInferRequest::start_async() {
  // Submitting under the lock is safe (the job locks it on a worker, after we
  // return) and lets a refused submit leave the request untouched.
  std::lock_guard lock(mutex_);
  check_not_busy("start_async");
  validate_inputs();
  const std::uint64_t id = run_id_ + 1;
  if (!model_->submit(shared_from_this(), id))
    throw Error(ErrorCode::resource_exhausted,
                model_->device() + ": start_async refused: " + std::to_string(model_->executor().max_queued()) +
                    " requests are already waiting (max_queue_length); wait for some to finish or raise the limit");
  state_ = RequestState::queued;
  error_ = nullptr;
  run_id_ = id;
}

void AsyncInferRequest::run(std::uint64_t run_id) {
  if (claim(run_id)) infer_claimed();
}

bool AsyncInferRequest::claim(std::uint64_t run_id) {
  std::lock_guard lock(mutex_);
  if (run_id != run_id_ || state_ != RequestState::queued) return false;  // cancelled while queued
  state_ = RequestState::running;
  return true;
}

void AsyncInferRequest::infer_claimed() {
  std::exception_ptr error;
  try {
    sync_->infer(inputs_, outputs_);
  } catch (...) {
    error = std::current_exception();
  }
  finish(error);
}

plugin::BatchItem AsyncInferRequest::batch_item() { return {sync_.get(), &inputs_, &outputs_, nullptr}; }

void AsyncInferRequest::finish(std::exception_ptr error) {
  RequestState final_state = RequestState::done;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      final_state = e.code() == ErrorCode::cancelled ? RequestState::cancelled : RequestState::failed;
    } catch (const std::exception& e) {
      error = std::make_exception_ptr(Error(ErrorCode::device_failure, model_->device() + ": " + e.what()));
      final_state = RequestState::failed;
    } catch (...) {
      error = std::make_exception_ptr(Error(ErrorCode::device_failure, model_->device() + ": unknown exception"));
      final_state = RequestState::failed;
    }
  }
  std::unique_lock lock(mutex_);
  complete(lock, final_state, error);
}

bool AsyncInferRequest::same_input_shapes(const AsyncInferRequest& other) const {
  for (std::size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].shape() != other.inputs_[i].shape()) return false;
  return true;
}

void AsyncInferRequest::complete(std::unique_lock<std::mutex>& lock, RequestState final_state,
                                 std::exception_ptr error) {
  state_ = final_state;
  error_ = error;
  ++callbacks_running_;
  auto callback = callback_;
  lock.unlock();
  if (callback) {
    try {
      callback(error);
    } catch (const std::exception& e) {
      log().error("infer request callback threw: {}", e.what());
    } catch (...) {
      log().error("infer request callback threw a non-standard exception");
    }
  }
  lock.lock();
  --callbacks_running_;
  done_cv_.notify_all();
}

void AsyncInferRequest::wait() {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [this] { return !busy(); });
  if (error_) std::rethrow_exception(error_);
}

bool AsyncInferRequest::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!done_cv_.wait_for(lock, timeout, [this] { return !busy(); })) return false;
  if (error_) std::rethrow_exception(error_);
  return true;
}

void AsyncInferRequest::set_callback(std::function<void(std::exception_ptr)> callback) {
  std::lock_guard lock(mutex_);
  callback_ = std::move(callback);
}

void AsyncInferRequest::cancel() {
  std::unique_lock lock(mutex_);
  if (state_ == RequestState::queued) {
    model_->withdraw(*this, run_id_);
    complete(lock, RequestState::cancelled,
             std::make_exception_ptr(Error(ErrorCode::cancelled, "request cancelled before it started")));
    return;
  }
  if (state_ == RequestState::running) {
    lock.unlock();
    sync_->cancel();
  }
}

RequestState AsyncInferRequest::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace autosched::detail
