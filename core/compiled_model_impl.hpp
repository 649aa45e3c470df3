#pragma once
// What a CompiledModel handle refers to: the device's compiled model plus the
// core's async workers for it. Owned jointly by CompiledModel handles and the
// requests created from it, so it lives until the last request is gone.
#include <memory>
#include <string>

#include "autosched/compiled_model.hpp"
#include "autosched/plugin/device.hpp"
#include "core/request_executor.hpp"

namespace autosched::detail {

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

 private:
  std::shared_ptr<plugin::ICompiledModel> compiled_;
  std::string device_;
  unsigned request_cap_;
  unsigned workers_;
  std::unique_ptr<RequestExecutor> executor_;
};

}  // namespace autosched::detail
