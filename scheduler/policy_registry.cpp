// The policy registry and shared-library loading (dlopen).
#include "scheduler/policy_registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched {

const char* to_string(DeviceHealth health) noexcept {
  switch (health) {
    case DeviceHealth::healthy: return "healthy";
    case DeviceHealth::quarantined: return "quarantined";
    case DeviceHealth::draining: return "draining";
    case DeviceHealth::compiling: return "compiling";
    case DeviceHealth::unavailable: return "unavailable";
  }
  return "unknown";
}

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, PolicyFactory> factories;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::string joined_names() {
  std::string out;
  for (const auto& n : policy_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A policy from a shared library: keeps the library open while the policy lives.
class LoadedPolicy : public Policy {
 public:
  LoadedPolicy(std::shared_ptr<void> library, const AutoschedPolicyPlugin* plugin, Policy* inner)
      : library_(std::move(library)), plugin_(plugin), inner_(inner) {}
  ~LoadedPolicy() override { plugin_->destroy(inner_); }
  std::string name() const override { return inner_->name(); }
  Decision choose(std::span<const DeviceStats> devices, const PendingRequest& request) override {
    return inner_->choose(devices, request);
  }
  void on_complete(std::span<const DeviceStats> devices, const Completion& completion) override {
    inner_->on_complete(devices, completion);
  }

 private:
  std::shared_ptr<void> library_;
  const AutoschedPolicyPlugin* plugin_;
  Policy* inner_;
};

std::unique_ptr<Policy> load_policy_library(const std::string& path, const PolicyConfig& config) {
  const std::string what = "property 'schedule_policy': policy library '" + path + "'";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error(ErrorCode::invalid_argument, what + " cannot be loaded: " + (why ? why : "unknown dlopen error"));
  }
  std::shared_ptr<void> library(handle, [](void* h) { dlclose(h); });
  using Entry = const AutoschedPolicyPlugin* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, AUTOSCHED_POLICY_PLUGIN_SYMBOL));
  if (!entry)
    throw Error(ErrorCode::invalid_argument, what + " does not export the entry point '" +
                                                 AUTOSCHED_POLICY_PLUGIN_SYMBOL +
                                                 "' (define it with AUTOSCHED_DEFINE_POLICY_PLUGIN)");
  const AutoschedPolicyPlugin* plugin = entry();
  if (!plugin) throw Error(ErrorCode::invalid_argument, what + ": its entry point returned no descriptor");
  if (plugin->api_version != kPolicyApiVersion)
    throw Error(ErrorCode::invalid_argument, what + " was built for policy API version " +
                                                 std::to_string(plugin->api_version) + "; this autosched has version " +
                                                 std::to_string(kPolicyApiVersion) + ": rebuild it against these headers");
  if (plugin->abi_tag != autosched_policy_abi_tag())
    throw Error(ErrorCode::invalid_argument,
                what + " was built against headers with another layout of the policy types (ABI tag " +
                    fmt::format("{:#x}", plugin->abi_tag) + ", expected " +
                    fmt::format("{:#x}", autosched_policy_abi_tag()) + "): rebuild it against these headers");
  if (!plugin->create || !plugin->destroy)
    throw Error(ErrorCode::invalid_argument, what + ": its descriptor lacks create/destroy functions");
  Policy* inner = plugin->create(&config);
  if (!inner) throw Error(ErrorCode::invalid_argument, what + ": create() returned no policy");
  log().info("schedule_policy: loaded policy '{}' from {}", plugin->name ? plugin->name : "?", path);
  return std::make_unique<LoadedPolicy>(std::move(library), plugin, inner);
}

}  // namespace

void register_policy(const std::string& name, PolicyFactory factory) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error(ErrorCode::invalid_argument,
                "register_policy: invalid policy name '" + name + "' (must be non-empty and contain no '/')");
  if (!factory) throw Error(ErrorCode::invalid_argument, "register_policy: policy '" + name + "' has no factory");
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.factories[name] = std::move(factory);
}

std::vector<std::string> policy_names() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> out;
  for (const auto& [name, factory] : r.factories) out.push_back(name);
  return out;
}

std::unique_ptr<Policy> make_policy(const std::string& name_or_path, const PolicyConfig& config) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       (name_or_path.size() > 3 && name_or_path.ends_with(".so"));
  if (is_path) return load_policy_library(name_or_path, config);
  PolicyFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    if (auto it = r.factories.find(name_or_path); it != r.factories.end()) factory = it->second;
  }
  if (!factory)
    throw Error(ErrorCode::invalid_argument, "property 'schedule_policy': unknown policy '" + name_or_path +
                                                 "'; available: " + joined_names() +
                                                 ", or a path to a policy library (.so)");
  auto policy = factory(config);
  if (!policy)
    throw Error(ErrorCode::internal, "schedule_policy: the factory of '" + name_or_path + "' returned no policy");
  return policy;
}

namespace scheduler {

bool register_builtin_policy(const char* name, PolicyFactory factory) {
  register_policy(name, std::move(factory));
  return true;
}

std::string default_policy_for_hint(const std::string& hint) {
  return hint == "LATENCY" ? "latency" : "throughput";
}

}  // namespace scheduler
}  // namespace autosched
