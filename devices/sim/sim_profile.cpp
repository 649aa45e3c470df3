#include "devices/sim/sim_profile.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numbers>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autosched/error.hpp"
#include "devices/sim/sim_random.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::sim {

using nlohmann::json;

const char* to_string(JitterDistribution d) noexcept {
  switch (d) {
    case JitterDistribution::none: return "none";
    case JitterDistribution::normal: return "normal";
    case JitterDistribution::lognormal: return "lognormal";
  }
  return "unknown";
}

// ---------------------------------------------------------------- timing model

namespace {
constexpr double kZ99 = 2.3263478740408408;  // the standard normal's 99th percentile
}

double Jitter::factor(double z) const {
  switch (distribution) {
    case JitterDistribution::none: return 1.0;
    case JitterDistribution::normal: return std::max(0.0, 1.0 + sigma * z);
    case JitterDistribution::lognormal: return std::exp(z * std::log(p99_over_p50) / kZ99);
  }
  return 1.0;
}

double Jitter::mean_factor() const {
  switch (distribution) {
    case JitterDistribution::none: return 1.0;
    case JitterDistribution::normal: {
      if (sigma <= 0) return 1.0;
      const double a = 1.0 / sigma;  // E[max(0, 1 + σZ)] = Φ(a) + σ·φ(a)
      const double pdf = std::exp(-0.5 * a * a) / std::sqrt(2.0 * std::numbers::pi);
      const double cdf = 0.5 * std::erfc(-a / std::numbers::sqrt2);
      return cdf + sigma * pdf;
    }
    case JitterDistribution::lognormal: {
      const double s = std::log(p99_over_p50) / kZ99;
      return std::exp(0.5 * s * s);
    }
  }
  return 1.0;
}

double SimProfile::batch_work(std::uint64_t batch) const {
  const double b = double(std::max<std::uint64_t>(batch, 1));
  const double p = double(std::max(preferred_batch_size, 1u));
  auto within = [&](double n) { return 1.0 + (n - 1.0) * (1.0 - batch_efficiency); };
  return b <= p ? within(b) : (b / p) * within(p);
}

double SimProfile::slowdown_factor(double at_s) const {
  double f = 1.0;
  for (const auto& w : slowdowns)
    if (at_s >= w.start_s && at_s < w.start_s + w.duration_s) f *= w.factor;
  return f;
}

double SimProfile::latency_ms(double gflop_per_item, std::uint64_t batch, double at_s, double z) const {
  return (latency_base_ms + latency_per_gflop_ms * gflop_per_item * batch_work(batch)) * latency_jitter.factor(z) *
         slowdown_factor(at_s);
}

double SimProfile::mean_latency_ms(double gflop_per_item, std::uint64_t batch) const {
  return (latency_base_ms + latency_per_gflop_ms * gflop_per_item * batch_work(batch)) * latency_jitter.mean_factor();
}

InferenceDraw SimProfile::draw_inference(std::uint64_t k) const {
  // Always draw the same three numbers so one fault setting does not shift the others.
  EventRandom random(seed, RandomPurpose::inference, k);
  const double u_fail = random.uniform();
  const double u_hang = random.uniform();
  InferenceDraw draw;
  draw.z = random.normal();
  const auto listed = [k](const std::vector<std::uint64_t>& list) {
    return std::find(list.begin(), list.end(), k) != list.end();
  };
  draw.fail = listed(faults.fail_inferences) || u_fail < faults.fail_probability;
  draw.hang = listed(faults.hang_inferences) || u_hang < faults.hang_probability;
  return draw;
}

double SimProfile::compile_ms(double gflop, double z) const {
  return (compile_fixed_ms + compile_per_gflop_ms * gflop) * compile_jitter.factor(z);
}

bool SimProfile::supports_op(const std::string& op_type) const {
  if (!reference::is_supported(op_type)) return false;
  return supported_ops.empty() || std::find(supported_ops.begin(), supported_ops.end(), op_type) != supported_ops.end();
}

bool SimProfile::supports_precision(ElementType type) const {
  return supported_precisions.empty() ||
         std::find(supported_precisions.begin(), supported_precisions.end(), type) != supported_precisions.end();
}

std::vector<std::string> SimProfile::capabilities() const {
  static const std::vector<std::pair<ElementType, const char*>> names = {
      {ElementType::f32, "FP32"}, {ElementType::f64, "FP64"}, {ElementType::f16, "FP16"},
      {ElementType::bf16, "BF16"}, {ElementType::i64, "INT64"}, {ElementType::i32, "INT32"},
      {ElementType::i8, "INT8"},  {ElementType::u8, "U8"},      {ElementType::boolean, "BOOL"}};
  std::vector<std::string> caps;
  for (const auto& [type, name] : names)
    if (supports_precision(type)) caps.push_back(name);
  return caps;
}

// ---------------------------------------------------------------- JSON reading

namespace {

// Reads fields of one JSON object and reports errors naming the profile and the field path.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path, const std::string& source,
               std::vector<std::string> valid_fields)
      : object_(object), path_(std::move(path)), source_(source), valid_(std::move(valid_fields)) {
    if (!object_.is_object()) fail_at(path_.empty() ? "(top level)" : path_, "must be a JSON object", object_);
    for (const auto& [key, value] : object_.items()) {
      (void)value;
      if (std::find(valid_.begin(), valid_.end(), key) == valid_.end()) {
        std::string list;
        for (const auto& v : valid_) list += (list.empty() ? "" : ", ") + v;
        throw Error(ErrorCode::invalid_argument, "SIM profile '" + source_ + "': unknown field '" + field(key) +
                                                     "'; valid fields" + (path_.empty() ? "" : " of '" + path_ + "'") +
                                                     ": " + list);
      }
    }
  }

  bool has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  const json& at(const std::string& key) const { return object_.at(key); }
  std::string field(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& source() const { return source_; }

  [[noreturn]] void fail_at(const std::string& field_path, const std::string& what, const json& got) const {
    throw Error(ErrorCode::invalid_argument,
                "SIM profile '" + source_ + "': field '" + field_path + "' " + what + "; got " + got.dump());
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const { fail_at(field(key), what, at(key)); }

  double number(const std::string& key, double fallback, double min, double max = HUGE_VAL,
                bool min_exclusive = false) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    std::ostringstream what;
    what << "must be a number " << (min_exclusive ? "> " : ">= ") << min;
    if (max != HUGE_VAL) what << " and <= " << max;
    if (!v.is_number()) fail(key, what.str());
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < min || (min_exclusive && d == min) || d > max) fail(key, what.str());
    return d;
  }

  std::uint64_t integer(const std::string& key, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    const std::string what = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0))
      fail(key, what);
    const auto n = v.get<std::uint64_t>();
    if (n < min || n > max) fail(key, what);
    return n;
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_boolean()) fail(key, "must be true or false");
    return at(key).get<bool>();
  }

  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_string()) fail(key, "must be a string");
    return at(key).get<std::string>();
  }

  const json& array(const std::string& key) const {
    if (!at(key).is_array()) fail(key, "must be a JSON array");
    return at(key);
  }

 private:
  const json& object_;
  std::string path_;
  const std::string& source_;
  std::vector<std::string> valid_;
};

Jitter read_jitter(const ObjectReader& parent, const std::string& key) {
  Jitter j;
  if (!parent.has(key)) return j;
  ObjectReader r(parent.at(key), parent.field(key), parent.source(), {"distribution", "sigma", "p99_over_p50"});
  const std::string d = r.string("distribution", "none");
  if (d == "none") j.distribution = JitterDistribution::none;
  else if (d == "normal") j.distribution = JitterDistribution::normal;
  else if (d == "lognormal") j.distribution = JitterDistribution::lognormal;
  else r.fail("distribution", "must be one of: none, normal, lognormal");
  if (r.has("sigma") && j.distribution != JitterDistribution::normal)
    r.fail("sigma", "applies only to distribution \"normal\" (this one is \"" + d + "\")");
  if (r.has("p99_over_p50") && j.distribution != JitterDistribution::lognormal)
    r.fail("p99_over_p50", "applies only to distribution \"lognormal\" (this one is \"" + d + "\")");
  if (j.distribution == JitterDistribution::normal) {
    if (!r.has("sigma")) throw Error(ErrorCode::invalid_argument, "SIM profile '" + r.source() + "': field '" +
                                                                      r.field("sigma") + "' is required for distribution \"normal\"");
    j.sigma = r.number("sigma", 0.0, 0.0, 10.0);
  }
  if (j.distribution == JitterDistribution::lognormal) {
    if (!r.has("p99_over_p50"))
      throw Error(ErrorCode::invalid_argument, "SIM profile '" + r.source() + "': field '" + r.field("p99_over_p50") +
                                                   "' is required for distribution \"lognormal\"");
    j.p99_over_p50 = r.number("p99_over_p50", 1.0, 1.0, 1000.0);
  }
  return j;
}

std::vector<std::uint64_t> read_inference_numbers(const ObjectReader& r, const std::string& key) {
  std::vector<std::uint64_t> numbers;
  if (!r.has(key)) return numbers;
  const json& list = r.array(key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& v = list[i];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1)
      r.fail_at(r.field(key) + "[" + std::to_string(i) + "]", "must be an inference number >= 1 (1 = the first)", v);
    numbers.push_back(v.get<std::uint64_t>());
  }
  return numbers;
}

plugin::DeviceClass read_device_class(const ObjectReader& r) {
  static const std::map<std::string, plugin::DeviceClass> classes = {
      {"discrete_gpu", plugin::DeviceClass::discrete_gpu},
      {"integrated_gpu", plugin::DeviceClass::integrated_gpu},
      {"accelerator", plugin::DeviceClass::accelerator},
      {"cpu", plugin::DeviceClass::cpu}};
  if (!r.has("device_class"))
    throw Error(ErrorCode::invalid_argument, "SIM profile '" + r.source() +
                                                 "': field 'device_class' is required; valid: discrete_gpu, "
                                                 "integrated_gpu, accelerator, cpu");
  auto it = classes.find(r.string("device_class", ""));
  if (it == classes.end()) r.fail("device_class", "must be one of: discrete_gpu, integrated_gpu, accelerator, cpu");
  return it->second;
}

void read_support(const ObjectReader& r, SimProfile& p) {
  if (r.has("supported_ops")) {
    const json& ops = r.array("supported_ops");
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const std::string field = "supported_ops[" + std::to_string(i) + "]";
      if (!ops[i].is_string()) r.fail_at(field, "must be an op name (string)", ops[i]);
      const auto op = ops[i].get<std::string>();
      if (!reference::is_supported(op)) {
        std::string list;
        for (const auto& name : reference::supported_ops()) list += (list.empty() ? "" : ", ") + name;
        r.fail_at(field, "is not an op of the reference kernels; valid ops: " + list, ops[i]);
      }
      p.supported_ops.push_back(op);
    }
    if (p.supported_ops.empty()) r.fail("supported_ops", "must name at least one op (omit the field for all ops)");
  }
  if (r.has("supported_precisions")) {
    const json& types = r.array("supported_precisions");
    for (std::size_t i = 0; i < types.size(); ++i) {
      const std::string field = "supported_precisions[" + std::to_string(i) + "]";
      const char* valid = "must be an element type: f32, f16, bf16, f64, i64, i32, i8, u8, boolean";
      if (!types[i].is_string()) r.fail_at(field, valid, types[i]);
      try {
        const auto t = parse_element_type(types[i].get<std::string>());
        if (t == ElementType::undefined) r.fail_at(field, valid, types[i]);
        p.supported_precisions.push_back(t);
      } catch (const Error&) {
        r.fail_at(field, valid, types[i]);
      }
    }
    if (p.supported_precisions.empty())
      r.fail("supported_precisions", "must name at least one element type (omit the field for all)");
  }
}

void read_faults(const ObjectReader& top, SimProfile& p) {
  if (!top.has("faults")) return;
  ObjectReader r(top.at("faults"), "faults", top.source(),
                 {"fail_compile", "fail_inferences", "fail_probability", "hang_inferences", "hang_probability",
                  "disappear_after_s"});
  auto& f = p.faults;
  f.fail_compile = r.boolean("fail_compile", false);
  f.fail_inferences = read_inference_numbers(r, "fail_inferences");
  f.fail_probability = r.number("fail_probability", 0.0, 0.0, 1.0);
  f.hang_inferences = read_inference_numbers(r, "hang_inferences");
  f.hang_probability = r.number("hang_probability", 0.0, 0.0, 1.0);
  if (r.has("disappear_after_s")) f.disappear_after_s = r.number("disappear_after_s", 0.0, 0.0);
}

void read_slowdowns(const ObjectReader& top, SimProfile& p) {
  if (!top.has("slowdowns")) return;
  const json& list = top.array("slowdowns");
  for (std::size_t i = 0; i < list.size(); ++i) {
    ObjectReader r(list[i], "slowdowns[" + std::to_string(i) + "]", top.source(), {"start_s", "duration_s", "factor"});
    for (const char* required : {"start_s", "duration_s", "factor"})
      if (!r.has(required))
        throw Error(ErrorCode::invalid_argument, "SIM profile '" + top.source() + "': field '" + r.field(required) +
                                                     "' is required (a window is {start_s, duration_s, factor})");
    SlowdownWindow w;
    w.start_s = r.number("start_s", 0.0, 0.0);
    w.duration_s = r.number("duration_s", 0.0, 0.0, HUGE_VAL, true);
    w.factor = r.number("factor", 1.0, 0.0, HUGE_VAL, true);
    p.slowdowns.push_back(w);
  }
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

SimProfile parse_profile(const std::string& json_text, const std::string& source, const std::string& default_name) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::io, "SIM profile '" + source + "' is not valid JSON: " + e.what());
  }
  ObjectReader r(doc, "", source,
                 {"name", "full_name", "device_class", "seed", "timing_only", "compile", "latency", "parallel_slots",
                  "batch", "memory_mb", "supported_ops", "supported_precisions", "slowdowns", "faults"});
  SimProfile p;
  p.source = source;
  p.name = r.string("name", default_name);
  if (!valid_name(p.name)) {
    if (!r.has("name"))
      throw Error(ErrorCode::invalid_argument, "SIM profile '" + source + "': field 'name' is required (letters, "
                                                   "digits, '_' and '-'; the device becomes SIM.<name>)");
    r.fail("name", "must be letters, digits, '_' or '-' (the device becomes SIM.<name>)");
  }
  p.device_class = read_device_class(r);
  p.full_name = r.string("full_name", std::string("Simulated ") + plugin::to_string(p.device_class) + " " + p.name);
  p.seed = r.integer("seed", 0, 0, std::numeric_limits<std::uint64_t>::max());
  p.timing_only = r.boolean("timing_only", false);
  if (r.has("compile")) {
    ObjectReader c(r.at("compile"), "compile", source, {"fixed_ms", "per_gflop_ms", "jitter"});
    p.compile_fixed_ms = c.number("fixed_ms", 0.0, 0.0);
    p.compile_per_gflop_ms = c.number("per_gflop_ms", 0.0, 0.0);
    p.compile_jitter = read_jitter(c, "jitter");
  }
  if (r.has("latency")) {
    ObjectReader l(r.at("latency"), "latency", source, {"base_ms", "per_gflop_ms", "jitter"});
    p.latency_base_ms = l.number("base_ms", 0.0, 0.0);
    p.latency_per_gflop_ms = l.number("per_gflop_ms", 0.0, 0.0);
    p.latency_jitter = read_jitter(l, "jitter");
  }
  p.parallel_slots = unsigned(r.integer("parallel_slots", 1, 1, 1024));
  if (r.has("batch")) {
    ObjectReader b(r.at("batch"), "batch", source, {"preferred_size", "efficiency"});
    p.preferred_batch_size = unsigned(b.integer("preferred_size", 1, 1, 4096));
    p.batch_efficiency = b.number("efficiency", 0.0, 0.0, 1.0);
  }
  p.memory_mb = r.number("memory_mb", 0.0, 0.0);
  read_support(r, p);
  read_slowdowns(r, p);
  read_faults(r, p);
  return p;
}

SimProfile load_profile_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::io, "SIM profile '" + path + "' cannot be read (listed in sim_profiles / "
                                                        "AUTOSCHED_SIM_PROFILES; is the path right?)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_profile(text.str(), path, std::filesystem::path(path).stem().string());
}

std::vector<std::string> split_profile_paths(const std::string& list) {
  std::vector<std::string> paths;
  std::string item;
  auto flush = [&] {
    const auto b = item.find_first_not_of(" \t\r\n");
    const auto e = item.find_last_not_of(" \t\r\n");
    if (b != std::string::npos) paths.push_back(item.substr(b, e - b + 1));
    item.clear();
  };
  for (char c : list) {
    if (c == ',' || c == ':') flush();
    else item += c;
  }
  flush();
  return paths;
}

std::vector<SimProfile> load_profiles(const std::vector<std::string>& paths) {
  std::vector<SimProfile> profiles = builtin_profiles();
  std::vector<std::string> seen_paths;
  for (const auto& path : paths) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec).string();
    if (ec) canonical = path;
    if (std::find(seen_paths.begin(), seen_paths.end(), canonical) != seen_paths.end()) continue;
    seen_paths.push_back(canonical);
    SimProfile p = load_profile_file(path);
    auto same = std::find_if(profiles.begin(), profiles.end(), [&](const SimProfile& q) { return q.name == p.name; });
    if (same == profiles.end()) {
      profiles.push_back(std::move(p));
    } else if (same->source == "builtin") {
      *same = std::move(p);
    } else {
      throw Error(ErrorCode::invalid_argument, "SIM profiles '" + same->source + "' and '" + p.source +
                                                   "' both define the device SIM." + p.name +
                                                   "; give one of them another \"name\"");
    }
  }
  return profiles;
}

}  // namespace autosched::sim
