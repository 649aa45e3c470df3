#include "tools/bench_report.hpp"

#include <sched.h>
#include <sys/utsname.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "autosched/error.hpp"
#include "autosched/version.hpp"
#include "tools/bench_versions.hpp"

namespace autosched::tools {

namespace {

using nlohmann::json;

// The ISA extensions that matter for inference speed (x86 "flags", Arm "Features").
const std::set<std::string> kInterestingIsa = {
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd", "asimdhp",
    "asimddp", "sve", "sve2", "bf16", "i8mm"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

json cpu_section() {
  json cpu = json::object();
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical, line, model;
  std::set<std::string> isa;
  int processors = 0;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "processor") ++processors;
    else if ((key == "model name" || key == "Hardware" || key == "Model") && model.empty()) model = value;
    else if (key == "physical id") physical = value;
    else if (key == "core id") cores.insert({physical, value});
    else if (key == "flags" || key == "Features") {
      std::istringstream words(value);
      for (std::string w; words >> w;)
        if (kInterestingIsa.count(w)) isa.insert(w);
    }
  }
  cpu["model"] = model.empty() ? "unknown" : model;
  cpu["logical_cpus"] = processors > 0 ? processors : int(std::thread::hardware_concurrency());
  if (!cores.empty()) cpu["physical_cores"] = cores.size();
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) cpu["process_cpus"] = CPU_COUNT(&mask);
  cpu["isa"] = std::vector<std::string>(isa.begin(), isa.end());
  return cpu;
}

json system_section() {
  json sys = json::object();
  utsname names{};
  if (uname(&names) == 0) {
    sys["os"] = std::string(names.sysname) + " " + names.release;
    sys["machine"] = names.machine;
    sys["host"] = names.nodename;
  }
  std::ifstream in("/proc/meminfo");
  for (std::string key; in >> key;) {
    if (key == "MemTotal:") {
      std::uint64_t kib = 0;
      in >> kib;
      sys["memory_bytes"] = kib * 1024;
      break;
    }
    in.ignore(1 << 12, '\n');
  }
  return sys;
}

std::string property_or_empty(const Core& core, const std::string& device, const std::string& name) {
  try {
    return core.get_property(device, name);
  } catch (const std::exception&) {
    return "";
  }
}

json devices_section(const Core& core, json& opencl) {
  json devices = json::array();
  for (const auto& name : core.get_available_devices()) {
    json d = {{"name", name},
              {"class", property_or_empty(core, name, "device_class")},
              {"full_name", property_or_empty(core, name, "device_full_name")},
              {"capabilities", property_or_empty(core, name, "device_capabilities")}};
    if (name.rfind("OCL.", 0) == 0) {
      json o = {{"name", name}, {"full_name", d["full_name"]}};
      for (const char* key : {"device_vendor", "ocl_platform", "ocl_device_version", "ocl_driver_version",
                              "ocl_compute_units", "ocl_global_memory"})
        if (auto v = property_or_empty(core, name, key); !v.empty()) o[key] = v;
      opencl.push_back(std::move(o));
    }
    if (name == "CPU")
      if (auto isa = property_or_empty(core, name, "cpu_isa"); !isa.empty()) d["cpu_isa"] = isa;
    devices.push_back(std::move(d));
  }
  return devices;
}

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

json latency_json(const LatencyStats& s, double percentile) {
  json j = {{"count", s.count}, {"median", s.median}, {"avg", s.avg}, {"min", s.min},
            {"max", s.max},     {"p90", s.p90},       {"p99", s.p99}};
  std::ostringstream key;
  key << "p" << percentile;
  j[key.str()] = s.custom;
  return j;
}

}  // namespace

nlohmann::json hardware_fingerprint(const Core& core) {
  json fp = json::object();
  try {
    fp["cpu"] = cpu_section();
    fp["system"] = system_section();
    json opencl = json::array();
    fp["devices"] = devices_section(core, opencl);
    fp["opencl_devices"] = std::move(opencl);
    json libs = {{"autosched", version_string()}};
    for (const auto& [name, version] : kBuildLibraryVersions)
      if (*version) libs[name] = version;
    fp["libraries"] = std::move(libs);
  } catch (const std::exception&) {
    // A fingerprint is informative; a machine that hides /proc still gets its report.
  }
  return fp;
}

nlohmann::json report_json(const BenchResult& r, const nlohmann::json& fingerprint) {
  json inputs = json::array();
  for (const auto& p : r.inputs) inputs.push_back({{"name", p.name}, {"element_type", p.element_type}, {"shape", p.shape}});
  json per_device = json::array();
  for (const auto& d : r.per_device)
    per_device.push_back({{"device", d.device}, {"count", d.count}, {"share", d.share},
                          {"latency_ms", latency_json(d.latency, r.percentile)}});
  json events = json::array();
  for (const auto& e : r.device_events)
    events.push_back({{"at_ms", e.at_ms}, {"device", e.device}, {"kind", e.kind}, {"detail", e.detail}});
  const auto timeline = make_timeline(r);
  const auto histogram = make_histogram(r);
  json report = {
      {"schema", kReportSchema},
      {"tool", {{"name", "autosched-bench"}, {"version", version_string()}}},
      {"timestamp", utc_timestamp()},
      {"command_line", r.command_line},
      {"hardware", fingerprint},
      {"config",
       {{"model", r.model}, {"model_name", r.model_name}, {"model_gflops", r.model_gflops}, {"inputs", inputs},
        {"device", r.device}, {"hint", r.hint}, {"api", r.api}, {"nireq", r.nireq}, {"niter", r.niter},
        {"time_s", r.time_limit_s}, {"properties", r.properties}}},
      {"effective",
       {{"execution_devices", r.execution_devices},
        {"execution_devices_at_compile", r.execution_devices_at_compile}, {"optimal_nireq", r.optimal_nireq},
        {"properties", r.effective}}},
      {"timings_ms",
       {{"read_model", r.read_ms}, {"compile_model", r.compile_ms}, {"first_inference", r.first_inference_ms}}},
      {"results",
       {{"count", r.count}, {"duration_ms", r.duration_ms}, {"throughput_fps", r.throughput},
        {"latency_ms", latency_json(r.latency, r.percentile)}}},
      {"per_device", per_device},
      {"per_device_source", r.virtual_device ? "scheduler observer (time on device)" : "application (one device)"},
      {"hand_over", r.hand_over ? json{{"from", r.hand_over->from}, {"to", r.hand_over->to},
                                       {"at_ms", r.hand_over->at_ms}, {"run_at_s", r.hand_over->run_at_s}}
                                : json(nullptr)},
      {"device_events", events},
      {"timeline", {{"bucket_s", timeline.bucket_s}, {"throughput_fps", timeline.throughput}}},
      {"latency_histogram", {{"edges_ms", histogram.edges_ms}, {"counts", histogram.counts}}},
  };
  const MemoryFigures& m = r.memory;
  json memory = {{"process_peak_rss_bytes", m.process_peak_rss}, {"rss_file_bytes_at_end", m.rss_file_end}};
  if (m.run_peak_rss > 0) memory["run_peak_rss_bytes"] = m.run_peak_rss;
  if (m.model_bytes() > 0) {
    memory["weights_bytes"] = m.weights_bytes;
    memory["activation_bytes_per_request"] = m.activation_bytes_per_request;
    memory["scratchpad_bytes_per_request"] = std::max<std::int64_t>(m.scratchpad_bytes_per_request, 0);
    memory["requests"] = m.requests;
    memory["batch_activation_bytes"] = m.batch_activation_bytes;
    memory["model_bytes"] = m.model_bytes();  // weights + requests x (activations + scratchpad) + batches
    memory["process_peak_ratio"] = m.ratio(m.process_peak_rss);
    if (m.run_peak_rss > 0) memory["run_peak_ratio"] = m.ratio(m.run_peak_rss);
  }
  report["memory"] = std::move(memory);
  return report;
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path);
  if (out) out << value.dump(2) << "\n";
  if (!out) throw Error(ErrorCode::io, "cannot write '" + path + "'");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io, "cannot read '" + path + "'");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::io, "'" + path + "' is not JSON: " + e.what());
  }
}

std::string report_schema_error(const nlohmann::json& report) {
  enum class T { string, number, integer, object, array };
  struct Key {
    const char* path;
    T type;
  };
  static const Key kRequired[] = {
      {"/schema", T::string},          {"/hardware", T::object},        {"/hardware/cpu/model", T::string},
      {"/config/model", T::string},    {"/config/device", T::string},   {"/config/nireq", T::integer},
      {"/config/properties", T::object}, {"/effective/execution_devices", T::array},
      {"/timings_ms/read_model", T::number}, {"/timings_ms/compile_model", T::number},
      {"/timings_ms/first_inference", T::number}, {"/results/count", T::integer},
      {"/results/duration_ms", T::number}, {"/results/throughput_fps", T::number},
      {"/results/latency_ms/median", T::number}, {"/results/latency_ms/avg", T::number},
      {"/results/latency_ms/min", T::number}, {"/results/latency_ms/max", T::number},
      {"/results/latency_ms/p90", T::number}, {"/results/latency_ms/p99", T::number},
      {"/per_device", T::array},       {"/timeline/throughput_fps", T::object},
      {"/latency_histogram/counts", T::array}};
  if (!report.is_object()) return "not a JSON object";
  for (const auto& key : kRequired) {
    const json::json_pointer ptr(key.path);
    const std::string name = std::string(key.path).substr(1);
    if (!report.contains(ptr)) return name + ": missing";
    const auto& v = report.at(ptr);
    const bool ok = key.type == T::string    ? v.is_string()
                    : key.type == T::number  ? v.is_number()
                    : key.type == T::integer ? v.is_number_integer()
                    : key.type == T::object  ? v.is_object()
                                             : v.is_array();
    if (!ok) return name + ": wrong type (" + v.type_name() + ")";
  }
  if (report["schema"] != kReportSchema)
    return "schema: '" + report["schema"].get<std::string>() + "', expected '" + kReportSchema + "'";
  for (const auto& d : report["per_device"])
    if (!d.contains("device") || !d["device"].is_string() || !d.contains("share") || !d["share"].is_number())
      return "per_device: each entry needs a string 'device' and a number 'share'";
  return "";
}

}  // namespace autosched::tools
