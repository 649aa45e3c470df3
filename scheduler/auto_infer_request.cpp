#include "scheduler/auto_infer_request.hpp"

#include "core/logging.hpp"
#include "scheduler/observer_hub.hpp"

namespace autosched::scheduler {

namespace {
std::atomic<std::uint64_t> next_request_id{1};

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

ErrorCode code_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.code();
  } catch (...) {
    return ErrorCode::device_failure;
  }
}
}  // namespace

AutoInferRequest::AutoInferRequest(std::shared_ptr<DeviceSet> devices) : devices_(std::move(devices)) {}

void AutoInferRequest::emit(RequestEventKind kind, std::uint64_t id, unsigned attempt, const std::string& device,
                            double latency_ms, const std::string& detail, const DeviceSet::Lease* lease) const {
  if (!observers_active()) return;
  RequestEvent event{kind, devices_->options().label, id, attempt, device, latency_ms, detail,
                     std::chrono::steady_clock::now(), {}, {}, 0};
  if (lease) {
    event.policy = devices_->policy_name();
    event.reason = lease->reason;
    event.predicted_latency_ms = lease->predicted_ms;
  }
  notify(event);
}

void AutoInferRequest::cancel() {
  std::lock_guard lock(current_mutex_);
  cancelled_ = true;
  if (current_) current_->cancel();
  devices_->wake();
}

AutoInferRequest::Result AutoInferRequest::run_attempt(DeviceSet::Lease& lease, const std::vector<Tensor>& inputs,
                                                       std::vector<Tensor>& outputs, std::exception_ptr& error,
                                                       double& latency_ms) {
  auto& request = *lease.request;
  const auto start = std::chrono::steady_clock::now();
  bool hung = false;
  try {
    for (std::size_t i = 0; i < inputs.size(); ++i) request.set_input_tensor(i, inputs[i]);
    const auto& ports = devices_->options().output_ports;
    for (std::size_t i = 0; i < outputs.size() && i < ports.size(); ++i)
      if (!outputs[i].empty()) request.set_tensor(ports[i], outputs[i]);
    {
      std::lock_guard lock(current_mutex_);
      current_ = request;
    }
    request.start_async();
    if (cancelled_) request.cancel();  // a cancel that raced with the start
    const double limit = devices_->timeout_ms(lease.index);
    if (limit > 0 && !request.wait_for(std::chrono::milliseconds(std::int64_t(limit + 0.5)))) {
      hung = true;
      request.cancel();
    }
    request.wait();
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(current_mutex_);
    current_.reset();
  }
  latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (hung) {
    error = std::make_exception_ptr(Error(
        ErrorCode::timeout, lease.device + ": inference did not finish within " +
                                fmt::format("{:.0f}", devices_->timeout_ms(lease.index)) + " ms; cancelled"));
    return Result::hung;
  }
  if (!error) {
    // A device that replaced an output tensor (instead of filling the bound one) hands its result back here.
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      Tensor produced = request.get_output_tensor(i);
      if (produced.same_memory(outputs[i])) continue;
      if (outputs[i].empty())
        outputs[i] = produced.clone();
      else
        produced.copy_to(outputs[i]);
    }
    return Result::ok;
  }
  if (code_of(error) == ErrorCode::cancelled && cancelled_) return Result::cancelled;
  return Result::failed;
}

void AutoInferRequest::infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  // A cancel() aimed at the previous run can land after it returned: start clean.
  // (One racing with this run's start may then be lost; cancel is best effort.)
  cancelled_ = false;
  struct ClearCancel {
    std::atomic<bool>& flag;
    ~ClearCancel() { flag = false; }
  } clear{cancelled_};
  const std::uint64_t id = next_request_id++;
  emit(RequestEventKind::enqueued, id, 0, "", 0, "");
  DeviceSet::Attempts attempts;
  std::size_t input_bytes = 0;
  for (const auto& t : inputs) input_bytes += t.byte_size();
  for (;;) {
    DeviceSet::Lease lease;
    try {
      lease = devices_->acquire(attempts, DeviceSet::RequestInfo{id, input_bytes}, cancelled_);
    } catch (const Error& e) {
      emit(e.code() == ErrorCode::cancelled ? RequestEventKind::cancelled : RequestEventKind::failed, id,
           attempts.count, "", 0, e.what());
      throw;
    }
    emit(RequestEventKind::started, id, attempts.count, lease.device, 0, lease.probe ? "probe" : "", &lease);
    std::exception_ptr error;
    double latency_ms = 0;
    const Result result = run_attempt(lease, inputs, outputs, error, latency_ms);
    switch (result) {
      case Result::ok:
        devices_->complete(lease, DeviceSet::Outcome::ok, latency_ms, "");
        emit(RequestEventKind::finished, id, attempts.count, lease.device, latency_ms, "", &lease);
        return;
      case Result::cancelled:
        devices_->complete(lease, DeviceSet::Outcome::cancelled, latency_ms, "");
        emit(RequestEventKind::cancelled, id, attempts.count, lease.device, latency_ms, "");
        std::rethrow_exception(error);
      case Result::failed:
      case Result::hung: break;
    }
    const std::string why = message_of(error);
    const ErrorCode code = code_of(error);
    if (code == ErrorCode::invalid_argument) {
      // The request itself is wrong (shapes, types): every device would refuse it.
      devices_->complete(lease, DeviceSet::Outcome::cancelled, latency_ms, "");
      emit(RequestEventKind::failed, id, attempts.count, lease.device, latency_ms, why);
      std::rethrow_exception(error);
    }
    // `unsupported` is about this request (an op mode, a shape), not the device's health.
    devices_->complete(lease, code == ErrorCode::unsupported ? DeviceSet::Outcome::rejected : DeviceSet::Outcome::failed,
                       latency_ms, why);
    attempts.errors.push_back(lease.device + ": " + why);
    attempts.codes.push_back(result == Result::hung ? ErrorCode::timeout : code);
    if (!devices_->options().runtime_fallback) {
      emit(RequestEventKind::failed, id, attempts.count, lease.device, latency_ms, why);
      std::rethrow_exception(error);
    }
    log().info("{}: request {} failed on {} ({}); re-routing", devices_->options().label, id, lease.device, why);
    emit(RequestEventKind::rerouted, id, attempts.count, lease.device, latency_ms, why, &lease);
  }
}

}  // namespace autosched::scheduler
