#include "tools/bench_compare.hpp"

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace autosched::tools {

namespace {

using nlohmann::json;

enum class Better { higher, lower, none };

std::string text_at(const json& report, const char* pointer) {
  const json::json_pointer ptr(pointer);
  if (!report.contains(ptr)) return "-";
  const auto& v = report.at(ptr);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& item : v) {
      if (!s.empty()) s += ',';
      s += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return s;
  }
  return v.dump();
}

const json* number_at(const json& report, const std::string& pointer) {
  const json::json_pointer ptr(pointer);
  if (!report.contains(ptr) || !report.at(ptr).is_number()) return nullptr;
  return &report.at(ptr);
}

std::string fit(std::string s, std::size_t width) {
  if (s.size() > width) s = s.substr(0, width - 1) + "~";
  return s;
}

class Table {
 public:
  Table(std::ostream& out, std::string a, std::string b) : out_(out) {
    row("", fit(a, 24), fit(b, 24), "b/a", "better");
    out_ << std::string(96, '-') << "\n";
  }
  void row(const std::string& label, const std::string& a, const std::string& b, const std::string& ratio = "",
           const std::string& better = "") {
    char line[256];
    std::snprintf(line, sizeof line, "%-28s %24s %24s %9s %7s", fit(label, 28).c_str(), fit(a, 24).c_str(),
                  fit(b, 24).c_str(), ratio.c_str(), better.c_str());
    std::string s = line;
    s.erase(s.find_last_not_of(' ') + 1);
    out_ << s << "\n";
  }
  void metric(const std::string& label, const json* a, const json* b, Better better, const char* format = "%.2f") {
    auto show = [&](const json* v) {
      if (!v) return std::string("-");
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, format, v->get<double>());
      return std::string(buffer);
    };
    std::string ratio, winner;
    if (a && b && a->get<double>() != 0) {
      const double r = b->get<double>() / a->get<double>();
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.2fx", r);
      ratio = buffer;
      if (better != Better::none && (r > 1.02 || r < 0.98))
        winner = ((r > 1) == (better == Better::higher)) ? "b" : "a";
    }
    row(label, show(a), show(b), ratio, winner);
  }
  void rule() { out_ << std::string(96, '-') << "\n"; }

 private:
  std::ostream& out_;
};

}  // namespace

void print_comparison(const json& a, const json& b, const std::string& name_a, const std::string& name_b,
                      std::ostream& out) {
  Table table(out, "a: " + name_a, "b: " + name_b);
  for (const auto& [label, pointer] : std::vector<std::pair<const char*, const char*>>{
           {"cpu", "/hardware/cpu/model"},
           {"cores (physical/logical)", "/hardware/cpu/physical_cores"},
           {"host", "/hardware/system/host"},
           {"autosched", "/tool/version"},
           {"timestamp", "/timestamp"},
           {"model", "/config/model"},
           {"device", "/config/device"},
           {"hint", "/config/hint"},
           {"api", "/config/api"},
           {"nireq", "/config/nireq"},
           {"execution devices", "/effective/execution_devices"}}) {
    std::string ta = text_at(a, pointer), tb = text_at(b, pointer);
    if (std::string(pointer) == "/hardware/cpu/physical_cores") {
      ta += "/" + text_at(a, "/hardware/cpu/logical_cpus");
      tb += "/" + text_at(b, "/hardware/cpu/logical_cpus");
    }
    table.row(label, ta, tb, "", ta == tb ? "" : "differs");
  }
  table.rule();
  table.metric("throughput (inferences/s)", number_at(a, "/results/throughput_fps"),
               number_at(b, "/results/throughput_fps"), Better::higher);
  for (const char* stat : {"median", "avg", "min", "max", "p90", "p99"})
    table.metric(std::string("latency ") + stat + " (ms)", number_at(a, std::string("/results/latency_ms/") + stat),
                 number_at(b, std::string("/results/latency_ms/") + stat), Better::lower, "%.3f");
  table.metric("inferences", number_at(a, "/results/count"), number_at(b, "/results/count"), Better::none, "%.0f");
  table.metric("duration (ms)", number_at(a, "/results/duration_ms"), number_at(b, "/results/duration_ms"),
               Better::none, "%.1f");
  table.metric("read model (ms)", number_at(a, "/timings_ms/read_model"), number_at(b, "/timings_ms/read_model"),
               Better::lower, "%.1f");
  table.metric("compile (ms)", number_at(a, "/timings_ms/compile_model"), number_at(b, "/timings_ms/compile_model"),
               Better::lower, "%.1f");
  table.metric("first inference (ms)", number_at(a, "/timings_ms/first_inference"),
               number_at(b, "/timings_ms/first_inference"), Better::lower, "%.2f");

  // Per-device share and latency, over the union of devices of both runs.
  std::set<std::string> devices;
  for (const auto* r : {&a, &b})
    for (const auto& d : (*r)["per_device"]) devices.insert(d["device"].get<std::string>());
  if (devices.empty()) return;
  table.rule();
  auto find = [](const json& r, const std::string& device, const std::string& key) -> const json* {
    for (const auto& d : r["per_device"])
      if (d["device"] == device) return number_at(d, key);
    return nullptr;
  };
  for (const auto& device : devices) {
    table.row("device " + device, "", "");
    const json* sa = find(a, device, "/share");
    const json* sb = find(b, device, "/share");
    json pa = sa ? json(sa->get<double>() * 100) : json(), pb = sb ? json(sb->get<double>() * 100) : json();
    table.metric("  share of inferences (%)", sa ? &pa : nullptr, sb ? &pb : nullptr, Better::none, "%.1f");
    table.metric("  device latency median (ms)", find(a, device, "/latency_ms/median"),
                 find(b, device, "/latency_ms/median"), Better::lower, "%.3f");
  }
}

}  // namespace autosched::tools
