#include "scheduler/candidate_selection.hpp"

#include <algorithm>

#include "autosched/plugin/graph.hpp"
#include "core/logging.hpp"

namespace autosched::scheduler {

namespace {

std::string available_devices(const SelectionInput& input) {
  std::string names;
  for (const auto& d : input.lookup->devices())
    if (d->device_class() != plugin::DeviceClass::virtual_device) names += (names.empty() ? "" : ", ") + d->name();
  return names;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ",") + i;
  return s;
}

[[noreturn]] void bad_entry(const SelectionInput& input, const std::string& entry, const std::string& why) {
  throw Error(ErrorCode::invalid_argument, input.virtual_name + ": candidate list '" + joined(input.priorities) +
                                               "': " + why + " ('" + entry +
                                               "'); available devices: " + available_devices(input));
}

// "NAME" or "NAME(N)" → name, cap.
std::pair<std::string, unsigned> split_cap(const SelectionInput& input, const std::string& entry,
                                           const std::string& body) {
  const auto open = body.find('(');
  if (open == std::string::npos) return {body, 0};
  if (body.back() != ')') bad_entry(input, entry, "missing ')'");
  const std::string number = body.substr(open + 1, body.size() - open - 2);
  if (number.empty() || number.size() > 6 || number.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(number) == 0)
    bad_entry(input, entry, "the request cap in parentheses must be a positive integer");
  return {body.substr(0, open), unsigned(std::stoul(number))};
}

std::string precision_capability(ElementType t) {
  switch (t) {
    case ElementType::f32: return "FP32";
    case ElementType::f16: return "FP16";
    case ElementType::bf16: return "BF16";
    default: return to_string(t);
  }
}

}  // namespace

int class_rank(plugin::DeviceClass c) noexcept {
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

std::vector<Candidate> list_candidates(const SelectionInput& input) {
  std::vector<Candidate> include;
  std::vector<std::string> exclude;
  for (const auto& entry : input.priorities) {
    if (entry.empty()) bad_entry(input, entry, "empty entry");
    const bool minus = entry[0] == '-';
    auto [name, cap] = split_cap(input, entry, minus ? entry.substr(1) : entry);
    auto device = input.lookup->find_device(name);
    if (!device) bad_entry(input, entry, "unknown device '" + name + "'");
    if (device->device_class() == plugin::DeviceClass::virtual_device || device.get() == input.self)
      bad_entry(input, entry, "'" + name + "' is a virtual device; list concrete devices");
    if (minus) {
      if (cap) bad_entry(input, entry, "an exclusion takes no request cap");
      exclude.push_back(device->name());
      continue;
    }
    auto same = [&](const Candidate& c) { return c.name == device->name(); };
    if (std::find_if(include.begin(), include.end(), same) != include.end())
      bad_entry(input, entry, "device '" + device->name() + "' is listed twice");
    include.push_back({device, device->name(), cap});
  }
  auto excluded = [&](const std::string& name) {
    return std::find(exclude.begin(), exclude.end(), name) != exclude.end();
  };
  std::vector<Candidate> out;
  if (!include.empty()) {
    for (auto& c : include)
      if (!excluded(c.name)) out.push_back(std::move(c));
    if (out.empty())
      throw Error(ErrorCode::invalid_argument, input.virtual_name + ": candidate list '" + joined(input.priorities) +
                                                   "' excludes every device it names");
    return out;
  }
  for (const auto& d : input.lookup->devices()) {
    if (d.get() == input.self || !d->default_candidate() || excluded(d->name())) continue;
    out.push_back({d, d->name(), 0});
  }
  std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return class_rank(a.device->device_class()) < class_rank(b.device->device_class());
  });
  if (out.empty()) {
    // A machine with no hardware device at all: the reference device still runs everything.
    for (const auto& d : input.lookup->devices())
      if (d->device_class() == plugin::DeviceClass::reference && !excluded(d->name())) {
        log().warn("{}: no hardware device available; using the reference device {}", input.virtual_name, d->name());
        out.push_back({d, d->name(), 0});
        break;
      }
  }
  if (out.empty())
    throw Error(ErrorCode::not_found, input.virtual_name + ": no candidate device left" +
                                          (exclude.empty() ? "" : " after the exclusions " + joined(exclude)) +
                                          "; available devices: " + available_devices(input));
  return out;
}

std::vector<Candidate> filter_for_model(std::vector<Candidate> candidates, const Model& model,
                                        const Properties& properties, const std::string& virtual_name) {
  const auto precision_it = properties.find(hint::inference_precision.name);
  std::string wanted;
  if (precision_it != properties.end())
    wanted = precision_capability(from_property_string<ElementType>(hint::inference_precision.name, precision_it->second));
  std::vector<Candidate> kept;
  std::string reasons;
  for (auto& c : candidates) {
    std::string why;
    try {
      const auto supported = c.device->query_model(model);
      const auto& nodes = model.graph().nodes;
      auto missing = std::find_if(nodes.begin(), nodes.end(),
                                  [&](const ir::Node& n) { return !supported.count(n.name); });
      if (missing != nodes.end())
        why = "it cannot run op " + missing->op_type + " (node '" + missing->name + "')";
      if (why.empty() && !wanted.empty()) {
        const auto caps = c.device->capabilities();
        if (std::find(caps.begin(), caps.end(), wanted) == caps.end())
          why = "it lacks inference_precision " + wanted + " (capabilities: " + to_property_string(caps) + ")";
      }
    } catch (const std::exception& e) {
      why = std::string("query_model failed: ") + e.what();
    }
    if (!why.empty()) {
      log().info("{}: skipping {} for model '{}': {}", virtual_name, c.name, model.name(), why);
      reasons += "; " + c.name + ": " + why;
      continue;
    }
    kept.push_back(std::move(c));
  }
  if (kept.empty())
    throw Error(ErrorCode::unsupported,
                virtual_name + " found no device that can run model '" + model.name() + "'" + reasons);
  return kept;
}

}  // namespace autosched::scheduler
