#include "tools/simulation_report.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace autosched::tools {

namespace {

// "SIM.fast_gpu*8, SIM.cpu_like*2": the fleet grouped by profile, in order of appearance.
std::string fleet_summary(const SimulationConfig& config) {
  std::vector<std::pair<std::string, unsigned>> groups;
  for (const auto& d : config.fleet) {
    const std::string name = "SIM." + d.profile.name;
    if (!groups.empty() && groups.back().first == name)
      ++groups.back().second;
    else
      groups.push_back({name, 1});
  }
  std::string out;
  for (const auto& [name, n] : groups) out += (out.empty() ? "" : ", ") + (n > 1 ? fmt::format("{}*{}", name, n) : name);
  return out;
}

std::string model_summary(const Workload& w) {
  if (w.model.empty()) return fmt::format("{:g} GFLOP (--gflops)", w.gflop_per_item);
  return fmt::format("{} ({:.3f} GFLOP per item, batch {})", w.model, w.gflop_per_item, w.batch);
}

unsigned total_slots(const SimulationConfig& config) {
  unsigned n = 0;
  for (const auto& d : config.fleet) n += d.profile.parallel_slots;
  return n;
}

std::string arrivals_of(const SimulationConfig& config) {
  auto a = config.arrivals;
  if (a.kind == ArrivalProcess::Kind::closed && a.clients == 0) a.clients = 2 * total_slots(config);
  return a.to_string();
}

std::string percent(double fraction) { return fmt::format("{:.1f} %", 100.0 * fraction); }

}  // namespace

void print_result(const SimulationConfig& config, const SimulationResult& r,
                  std::ostream& out) {
  out << fmt::format("Fleet      {} ({} devices, {} slots)\n", fleet_summary(config), config.fleet.size(),
                     total_slots(config));
  out << fmt::format("Policy     {}    arrivals {}    requests {}    seed {}\n", r.policy, arrivals_of(config),
                     r.requests, config.seed);
  out << fmt::format("Model      {}\n\n", model_summary(config.workload));
  out << fmt::format("Virtual time     {:.3f} s\n", r.duration_s);
  out << fmt::format("Throughput       {:.1f} /s    oracle {:.1f} /s    {:.1f} % of the oracle\n", r.throughput_per_s,
                     r.oracle_per_s, r.oracle_pct);
  out << fmt::format("Latency (ms)     p50 {:.3f}    p90 {:.3f}    p99 {:.3f}    mean {:.3f}    max {:.3f}\n",
                     r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms, r.latency_mean_ms, r.latency_max_ms);
  if (r.latency_budget_ms > 0)
    out << fmt::format("SLO              {} of requests within {:g} ms{}\n", percent(r.slo_attainment),
                       r.latency_budget_ms, config.policy_config.reject_over_budget ? " (rejecting over budget)" : "");
  out << fmt::format("Requests         completed {}    rejected {}    failed {}    retries {}    stranded {}\n",
                     r.completed, r.rejected, r.failed, r.retries, r.stranded);
  out << fmt::format("Policy calls     {} ({} wait{})\n\n", r.decisions, r.waits,
                     r.invalid_decisions ? fmt::format(", {} invalid, treated as wait", r.invalid_decisions) : "");

  std::size_t width = 6;
  for (const auto& d : r.devices) width = std::max(width, d.name.size());
  out << fmt::format("{:<{}}  {:<14} {:>5} {:>9} {:>10} {:>10} {:>7} {:>6} {:>7} {:>5}\n", "Device", width, "class",
                     "slots", "mean ms", "oracle/s", "completed", "share", "util", "failed", "quar");
  for (const auto& d : r.devices)
    out << fmt::format("{:<{}}  {:<14} {:>5} {:>9.3f} {:>10.1f} {:>10} {:>7} {:>6} {:>7} {:>5}\n", d.name, width,
                       d.device_class, d.slots, d.mean_latency_ms, d.oracle_rate_per_s, d.completed,
                       percent(r.completed ? double(d.completed) / double(r.completed) : 0.0),
                       fmt::format("{:.0f} %", 100.0 * d.utilisation), d.failed, d.quarantines);

  if (r.devices.empty() || r.devices.front().timeline.empty()) return;
  // Columns: one per device; with more than kMaxTimelineColumns devices, one
  // per profile (its instances summed; per device in the JSON).
  constexpr std::size_t kMaxTimelineColumns = 6;
  struct Column {
    std::string name;
    std::vector<std::uint64_t> counts;
  };
  std::vector<Column> columns;
  const bool grouped = r.devices.size() > kMaxTimelineColumns;
  for (const auto& d : r.devices) {
    const std::string name = grouped ? "SIM." + d.profile : d.name;
    auto it = std::find_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == name; });
    if (it == columns.end()) {
      columns.push_back({name, std::vector<std::uint64_t>(d.timeline.size(), 0)});
      it = columns.end() - 1;
    }
    for (std::size_t b = 0; b < d.timeline.size(); ++b) it->counts[b] += d.timeline[b];
  }
  const std::size_t buckets = columns.front().counts.size();
  out << fmt::format("\nShare over time (% of each bucket's completions{}; buckets of {:.3f} s)\n",
                     grouped ? ", per profile" : "", r.bucket_s);
  std::size_t column = 8;
  for (const auto& c : columns) column = std::max(column, c.name.size());
  out << fmt::format("{:<17}", "t (s)");
  for (const auto& c : columns) out << fmt::format(" {:>{}}", c.name, column);
  out << "\n";
  for (std::size_t b = 0; b < buckets; ++b) {
    std::uint64_t total = 0;
    for (const auto& c : columns) total += c.counts[b];
    out << fmt::format("{:<17}", fmt::format("{:.2f}-{:.2f}", r.bucket_s * double(b), r.bucket_s * double(b + 1)));
    for (const auto& c : columns)
      out << fmt::format(" {:>{}}", total ? percent(double(c.counts[b]) / double(total)) : "-", column);
    out << "\n";
  }
}

void print_comparison(const SimulationConfig& config, const std::vector<SimulationResult>& results,
                      std::ostream& out) {
  const double oracle = results.empty() ? 0.0 : results.front().oracle_per_s;
  out << fmt::format("Fleet {} ({} devices), arrivals {}, {} requests, model {}; oracle {:.1f} /s\n\n",
                     fleet_summary(config), config.fleet.size(), arrivals_of(config), config.requests,
                     model_summary(config.workload), oracle);
  const bool slo = config.policy_config.latency_budget_ms > 0;
  const std::string slo_header =
      slo ? fmt::format("SLO ≤ {:g} ms", config.policy_config.latency_budget_ms) : std::string("SLO");
  out << "| policy | throughput /s | % of oracle | p50 ms | p99 ms | " << slo_header << " | rejected | failed |\n";
  out << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : results)
    out << fmt::format("| {} | {:.1f} | {:.1f} % | {:.3f} | {:.3f} | {} | {} | {} |\n", r.policy, r.throughput_per_s,
                       r.oracle_pct, r.latency_p50_ms, r.latency_p99_ms, slo ? percent(r.slo_attainment) : "-",
                       r.rejected, r.failed);
}

nlohmann::json simulation_json(const SimulationRequest& request, const SimulationConfig& config,
                               const std::vector<SimulationResult>& results) {
  using nlohmann::json;
  json devices = json::array();
  for (const auto& d : config.fleet)
    devices.push_back({{"name", d.name},
                       {"profile", d.profile.name},
                       {"source", d.profile.source},
                       {"seed", d.profile.seed}});
  json cfg = {{"fleet", request.fleet},
              {"profiles", request.profiles},
              {"devices", devices},
              {"hint", request.hint},
              {"requests", config.requests},
              {"arrivals", arrivals_of(config)},
              {"model", config.workload.model},
              {"gflop_per_item", config.workload.gflop_per_item},
              {"batch", config.workload.batch},
              {"latency_budget_ms", config.policy_config.latency_budget_ms},
              {"reject", config.policy_config.reject_over_budget},
              {"seed", config.seed},
              {"buckets", config.buckets}};
  json runs = json::array();
  for (const auto& r : results) {
    json per_device = json::array();
    for (const auto& d : r.devices)
      per_device.push_back({{"name", d.name},
                            {"profile", d.profile},
                            {"device_class", d.device_class},
                            {"slots", d.slots},
                            {"mean_latency_ms", d.mean_latency_ms},
                            {"oracle_rate_per_s", d.oracle_rate_per_s},
                            {"completed", d.completed},
                            {"share", r.completed ? double(d.completed) / double(r.completed) : 0.0},
                            {"failed", d.failed},
                            {"quarantines", d.quarantines},
                            {"utilisation", d.utilisation},
                            {"timeline", d.timeline}});
    runs.push_back({{"policy", r.policy},
                    {"results",
                     {{"requests", r.requests},
                      {"completed", r.completed},
                      {"rejected", r.rejected},
                      {"failed", r.failed},
                      {"stranded", r.stranded},
                      {"retries", r.retries},
                      {"decisions", r.decisions},
                      {"waits", r.waits},
                      {"invalid_decisions", r.invalid_decisions},
                      {"duration_s", r.duration_s},
                      {"throughput_per_s", r.throughput_per_s},
                      {"oracle_per_s", r.oracle_per_s},
                      {"oracle_pct", r.oracle_pct},
                      {"latency_ms",
                       {{"p50", r.latency_p50_ms},
                        {"p90", r.latency_p90_ms},
                        {"p99", r.latency_p99_ms},
                        {"mean", r.latency_mean_ms},
                        {"max", r.latency_max_ms}}},
                      {"slo",
                       {{"budget_ms", r.latency_budget_ms},
                        {"within_budget", r.within_budget},
                        {"attainment", r.slo_attainment}}},
                      {"bucket_s", r.bucket_s}}},
                    {"devices", per_device}});
  }
  return {{"schema", "autosched-simulate/1"}, {"config", cfg}, {"runs", runs}};
}

}  // namespace autosched::tools
