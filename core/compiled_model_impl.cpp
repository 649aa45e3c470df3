#include "core/compiled_model_impl.hpp"

#include <algorithm>

#include "core/async_infer_request.hpp"

namespace autosched::detail {

CompiledModelImpl::CompiledModelImpl(std::shared_ptr<plugin::ICompiledModel> compiled, std::string device,
                                     unsigned request_cap, std::size_t max_queue_length)
    : compiled_(std::move(compiled)), device_(std::move(device)), request_cap_(request_cap) {
  workers_ = std::max(1u, compiled_->num_parallel_requests());
  if (request_cap > 0) workers_ = std::min(workers_, request_cap);
  executor_ = std::make_unique<RequestExecutor>(
      workers_, [compiled = compiled_](unsigned worker) { compiled->on_worker_start(worker); }, max_queue_length);
}

CompiledModelImpl::~CompiledModelImpl() { executor_.reset(); }

std::string CompiledModelImpl::get_property(const std::string& name) const {
  if (name == "optimal_number_of_infer_requests") {
    const auto n = from_property_string<std::int64_t>(name, compiled_->get_property(name));
    return to_property_string(request_cap_ > 0 ? std::min<std::int64_t>(n, request_cap_) : n);
  }
  if (name == "max_queue_length") return to_property_string(std::int64_t(executor_->max_queued()));
  return compiled_->get_property(name);
}

}  // namespace autosched::detail

namespace autosched {

CompiledModel::CompiledModel(std::shared_ptr<detail::CompiledModelImpl> impl) : impl_(std::move(impl)) {}

namespace {
detail::CompiledModelImpl& checked(const std::shared_ptr<detail::CompiledModelImpl>& impl) {
  if (!impl) throw Error(ErrorCode::invalid_argument, "use of an empty CompiledModel (default-constructed)");
  return *impl;
}
}  // namespace

InferRequest CompiledModel::create_infer_request() {
  checked(impl_);
  return InferRequest(std::make_shared<detail::AsyncInferRequest>(impl_));
}
const std::vector<PortInfo>& CompiledModel::inputs() const { return checked(impl_).model().inputs(); }
const std::vector<PortInfo>& CompiledModel::outputs() const { return checked(impl_).model().outputs(); }
std::string CompiledModel::get_property(const std::string& name) const { return checked(impl_).get_property(name); }
const std::string& CompiledModel::device() const { return checked(impl_).device(); }

}  // namespace autosched

namespace autosched::plugin {

CompiledModel wrap_compiled_model(std::shared_ptr<ICompiledModel> compiled, const std::string& device_name,
                                  unsigned request_cap) {
  if (!compiled) throw Error(ErrorCode::invalid_argument, "wrap_compiled_model: no compiled model");
  return CompiledModel(std::make_shared<detail::CompiledModelImpl>(std::move(compiled), device_name, request_cap));
}

}  // namespace autosched::plugin
