#include "autosched/plugin/device.hpp"

#include "autosched/error.hpp"

namespace autosched::plugin {

const char* to_string(DeviceClass c) noexcept {
  switch (c) {
    case DeviceClass::discrete_gpu: return "discrete_gpu";
    case DeviceClass::integrated_gpu: return "integrated_gpu";
    case DeviceClass::accelerator: return "accelerator";
    case DeviceClass::cpu: return "cpu";
    case DeviceClass::reference: return "reference";
    case DeviceClass::virtual_device: return "virtual";
  }
  return "unknown";
}

std::vector<std::string> IDevice::supported_properties() const {
  return {"device_full_name", "device_capabilities", "supported_properties", "device_class"};
}

std::string IDevice::get_property(const std::string& name) const {
  if (name == "device_full_name") return this->name();
  if (name == "device_capabilities") return to_property_string(capabilities());
  if (name == "supported_properties") return to_property_string(supported_properties());
  if (name == "device_class") return to_string(device_class());
  throw Error(ErrorCode::not_found, "device " + this->name() + " has no property '" + name +
                                        "'; supported: " + to_property_string(supported_properties()));
}

void infer_alone(BatchItem& item) noexcept {
  try {
    item.request->infer(*item.inputs, *item.outputs);
  } catch (...) {
    item.error = std::current_exception();
  }
}

void ICompiledModel::infer_batch(unsigned, std::vector<BatchItem>& items) {
  for (auto& item : items) infer_alone(item);
}

bool IDevice::default_candidate() const {
  const auto c = device_class();
  if (c == DeviceClass::reference || c == DeviceClass::virtual_device) return false;
  return name().rfind("SIM.", 0) != 0;
}

bool IDevice::is_compile_cached(const Model&, const Properties&) const { return false; }

}  // namespace autosched::plugin
