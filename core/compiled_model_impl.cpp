#include "core/compiled_model_impl.hpp"

#include <algorithm>

#include "core/async_infer_request.hpp"

namespace autosched::detail {

CompiledModelImpl::CompiledModelImpl(std::shared_ptr<plugin::ICompiledModel> compiled, std::string device,
                                     unsigned request_cap, std::size_t max_queue_length)
    : compiled_(std::move(compiled)), device_(std::move(device)), request_cap_(request_cap) {
  workers_ = std::max(1u, compiled_->num_parallel_requests());
  max_batch_ = std::max(1u, compiled_->max_batch());
  if (request_cap > 0) workers_ = std::min(workers_, request_cap);
  executor_ = std::make_unique<RequestExecutor>(
      workers_, [compiled = compiled_](unsigned worker) { compiled->on_worker_start(worker); }, max_queue_length);
}

CompiledModelImpl::~CompiledModelImpl() { executor_.reset(); }

bool CompiledModelImpl::submit(std::shared_ptr<AsyncInferRequest> request, std::uint64_t run_id) {
  if (max_batch_ == 1) return executor_->try_submit([request = std::move(request), run_id] { request->run(run_id); });
  // The entry goes in before its job: a job started first would find nothing
  // and the entry would wait for a job that never comes.
  const auto* key = request.get();
  {
    std::lock_guard lock(pending_mutex_);
    pending_.push_back({std::move(request), run_id});
  }
  if (executor_->try_submit([self = shared_from_this()] { self->run_pending(); })) return true;
  // Refused: take the entry back. A job already queued may have taken it
  // meanwhile; its claim then fails (the request never turned queued).
  withdraw(*key, run_id);
  return false;
}

void CompiledModelImpl::withdraw(const AsyncInferRequest& request, std::uint64_t run_id) {
  if (max_batch_ == 1) return;
  std::lock_guard lock(pending_mutex_);
  const auto it = std::find_if(pending_.begin(), pending_.end(), [&](const PendingRun& p) {
    return p.request.get() == &request && p.run_id == run_id;
  });
  if (it != pending_.end()) pending_.erase(it);
}

std::vector<CompiledModelImpl::PendingRun> CompiledModelImpl::take_batch() {
  std::vector<PendingRun> batch;
  std::lock_guard lock(pending_mutex_);
  if (pending_.empty()) return batch;  // an earlier job took this job's run along with its own
  batch.push_back(std::move(pending_.front()));
  pending_.pop_front();
  const auto& first = *batch.front().request;
  for (auto it = pending_.begin(); it != pending_.end() && batch.size() < max_batch_;) {
    if (it->request->same_input_shapes(first)) {
      batch.push_back(std::move(*it));
      it = pending_.erase(it);
    } else {
      ++it;  // stays, in order, for the job of its own
    }
  }
  return batch;
}

void CompiledModelImpl::run_pending() {
  auto batch = take_batch();
  // A run cancelled after it was taken from pending_ is dropped here.
  std::erase_if(batch, [](const PendingRun& p) { return !p.request->claim(p.run_id); });
  if (batch.empty()) return;
  if (batch.size() == 1) return batch.front().request->infer_claimed();
  std::vector<plugin::BatchItem> items;
  items.reserve(batch.size());
  for (const auto& p : batch) items.push_back(p.request->batch_item());
  try {
    compiled_->infer_batch(RequestExecutor::current_worker(), items);
  } catch (...) {
    const auto error = std::current_exception();
    for (auto& item : items)
      if (!item.error) item.error = error;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].request->finish(items[i].error);
}

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
