#include "autosched/core.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "core/compiled_model_impl.hpp"
#include "core/device_string.hpp"
#include "core/logging.hpp"
#include "model/onnx_io.hpp"
#include "model/zoo/builtin_models.hpp"

namespace autosched::detail {

// Owns this Core's devices (from every registered provider) and answers
// lookups by name or alias for the virtual devices.
class CoreImpl : public plugin::IDeviceLookup {
 public:
  explicit CoreImpl(Properties properties) : properties_(std::move(properties)) {
    validate_properties(properties_);
    apply_log_level(properties_);
  }

  void discover() {
    plugin::DeviceContext context{properties_, this};
    for (const auto& entry : plugin::device_providers()) {
      std::vector<std::shared_ptr<plugin::IDevice>> found;
      try {
        found = entry.provider(context);
      } catch (const Error& e) {
        // A configuration mistake (a bad or missing SIM profile named by the
        // application) is the user's to fix: fail the Core constructor with
        // the provider's message. Anything else means the family is unavailable.
        if (e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::io) throw;
        log().warn("device family {} is unavailable: {}", entry.family, e.what());
        continue;
      } catch (const std::exception& e) {
        log().warn("device family {} is unavailable: {}", entry.family, e.what());
        continue;
      }
      for (auto& device : found) {
        log().debug("found device {} ({})", device->name(), plugin::to_string(device->device_class()));
        by_name_[device->name()] = device;
        for (const auto& alias : device->aliases()) by_name_.emplace(alias, device);
        devices_.push_back(std::move(device));
      }
    }
  }

  std::shared_ptr<plugin::IDevice> find_device(const std::string& name) const override {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<plugin::IDevice>> devices() const override { return devices_; }

  std::string available_names() const {
    std::string s;
    for (const auto& d : devices_) s += (s.empty() ? "" : ", ") + d->name();
    return s;
  }

  std::shared_ptr<plugin::IDevice> require_device(const std::string& name, const std::string& whole) const {
    auto device = find_device(name);
    if (!device)
      throw Error(ErrorCode::invalid_argument, "device string '" + whole + "': unknown device '" + name +
                                                   "'; available devices: " + available_names());
    return device;
  }

  const Properties& properties() const { return properties_; }

 private:
  Properties properties_;
  std::vector<std::shared_ptr<plugin::IDevice>> devices_;
  std::map<std::string, std::shared_ptr<plugin::IDevice>> by_name_;
};

}  // namespace autosched::detail

namespace autosched {

Core::Core(const Properties& properties) : impl_(std::make_shared<detail::CoreImpl>(properties)) {
  impl_->discover();
}

Core::~Core() = default;

std::vector<std::string> Core::builtin_models() { return zoo::builtin_names(); }

Model Core::read_model(const std::string& path_or_builtin) const {
  static const std::string kBuiltin = "builtin:";
  if (path_or_builtin.rfind(kBuiltin, 0) == 0) return Model(zoo::build(path_or_builtin.substr(kBuiltin.size())));
  if (!std::filesystem::exists(path_or_builtin))
    throw Error(ErrorCode::not_found, "model file '" + path_or_builtin +
                                          "' does not exist (use an ONNX file path or builtin:<name>)");
  return Model(onnx_io::read_model(path_or_builtin));
}

CompiledModel Core::compile_model(const Model& model, const std::string& device, const Properties& properties) {
  if (model.empty()) throw Error(ErrorCode::invalid_argument, "compile_model: the model is empty");
  validate_properties(properties);
  apply_log_level(properties);
  const auto request = detail::parse_device_string(device);
  auto target = impl_->require_device(request.name, device);
  Properties merged = impl_->properties();
  for (const auto& [k, v] : properties) merged[k] = v;
  if (request.has_candidate_list) {
    if (target->device_class() != plugin::DeviceClass::virtual_device)
      throw Error(ErrorCode::invalid_argument, "device string '" + device + "': only AUTO and MULTI take a " +
                                                   "candidate list after ':'; " + request.name + " does not");
    merged["device_priorities"] = to_property_string(request.candidates);
  }
  auto compiled = target->compile(model, merged);
  log().info("compiled model '{}' for {}", model.name(), device);
  const auto max_queue = get_or(merged, max_queue_length, std::int64_t{0});
  return CompiledModel(std::make_shared<detail::CompiledModelImpl>(std::move(compiled), device, request.request_cap,
                                                                   std::size_t(max_queue)));
}

CompiledModel Core::compile_model(const std::string& path_or_builtin, const std::string& device,
                                  const Properties& properties) {
  return compile_model(read_model(path_or_builtin), device, properties);
}

std::vector<std::string> Core::get_available_devices() const {
  std::vector<std::string> names;
  for (const auto& d : impl_->devices()) names.push_back(d->name());
  return names;
}

std::string Core::get_property(const std::string& device, const std::string& name) const {
  const auto request = detail::parse_device_string(device);
  return impl_->require_device(request.name, device)->get_property(name);
}

}  // namespace autosched
