#include "autosched/properties.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <sstream>

#include "scheduler/device_config.hpp"

namespace autosched {

namespace {

[[noreturn]] void bad_value(const std::string& key, const std::string& text, const std::string& allowed) {
  throw Error(ErrorCode::invalid_argument,
              "property '" + key + "': invalid value '" + text + "'; allowed: " + allowed);
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string upper(std::string s) {
  for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

template <class E, std::size_t N>
E parse_enum(const std::string& key, const std::string& text, const std::pair<E, const char*> (&names)[N]) {
  std::string allowed;
  for (const auto& [value, name] : names) {
    if (upper(trim(text)) == upper(name)) return value;
    allowed += allowed.empty() ? "" : " | ";
    allowed += name;
  }
  bad_value(key, text, allowed);
}

constexpr std::pair<PerformanceMode, const char*> kModes[] = {
    {PerformanceMode::LATENCY, "LATENCY"},
    {PerformanceMode::THROUGHPUT, "THROUGHPUT"},
    {PerformanceMode::CUMULATIVE_THROUGHPUT, "CUMULATIVE_THROUGHPUT"}};
constexpr std::pair<Priority, const char*> kPriorities[] = {
    {Priority::LOW, "LOW"}, {Priority::MEDIUM, "MEDIUM"}, {Priority::HIGH, "HIGH"}};
constexpr std::pair<LogLevel, const char*> kLevels[] = {{LogLevel::trace, "trace"}, {LogLevel::debug, "debug"},
                                                        {LogLevel::info, "info"},   {LogLevel::warn, "warn"},
                                                        {LogLevel::error, "error"}, {LogLevel::off, "off"}};
constexpr std::pair<ElementType, const char*> kPrecisions[] = {
    {ElementType::f32, "f32"}, {ElementType::bf16, "bf16"}, {ElementType::f16, "f16"}};

template <class E, std::size_t N> std::string enum_name(E v, const std::pair<E, const char*> (&names)[N]) {
  for (const auto& [value, name] : names)
    if (value == v) return name;
  return "?";
}

// What each known property accepts. `check` throws via bad_value.
struct PropertySpec {
  bool read_only;
  std::function<void(const std::string& key, const std::string& value)> check;
};

template <class T> auto parses() {
  return [](const std::string& k, const std::string& v) { (void)from_property_string<T>(k, v); };
}
auto int_at_least(std::int64_t lo) {
  return [lo](const std::string& k, const std::string& v) {
    if (from_property_string<std::int64_t>(k, v) < lo) bad_value(k, v, "an integer >= " + std::to_string(lo));
  };
}
auto positive_double() {
  return [](const std::string& k, const std::string& v) {
    if (!(from_property_string<double>(k, v) > 0)) bad_value(k, v, "a number > 0");
  };
}

const std::map<std::string, PropertySpec>& specs() {
  static const std::map<std::string, PropertySpec> table = {
      {"performance_mode", {false, parses<PerformanceMode>()}},
      {"num_requests", {false, int_at_least(0)}},
      {"latency_budget_ms", {false, positive_double()}},
      {"inference_precision", {false, parses<ElementType>()}},
      {"model_priority", {false, parses<Priority>()}},
      {"num_streams", {false, int_at_least(1)}},
      {"inference_num_threads", {false, int_at_least(0)}},
      {"enable_cpu_pinning", {false, parses<bool>()}},
      {"enable_hyper_threading", {false, parses<bool>()}},
      {"cache_dir", {false, parses<std::string>()}},
      {"enable_startup_fallback", {false, parses<bool>()}},
      {"enable_runtime_fallback", {false, parses<bool>()}},
      {"schedule_policy", {false, parses<std::string>()}},
      {"reject_over_budget", {false, parses<bool>()}},
      {"device_priorities", {false, parses<std::vector<std::string>>()}},
      {"device_properties", {false, [](const std::string&, const std::string& v) {
         (void)scheduler::parse_device_properties(v);  // syntax and each entry; device names: at compile
       }}},
      {"inference_timeout_ms", {false, [](const std::string& k, const std::string& v) {
         if (from_property_string<double>(k, v) < 0) bad_value(k, v, "a number >= 0 (0 = automatic)");
       }}},
      {"log_level", {false, parses<LogLevel>()}},
      {"max_queue_length", {false, int_at_least(0)}},
      {"sim_profiles", {false, parses<std::vector<std::string>>()}},
      {"ocl_compute_units", {false, int_at_least(1)}},
      {"max_batch_size", {false, int_at_least(0)}},
      {"cpu_convolution", {false, [](const std::string& k, const std::string& v) {
         if (v != "auto" && v != "direct") bad_value(k, v, "auto or direct");
       }}},
      {"execution_devices", {true, nullptr}},
      {"optimal_number_of_infer_requests", {true, nullptr}},
      {"supported_properties", {true, nullptr}},
      {"device_full_name", {true, nullptr}},
      {"device_capabilities", {true, nullptr}},
      {"weights_bytes", {true, nullptr}},
      {"activation_bytes_per_request", {true, nullptr}},
      {"naive_activation_bytes_per_request", {true, nullptr}},
      {"scratchpad_bytes_per_request", {true, nullptr}},
      {"batch_activation_bytes", {true, nullptr}},
  };
  return table;
}

}  // namespace

std::string to_property_string(PerformanceMode v) { return enum_name(v, kModes); }
std::string to_property_string(Priority v) { return enum_name(v, kPriorities); }
std::string to_property_string(LogLevel v) { return enum_name(v, kLevels); }
std::string to_property_string(ElementType v) { return to_string(v); }
std::string to_property_string(bool v) { return v ? "true" : "false"; }
std::string to_property_string(std::int64_t v) { return std::to_string(v); }
std::string to_property_string(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}
std::string to_property_string(const std::string& v) { return v; }
std::string to_property_string(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

template <> PerformanceMode from_property_string<PerformanceMode>(const std::string& key, const std::string& text) {
  return parse_enum(key, text, kModes);
}
template <> Priority from_property_string<Priority>(const std::string& key, const std::string& text) {
  return parse_enum(key, text, kPriorities);
}
template <> LogLevel from_property_string<LogLevel>(const std::string& key, const std::string& text) {
  return parse_enum(key, text, kLevels);
}
template <> ElementType from_property_string<ElementType>(const std::string& key, const std::string& text) {
  return parse_enum(key, text, kPrecisions);
}
template <> bool from_property_string<bool>(const std::string& key, const std::string& text) {
  const std::string t = upper(trim(text));
  if (t == "TRUE" || t == "YES" || t == "1" || t == "ON") return true;
  if (t == "FALSE" || t == "NO" || t == "0" || t == "OFF") return false;
  bad_value(key, text, "true | false");
}
template <> std::int64_t from_property_string<std::int64_t>(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size()) bad_value(key, text, "an integer");
  return v;
}
template <> double from_property_string<double>(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  try {
    std::size_t used = 0;
    double v = std::stod(t, &used);
    if (used == t.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  bad_value(key, text, "a finite number");
}
template <> std::string from_property_string<std::string>(const std::string&, const std::string& text) {
  return text;
}
template <>
std::vector<std::string> from_property_string<std::vector<std::string>>(const std::string&, const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(text);
  while (std::getline(is, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void validate_properties(const Properties& props) {
  for (const auto& [key, value] : props) {
    auto it = specs().find(key);
    if (it == specs().end()) {
      std::string known;
      for (const auto& [name, spec] : specs())
        if (!spec.read_only) known += (known.empty() ? "" : ", ") + name;
      throw Error(ErrorCode::invalid_argument, "unknown property '" + key + "' (value '" + value +
                                                   "'); settable properties: " + known);
    }
    if (it->second.read_only)
      throw Error(ErrorCode::invalid_argument, "property '" + key + "' is read-only and cannot be set");
    it->second.check(key, value);
  }
}

std::vector<std::string> known_property_names() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : specs()) names.push_back(name);
  return names;
}

}  // namespace autosched
