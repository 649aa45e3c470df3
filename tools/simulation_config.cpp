#include "tools/simulation_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "autosched/element_type.hpp"
#include "autosched/error.hpp"
#include "autosched/model.hpp"
#include "autosched/shape.hpp"
#include "devices/sim/sim_device.hpp"
#include "model/onnx_io.hpp"
#include "model/zoo/builtin_models.hpp"

namespace autosched::tools {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto end = s.find(separator, start);
    out.push_back(trim(s.substr(start, end == std::string::npos ? std::string::npos : end - start)));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// A whole-string unsigned integer, or nullopt.
std::optional<std::uint64_t> to_unsigned(const std::string& s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A whole-string finite number, or nullopt.
std::optional<double> to_number(const std::string& s) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
    // Not a number: the caller says what is valid.
  }
  return std::nullopt;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

std::string valid_device_names(const std::vector<sim::SimProfile>& profiles) {
  std::vector<std::string> names;
  for (const auto& p : profiles) names.push_back("SIM." + p.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<FleetDevice> parse_fleet(const std::string& spec, const std::vector<sim::SimProfile>& profiles,
                                     std::uint64_t run_seed) {
  const std::string valid = "valid devices: " + valid_device_names(profiles) + " (more with --profiles a.json,b.json)";
  const std::string form = "expected DEVICE[*COUNT],... e.g. SIM.fast_gpu*8,SIM.cpu_like*2";
  if (trim(spec).empty()) throw Error(ErrorCode::invalid_argument, "--fleet is empty: " + form + "; " + valid);
  struct Item {
    const sim::SimProfile* profile;
    std::uint64_t count;
  };
  std::vector<Item> items;
  std::map<std::string, std::uint64_t> total_of;  // per profile name
  std::uint64_t total = 0;
  for (const auto& item : split(spec, ',')) {
    if (item.empty()) throw Error(ErrorCode::invalid_argument, "--fleet '" + spec + "' has an empty item: " + form);
    const auto star = item.find('*');
    std::string name = trim(item.substr(0, star));
    std::uint64_t count = 1;
    if (star != std::string::npos) {
      const auto parsed = to_unsigned(trim(item.substr(star + 1)));
      if (!parsed || *parsed == 0 || *parsed > kMaxFleetDevices)
        throw Error(ErrorCode::invalid_argument, "--fleet: bad count in '" + item + "': expected an integer 1.." +
                                                     std::to_string(kMaxFleetDevices) + " after '*'");
      count = *parsed;
    }
    const std::string bare = name.rfind("SIM.", 0) == 0 ? name.substr(4) : name;
    const sim::SimProfile* found = nullptr;
    for (const auto& p : profiles)
      if (p.name == bare) found = &p;
    if (!found) throw Error(ErrorCode::invalid_argument, "--fleet: unknown device '" + name + "'; " + valid);
    items.push_back({found, count});
    total_of[found->name] += count;
    total += count;
  }
  if (total > kMaxFleetDevices)
    throw Error(ErrorCode::invalid_argument, "--fleet '" + spec + "' has " + std::to_string(total) +
                                                 " devices; at most " + std::to_string(kMaxFleetDevices));
  std::vector<FleetDevice> fleet;
  std::map<std::string, std::uint64_t> instance_of;
  for (const auto& item : items) {
    for (std::uint64_t i = 0; i < item.count; ++i) {
      const auto instance = instance_of[item.profile->name]++;
      FleetDevice d;
      d.profile = *item.profile;
      d.name = "SIM." + d.profile.name;
      if (total_of[d.profile.name] > 1) {
        d.name += '#';  // (not "#" + to_string(): GCC 12 -O3 warns falsely, -Wrestrict)
        d.name += std::to_string(instance + 1);
      }
      // Unsigned arithmetic wraps: instance 0 with run seed 0 keeps the profile's seed.
      d.profile.seed += instance * 0x9e3779b97f4a7c15ULL + run_seed * 0xbf58476d1ce4e5b9ULL;
      fleet.push_back(std::move(d));
    }
  }
  return fleet;
}

std::string ArrivalProcess::to_string() const {
  return kind == Kind::closed ? "closed:" + std::to_string(clients) : "poisson:" + number(rate_per_s);
}

ArrivalProcess parse_arrivals(const std::string& spec) {
  const std::string valid =
      "expected closed:CLIENTS (requests kept in flight, e.g. closed:64) or poisson:RATE (mean arrivals per second, "
      "e.g. poisson:20000)";
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string value = colon == std::string::npos ? "" : spec.substr(colon + 1);
  ArrivalProcess a;
  if (kind == "closed") {
    a.kind = ArrivalProcess::Kind::closed;
    if (colon == std::string::npos) return a;  // clients from the fleet
    const auto clients = to_unsigned(value);
    if (!clients || *clients == 0 || *clients > 10'000'000)
      throw Error(ErrorCode::invalid_argument,
                  "--arrivals '" + spec + "': CLIENTS must be an integer 1..10000000; " + valid);
    a.clients = unsigned(*clients);
    return a;
  }
  if (kind == "poisson") {
    a.kind = ArrivalProcess::Kind::poisson;
    const bool percent = !value.empty() && value.back() == '%';
    const auto rate = to_number(percent ? value.substr(0, value.size() - 1) : value);
    if (!rate || *rate <= 0)
      throw Error(ErrorCode::invalid_argument,
                  "--arrivals '" + spec + "': RATE must be a number > 0 (or a percentage of the oracle, e.g. "
                  "poisson:80%); " + valid);
    (percent ? a.oracle_percent : a.rate_per_s) = *rate;
    return a;
  }
  throw Error(ErrorCode::invalid_argument, "--arrivals '" + spec + "': " + valid);
}

Workload load_workload(const std::optional<std::string>& model, const std::optional<double>& gflops) {
  if (model && gflops)
    throw Error(ErrorCode::invalid_argument, "--model and --gflops both given: use one (the model's work is its GFLOP)");
  Workload w;
  if (gflops) {
    if (!(*gflops >= 0) || !std::isfinite(*gflops))
      throw Error(ErrorCode::invalid_argument, "--gflops " + number(*gflops) + ": must be a number >= 0");
    w.gflop_per_item = *gflops;
    return w;
  }
  const std::string name = model ? *model : "builtin:resnet50";
  static const std::string kBuiltin = "builtin:";
  Model m;
  if (name.rfind(kBuiltin, 0) == 0) {
    m = Model(zoo::build(name.substr(kBuiltin.size())));
  } else {
    if (!std::filesystem::exists(name))
      throw Error(ErrorCode::not_found,
                  "--model '" + name + "' does not exist (use an ONNX file, builtin:<name> or --gflops N)");
    m = Model(onnx_io::read_model(name));
  }
  w.model = name;
  w.batch = sim::batch_of(m, {});
  w.gflop_per_item = m.flops() / 1e9 / double(w.batch);
  for (const auto& port : m.inputs())
    if (port.shape.is_static())
      w.input_bytes += std::size_t(shape_size(port.shape.to_shape())) * element_size(port.element_type);
  return w;
}

double device_rate_per_s(const FleetDevice& device, const Workload& workload) {
  const double ms = device.profile.mean_latency_ms(workload.gflop_per_item, workload.batch);
  return ms > 0 ? 1e3 * device.profile.parallel_slots / ms : 0.0;
}

double oracle_rate_per_s(const std::vector<FleetDevice>& fleet, const Workload& workload) {
  double sum = 0;
  for (const auto& d : fleet) sum += device_rate_per_s(d, workload);
  return sum;
}

void resolve_rate(SimulationConfig& config) {
  auto& a = config.arrivals;
  if (a.kind != ArrivalProcess::Kind::poisson || a.oracle_percent <= 0) return;
  const double oracle = oracle_rate_per_s(config.fleet, config.workload);
  if (!(oracle > 0))
    throw Error(ErrorCode::invalid_argument, "--arrivals poisson:" + number(a.oracle_percent) +
                                                 "%: the fleet's oracle is 0 (zero latency); give a rate per second");
  a.rate_per_s = oracle * a.oracle_percent / 100.0;
}

}  // namespace autosched::tools
