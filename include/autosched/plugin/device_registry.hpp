#pragma once
// Devices register a provider by family name at static-initialisation time
// (AUTOSCHED_REGISTER_DEVICE). Each Core calls every provider once when it
// is constructed; a provider may return zero devices (no OpenCL platform) or
// many (OCL.0, OCL.1, ...). The core never names a concrete device.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"

namespace autosched::plugin {

struct DeviceContext {
  Properties core_properties;  // what the application passed to Core
  const IDeviceLookup* lookup = nullptr;  // peers; valid for the Core's lifetime
};

using DeviceProvider = std::function<std::vector<std::shared_ptr<IDevice>>(const DeviceContext&)>;

struct DeviceProviderEntry {
  std::string family;  // "REF", "CPU", "OCL", "SIM", "AUTO"
  int order;           // providers run in ascending order (virtual devices last)
  DeviceProvider provider;
};

// Adds a provider; returns true so it can initialise a static.
bool register_device_provider(std::string family, int order, DeviceProvider provider);
std::vector<DeviceProviderEntry> device_providers();

}  // namespace autosched::plugin

#define AUTOSCHED_CONCAT_INNER(a, b) a##b
#define AUTOSCHED_CONCAT(a, b) AUTOSCHED_CONCAT_INNER(a, b)
// Registers a device provider from a .cpp file of the autosched library.
#define AUTOSCHED_REGISTER_DEVICE(family, order, provider)                                  \
  [[maybe_unused]] static const bool AUTOSCHED_CONCAT(autosched_device_registered_, __LINE__) = \
      ::autosched::plugin::register_device_provider(family, order, provider)
