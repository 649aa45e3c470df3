#pragma once
// AUTO / MULTI's synchronous request, run by the core's async workers of the
// virtual device: it acquires a device slot from the DeviceSet, runs the
// inference there through an inner InferRequest bound to the same tensors
// (zero copy), and on a device failure re-runs it on the next healthy device
// with the same inputs (runtime fallback). An attempt running longer than the
// device's timeout counts as hung: it is cancelled and re-routed.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "autosched/plugin/device.hpp"
#include "scheduler/device_set.hpp"

namespace autosched::scheduler {

class AutoInferRequest : public plugin::ISyncInferRequest {
 public:
  explicit AutoInferRequest(std::shared_ptr<DeviceSet> devices);
  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override;
  // Cancels the attempt in progress (or the wait for a slot). Between infer()
  // starting and its attempt starting, a cancel is kept; one before infer()
  // starts is dropped (it was aimed at the previous run).
  void cancel() override;

 private:
  enum class Result { ok, failed, cancelled, hung };
  // Runs one attempt on the leased device; `error` receives the failure.
  Result run_attempt(DeviceSet::Lease& lease, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                     std::exception_ptr& error, double& latency_ms);
  void emit(RequestEventKind kind, std::uint64_t id, unsigned attempt, const std::string& device,
            double latency_ms, const std::string& detail, const DeviceSet::Lease* lease = nullptr) const;

  std::shared_ptr<DeviceSet> devices_;
  std::atomic<bool> cancelled_{false};
  std::mutex current_mutex_;
  std::optional<InferRequest> current_;  // the inner request of the attempt in progress
};

}  // namespace autosched::scheduler
