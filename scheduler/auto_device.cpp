// AUTO, first stage: picks the best single device for the model and hands
// the compile to it. Candidates: the device_priorities list (from
// "AUTO:a,b,-c") or every concrete device except SIM and REF; filtered by
// query_model; ordered by device class (discrete GPU > integrated GPU >
// accelerator > CPU) unless priorities were given. When no candidate exists
// (a machine with only REF), REF is used with a warning.
// The full scheduler (startup acceleration, hand-over, MULTI) replaces this.
#include <algorithm>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "core/logging.hpp"

namespace autosched::scheduler {

namespace {

int class_rank(plugin::DeviceClass c) {
  switch (c) {
    case plugin::DeviceClass::discrete_gpu: return 0;
    case plugin::DeviceClass::integrated_gpu: return 1;
    case plugin::DeviceClass::accelerator: return 2;
    case plugin::DeviceClass::cpu: return 3;
    case plugin::DeviceClass::reference: return 4;
    case plugin::DeviceClass::virtual_device: return 5;
  }
  return 5;
}

class AutoDevice : public plugin::IDevice {
 public:
  explicit AutoDevice(const plugin::IDeviceLookup* lookup) : lookup_(lookup) {}

  std::string name() const override { return "AUTO"; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::virtual_device; }
  std::vector<std::string> capabilities() const override { return {"FP32"}; }

  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> all;
    for (const auto& d : lookup_->devices())
      if (d.get() != this && d->device_class() != plugin::DeviceClass::virtual_device) {
        auto s = d->query_model(model);
        all.insert(s.begin(), s.end());
      }
    return all;
  }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    auto candidates = select_candidates(properties);
    std::string reasons;
    for (const auto& device : candidates) {
      const auto supported = device->query_model(model);
      const auto& nodes = model.graph().nodes;
      auto missing = std::find_if(nodes.begin(), nodes.end(),
                                  [&](const ir::Node& n) { return !supported.count(n.name); });
      if (missing != nodes.end()) {
        log().info("AUTO: skipping {}: it cannot run op {} (node {})", device->name(), missing->op_type,
                   missing->name);
        reasons += "; " + device->name() + " cannot run op " + missing->op_type;
        continue;
      }
      log().info("AUTO: selected {} for model '{}'", device->name(), model.name());
      Properties inner = properties;
      inner.erase("device_priorities");
      return device->compile(model, inner);
    }
    throw Error(ErrorCode::unsupported, "AUTO found no device that can run model '" + model.name() + "'" + reasons);
  }

 private:
  std::vector<std::shared_ptr<plugin::IDevice>> select_candidates(const Properties& properties) const {
    const auto listed = get_or(properties, device_priorities, std::vector<std::string>{});
    std::vector<std::string> include, exclude;
    for (const auto& item : listed) {
      const bool minus = item[0] == '-';
      std::string name = minus ? item.substr(1) : item;
      if (auto paren = name.find('('); paren != std::string::npos) name = name.substr(0, paren);
      if (!lookup_->find_device(name)) {
        std::string available;
        for (const auto& d : lookup_->devices()) available += (available.empty() ? "" : ", ") + d->name();
        throw Error(ErrorCode::invalid_argument,
                    "AUTO: unknown device '" + name + "' in the candidate list; available devices: " + available);
      }
      (minus ? exclude : include).push_back(name);
    }
    std::vector<std::shared_ptr<plugin::IDevice>> out;
    if (!include.empty()) {
      for (const auto& name : include) out.push_back(lookup_->find_device(name));
      return out;
    }
    for (const auto& d : lookup_->devices()) {
      const auto c = d->device_class();
      if (c == plugin::DeviceClass::virtual_device || c == plugin::DeviceClass::reference) continue;
      if (d->name().rfind("SIM.", 0) == 0) continue;
      if (std::find(exclude.begin(), exclude.end(), d->name()) != exclude.end()) continue;
      out.push_back(d);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return class_rank(a->device_class()) < class_rank(b->device_class());
    });
    if (out.empty()) {
      if (auto ref = lookup_->find_device("REF"); ref && std::find(exclude.begin(), exclude.end(), "REF") == exclude.end()) {
        log().warn("AUTO: no hardware device available; using the reference device REF");
        out.push_back(ref);
      }
    }
    return out;
  }

  const plugin::IDeviceLookup* lookup_;
};

}  // namespace

AUTOSCHED_REGISTER_DEVICE("AUTO", 1000, [](const plugin::DeviceContext& context) {
  return std::vector<std::shared_ptr<plugin::IDevice>>{std::make_shared<AutoDevice>(context.lookup)};
});

}  // namespace autosched::scheduler
