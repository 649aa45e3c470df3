// CPU: the oneDNN device. Every op the reference kernels support runs here:
// convolutions, matmuls, pooling, element-wise, softmax, normalisation and
// data movement as oneDNN primitives (program_builder.hpp), the rest per node
// through the reference kernels. Streams come from the topology's stream plan
// for the performance hint.
#include <thread>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "core/logging.hpp"
#include "devices/cpu/cpu_compiled_model.hpp"
#include "devices/cpu/cpu_isa.hpp"
#include "model/reference/op_registry.hpp"
#include "topology/stream_planner.hpp"

namespace autosched::cpu {

namespace {

class CpuDevice : public plugin::IDevice {
 public:
  std::string name() const override { return "CPU"; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::cpu; }
  std::vector<std::string> capabilities() const override {
    std::vector<std::string> caps = {"FP32"};
    if (has_bf16(effective_isa())) caps.push_back("BF16");
    return caps;
  }

  // Every node the reference kernels can run is supported (oneDNN where it
  // fits, per-node fallback otherwise); see "cpu_dnnl_ops" for the split.
  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> supported;
    for (const auto& node : model.graph().nodes)
      if (reference::is_supported(node.op_type)) supported.insert(node.name);
    return supported;
  }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    apply_log_level(properties);
    for (const auto& node : model.graph().nodes)
      if (!reference::is_supported(node.op_type))
        throw Error(ErrorCode::unsupported, "CPU cannot run op '" + node.op_type + "' (node '" + node.name + "')");
    CpuConfig config;
    const std::string isa = effective_isa();
    config.isa = isa;
    config.mode = get_or(properties, hint::performance_mode, PerformanceMode::LATENCY);
    config.precision = get_or(properties, hint::inference_precision, ElementType::f32);
    check_precision(config.precision, isa);
    config.max_batch_size = get_or(properties, max_batch_size, std::int64_t{0});
    if (auto it = properties.find("cpu_convolution"); it != properties.end())
      config.convolution = parse_conv_algorithm(it->second);

    topology::PlanRequest request;
    request.mode = config.mode;
    request.num_requests = int(get_or(properties, hint::num_requests, std::int64_t{0}));
    if (properties.count(num_streams.name)) request.num_streams = int(get_or(properties, num_streams, std::int64_t{1}));
    if (properties.count(inference_num_threads.name))
      request.inference_num_threads = int(get_or(properties, inference_num_threads, std::int64_t{1}));
    request.enable_cpu_pinning = get_or(properties, enable_cpu_pinning, true);
    request.enable_hyper_threading = get_or(properties, enable_hyper_threading, false);
    request.model_gflops = model.flops() / 1e9;
    config.plan = topology::plan_streams(topology::machine(), request);
    if (config.plan.streams.empty()) config.plan.streams.push_back({1, {}});
    log().debug("CPU: stream plan for '{}': {}", model.name(), config.plan.to_string());
    try {
      return std::make_shared<CpuCompiledModel>(model, std::move(config));
    } catch (const dnnl::error& e) {
      throw Error(ErrorCode::device_failure, std::string("CPU: oneDNN failed while compiling: ") + e.what());
    }
  }

  std::vector<std::string> supported_properties() const override {
    auto props = IDevice::supported_properties();
    props.insert(props.end(), {"cpu_isa", "cpu_dnnl_ops"});
    return props;
  }

  std::string get_property(const std::string& name) const override {
    const std::string isa = effective_isa();
    if (name == "device_full_name") {
      const auto* v = dnnl::version();
      return "CPU (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
             std::to_string(v->patch) + ", " + isa + ", " +
             std::to_string(topology::machine().physical_cores()) + " cores)";
    }
    if (name == "cpu_isa") return isa;
    if (name == "cpu_dnnl_ops") {
      std::vector<std::string> ops;
      for (const auto& op : reference::supported_ops())
        if (is_dnnl_candidate(op)) ops.push_back(op);
      return to_property_string(ops);
    }
    return IDevice::get_property(name);
  }
};

}  // namespace

AUTOSCHED_REGISTER_DEVICE("CPU", 10, [](const plugin::DeviceContext&) {
  return std::vector<std::shared_ptr<plugin::IDevice>>{std::make_shared<CpuDevice>()};
});

}  // namespace autosched::cpu
