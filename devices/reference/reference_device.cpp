// REF: the reference kernels as a device. Slow and exact: the oracle every
// other device is checked against. Parallel slots: 1 under LATENCY, one per
// hardware thread under THROUGHPUT (num_streams overrides).
#include <atomic>
#include <thread>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "model/reference/graph_executor.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {

namespace {

class ReferenceSyncRequest : public plugin::ISyncInferRequest {
 public:
  explicit ReferenceSyncRequest(std::shared_ptr<const GraphExecutor> executor) : executor_(std::move(executor)) {}

  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    cancel_requested_ = false;
    executor_->run(inputs, outputs, &cancel_requested_);
  }
  void cancel() override { cancel_requested_ = true; }

 private:
  std::shared_ptr<const GraphExecutor> executor_;
  std::atomic<bool> cancel_requested_{false};
};

class ReferenceCompiledModel : public plugin::ICompiledModel {
 public:
  ReferenceCompiledModel(Model model, unsigned slots, PerformanceMode mode)
      : model_(std::move(model)),
        executor_(std::make_shared<GraphExecutor>(model_.graph_ptr())),
        slots_(slots),
        mode_(mode) {}

  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<ReferenceSyncRequest>(executor_);
  }
  unsigned num_parallel_requests() const override { return slots_; }
  const Model& model() const override { return model_; }

  std::string get_property(const std::string& name) const override {
    if (name == "optimal_number_of_infer_requests") return to_property_string(std::int64_t(slots_));
    if (name == "execution_devices") return "REF";
    if (name == "num_streams") return to_property_string(std::int64_t(slots_));
    if (name == "performance_mode") return to_property_string(mode_);
    if (name == "inference_precision") return "f32";
    if (name == "supported_properties")
      return "optimal_number_of_infer_requests,execution_devices,num_streams,performance_mode,inference_precision";
    throw Error(ErrorCode::not_found, "REF compiled model has no property '" + name + "'; supported: " +
                                          get_property("supported_properties"));
  }

 private:
  Model model_;
  std::shared_ptr<const GraphExecutor> executor_;
  unsigned slots_;
  PerformanceMode mode_;
};

class ReferenceDevice : public plugin::IDevice {
 public:
  std::string name() const override { return "REF"; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::reference; }
  std::vector<std::string> capabilities() const override { return {"FP32", "FP64", "FP16", "BF16", "INT64", "INT32", "INT8", "U8", "BOOL"}; }

  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> supported;
    for (const auto& node : model.graph().nodes)
      if (is_supported(node.op_type)) supported.insert(node.name);
    return supported;
  }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    for (const auto& node : model.graph().nodes)
      if (!is_supported(node.op_type))
        throw Error(ErrorCode::unsupported, "REF cannot run op '" + node.op_type + "' (node '" + node.name + "')");
    const auto mode = get_or(properties, hint::performance_mode, PerformanceMode::LATENCY);
    unsigned slots = mode == PerformanceMode::LATENCY ? 1u : std::max(1u, std::thread::hardware_concurrency());
    slots = unsigned(get_or(properties, num_streams, std::int64_t(slots)));
    return std::make_shared<ReferenceCompiledModel>(model, slots, mode);
  }

  std::string get_property(const std::string& name) const override {
    if (name == "device_full_name") return "Reference kernels (exact, single precision with f64 accumulation)";
    return IDevice::get_property(name);
  }
};

}  // namespace

AUTOSCHED_REGISTER_DEVICE("REF", 100, [](const plugin::DeviceContext&) {
  return std::vector<std::shared_ptr<plugin::IDevice>>{std::make_shared<ReferenceDevice>()};
});

}  // namespace autosched::reference
