#include "autosched/plugin/device_registry.hpp"

#include <algorithm>
#include <mutex>

namespace autosched::plugin {

namespace {
std::vector<DeviceProviderEntry>& entries() {
  static std::vector<DeviceProviderEntry> list;
  return list;
}
std::mutex& entries_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

bool register_device_provider(std::string family, int order, DeviceProvider provider) {
  std::lock_guard lock(entries_mutex());
  entries().push_back({std::move(family), order, std::move(provider)});
  return true;
}

std::vector<DeviceProviderEntry> device_providers() {
  std::lock_guard lock(entries_mutex());
  auto list = entries();
  std::stable_sort(list.begin(), list.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  return list;
}

}  // namespace autosched::plugin
