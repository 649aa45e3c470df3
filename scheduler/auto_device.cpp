// The virtual devices AUTO and MULTI. They know devices only through the
// registry lookup (never by name): candidates come from the device string /
// device_priorities or from every device's default_candidate(), and the
// compiled model (AutoCompiledModel) schedules requests over them.
//   AUTO  — default hint LATENCY: one device, the measured fastest, with CPU
//           startup acceleration and runtime fallback.
//   MULTI — always CUMULATIVE_THROUGHPUT: every candidate at once.
#include "autosched/plugin/device_registry.hpp"
#include "scheduler/auto_compiled_model.hpp"
#include "scheduler/candidate_selection.hpp"
#include "scheduler/device_config.hpp"

namespace autosched::scheduler {

namespace {

// Properties that steer AUTO / MULTI themselves and are not passed to the devices.
constexpr const char* kOwnProperties[] = {"device_priorities",    "enable_startup_fallback", "enable_runtime_fallback",
                                          "schedule_policy",      "inference_timeout_ms",    "latency_budget_ms",
                                          "reject_over_budget",   "model_priority"};

class VirtualDevice : public plugin::IDevice {
 public:
  VirtualDevice(std::string name, bool cumulative, const plugin::IDeviceLookup* lookup)
      : name_(std::move(name)), cumulative_(cumulative), lookup_(lookup) {}

  std::string name() const override { return name_; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::virtual_device; }
  std::vector<std::string> capabilities() const override {
    std::set<std::string> all;
    for (const auto& c : default_candidates())
      for (const auto& cap : c.device->capabilities()) all.insert(cap);
    if (all.empty()) all.insert("FP32");
    return {all.begin(), all.end()};
  }

  // The nodes some default candidate can run.
  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> all;
    for (const auto& c : default_candidates()) {
      auto s = c.device->query_model(model);
      all.insert(s.begin(), s.end());
    }
    return all;
  }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    SelectionInput input{name_, get_or(properties, device_priorities, std::vector<std::string>{}), lookup_, this};
    const auto listed = list_candidates(input);
    const auto entries = parse_device_properties(get_or(properties, device_properties, std::string{}));
    auto candidates = filter_for_model(listed, model, properties, name_);

    AutoConfig config;
    config.virtual_name = name_;
    const auto requested = get_or(properties, hint::performance_mode,
                                  cumulative_ ? PerformanceMode::CUMULATIVE_THROUGHPUT : PerformanceMode::LATENCY);
    config.mode = cumulative_ ? PerformanceMode::CUMULATIVE_THROUGHPUT : requested;
    config.startup_fallback = get_or(properties, enable_startup_fallback, true);
    config.runtime_fallback = get_or(properties, enable_runtime_fallback, true);
    config.policy = get_or(properties, schedule_policy, std::string{});
    config.inference_timeout_ms = get_or(properties, inference_timeout_ms, 0.0);
    config.latency_budget_ms = get_or(properties, hint::latency_budget_ms, 0.0);
    config.reject_over_budget = get_or(properties, reject_over_budget, false);
    config.model_priority = 2 - int(get_or(properties, hint::model_priority, Priority::MEDIUM));
    (void)policy_for(config);  // a bad policy name or library fails here, before compiling
    Properties shared = properties;
    for (const char* key : kOwnProperties) shared.erase(key);
    shared.erase(device_properties.name);
    // Each device runs at its own configuration for the hint: the cumulative
    // case means many requests per device, i.e. each device's THROUGHPUT.
    const auto device_mode = requested == PerformanceMode::LATENCY ? PerformanceMode::LATENCY
                                                                   : PerformanceMode::THROUGHPUT;
    shared[hint::performance_mode.name] = to_property_string(device_mode);
    // A device's own entry (device_properties) overrides, even the performance_mode above.
    config.device_properties = DeviceConfig(std::move(shared), entries, listed, name_);
    return std::make_shared<AutoCompiledModel>(model, std::move(candidates), std::move(config));
  }

  std::vector<std::string> supported_properties() const override {
    auto names = IDevice::supported_properties();
    for (const char* n : {"device_priorities", "performance_mode", "enable_startup_fallback",
                          "enable_runtime_fallback", "schedule_policy", "inference_timeout_ms", "latency_budget_ms",
                          "reject_over_budget", "model_priority"})
      names.push_back(n);
    return names;
  }

  std::string get_property(const std::string& name) const override {
    if (name == "device_priorities") {
      std::vector<std::string> names;
      for (const auto& c : default_candidates()) names.push_back(c.name);
      return to_property_string(names);
    }
    if (name == "performance_mode")
      return to_property_string(cumulative_ ? PerformanceMode::CUMULATIVE_THROUGHPUT : PerformanceMode::LATENCY);
    if (name == "enable_startup_fallback" || name == "enable_runtime_fallback") return "true";
    if (name == "schedule_policy") return cumulative_ ? "throughput" : "latency";
    if (name == "latency_budget_ms") return "0";
    if (name == "reject_over_budget") return "false";
    if (name == "model_priority") return to_property_string(Priority::MEDIUM);
    if (name == "inference_timeout_ms") return "0";
    if (name == "device_full_name")
      return cumulative_ ? "MULTI: every selected device at once" : "AUTO: automatic device selection";
    return IDevice::get_property(name);
  }

 private:
  std::vector<Candidate> default_candidates() const {
    try {
      return list_candidates(SelectionInput{name_, {}, lookup_, this});
    } catch (const Error&) {
      return {};
    }
  }

  std::string name_;
  bool cumulative_;
  const plugin::IDeviceLookup* lookup_;
};

}  // namespace

std::vector<std::shared_ptr<plugin::IDevice>> provide_virtual_devices(const plugin::DeviceContext& context) {
  std::vector<std::shared_ptr<plugin::IDevice>> devices;
  devices.push_back(std::make_shared<VirtualDevice>("AUTO", false, context.lookup));
  devices.push_back(std::make_shared<VirtualDevice>("MULTI", true, context.lookup));
  return devices;
}

AUTOSCHED_REGISTER_DEVICE("AUTO", 1000, provide_virtual_devices);

}  // namespace autosched::scheduler
