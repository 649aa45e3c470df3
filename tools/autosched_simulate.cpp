// autosched-simulate: runs scheduling policies on a virtual clock against a
// fleet of SIM devices (e.g. 8 × SIM.fast_gpu + 2 × SIM.cpu_like, 10^6
// requests, closed-loop or Poisson arrivals) and reports throughput (also as
// % of the oracle bound), p50/p99 latency, SLO attainment, rejections and
// each device's share overall and over time. The policies are the real ones
// (make_policy: built-in names or a policy library path); --compare-policies
// runs several on the same fleet and arrivals and prints one table.
//
// Exit codes: 0 done, 2 bad input (flag, fleet, profile, model, policy), 1 a
// failure while simulating. Flags accept one or two dashes (tools/cli_args.hpp).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "autosched/error.hpp"
#include "autosched/policy.hpp"
#include "scheduler/policy_registry.hpp"
#include "tools/cli_args.hpp"
#include "tools/simulation_report.hpp"
#include "tools/simulator.hpp"

namespace {

using namespace autosched;
using namespace autosched::tools;

struct Options {
  std::string fleet, profiles, policy, hint = "throughput", arrivals = "closed", json_path;
  std::optional<std::string> model;
  std::optional<double> gflops, latency_budget_ms;
  std::uint64_t requests = 1'000'000, seed = 0;
  unsigned buckets = 10;
  bool reject = false, list_policies = false, list_devices = false;
  std::vector<std::string> compare;
};

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Bad input: the message names what was wrong and what is valid; exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<sim::SimProfile> known_profiles(const Options& o) {
  try {
    return sim::load_profiles(sim::split_profile_paths(o.profiles));
  } catch (const Error& e) {
    throw UsageError("--profiles: " + std::string(e.what()));
  }
}

// Everything the runs share, validated up front: a typo fails in a second, not after a long run.
SimulationConfig make_config(const Options& o, const std::vector<sim::SimProfile>& profiles) {
  SimulationConfig c;
  try {
    if (o.fleet.empty())
      throw Error(ErrorCode::invalid_argument,
                  "--fleet is required, e.g. --fleet SIM.fast_gpu*8,SIM.cpu_like*2; valid devices: " +
                      valid_device_names(profiles));
    c.fleet = parse_fleet(o.fleet, profiles, o.seed);
    c.arrivals = parse_arrivals(o.arrivals);
    if (o.reject && !o.latency_budget_ms)
      throw Error(ErrorCode::invalid_argument, "--reject needs --latency_budget_ms (the budget to reject over)");
    c.workload = load_workload(o.model, o.gflops);
    resolve_rate(c);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  c.policy_config.hint = upper(o.hint);
  c.policy_config.latency_budget_ms = o.latency_budget_ms.value_or(0);
  c.policy_config.reject_over_budget = o.reject;
  c.requests = o.requests;
  c.seed = o.seed;
  c.buckets = o.buckets;
  return c;
}

// The policies to run: --compare-policies (all = every registered one), else
// --policy, else the hint's default. Each is created once here so an unknown
// name or a bad library is reported before any run.
std::vector<std::string> policies_to_run(const Options& o, const PolicyConfig& config) {
  std::vector<std::string> names;
  if (!o.compare.empty()) {
    if (!o.policy.empty()) throw UsageError("--policy and --compare-policies both given: use one");
    for (const auto& n : o.compare) {
      if (n == "all") {
        for (const auto& r : policy_names()) names.push_back(r);
      } else {
        names.push_back(n);
      }
    }
    if (names.empty()) throw UsageError("--compare-policies all: no policy is registered in this build");
  } else {
    names.push_back(o.policy.empty() ? scheduler::default_policy_for_hint(config.hint) : o.policy);
  }
  for (const auto& n : names) {
    try {
      (void)make_policy(n, config);
    } catch (const Error& e) {
      throw UsageError("--policy: " + std::string(e.what()));
    }
  }
  return names;
}

// Progress on stderr, only when it is a terminal.
SimulationProgress progress_for(const std::string& policy) {
  if (!isatty(STDERR_FILENO)) return {};
  return [policy](std::uint64_t done, std::uint64_t total) {
    std::fprintf(stderr, "\r%s: %llu / %llu requests (%.0f %%)", policy.c_str(), (unsigned long long)done,
                 (unsigned long long)total, 100.0 * double(done) / double(total));
    std::fflush(stderr);
  };
}

void clear_progress() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
}

int run(const Options& o) {
  const auto profiles = known_profiles(o);
  if (o.list_devices) {
    for (const auto& p : profiles)
      std::printf("SIM.%-16s %-15s %s\n", p.name.c_str(), plugin::to_string(p.device_class), p.source.c_str());
    return 0;
  }
  if (o.list_policies) {
    for (const auto& n : policy_names()) std::printf("%s\n", n.c_str());
    return 0;
  }
  auto config = make_config(o, profiles);
  const auto names = policies_to_run(o, config.policy_config);
  std::vector<SimulationResult> results;
  for (const auto& name : names) {
    config.policy = name;
    const auto wall_start = std::chrono::steady_clock::now();
    results.push_back(simulate(config, progress_for(name)));
    clear_progress();
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    if (o.compare.empty()) {
      print_result(config, results.back(), std::cout);
      std::printf("\nSimulated in %.2f s of wall time\n", wall_s);
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "%s: %.2f s of wall time\n", name.c_str(), wall_s);
    }
  }
  if (!o.compare.empty()) print_comparison(config, results, std::cout);
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    out << simulation_json({o.fleet, o.profiles, config.policy_config.hint}, config, results).dump(2) << "\n";
    if (!out) throw Error(ErrorCode::io, "--json: cannot write '" + o.json_path + "'");
    std::cout << "JSON written to " << o.json_path << "\n";
  }
  return 0;
}

void add_options(CLI::App& app, Options& o) {
  app.add_option("--fleet", o.fleet, "devices, e.g. SIM.fast_gpu*8,SIM.cpu_like*2 (see --list-devices)");
  app.add_option("--profiles", o.profiles, "extra SIM profile files, a.json,b.json (a builtin's name replaces it)");
  app.add_option("--policy", o.policy, "a policy name (see --list-policies) or a policy library path (default: the hint's)");
  app.add_option("--hint", o.hint, "performance hint given to the policy")
      ->check(CLI::IsMember({"latency", "throughput", "cumulative_throughput"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--requests", o.requests, "requests to issue")->check(number_above(0))->capture_default_str();
  app.add_option("--arrivals", o.arrivals,
                 "closed[:CLIENTS] (default clients: 2 x the fleet's slots), poisson:RATE_PER_S or poisson:N% (of the oracle)")
      ->capture_default_str();
  app.add_option("--model", o.model, "builtin:<name> or an ONNX file whose GFLOP set the latency (default builtin:resnet50)");
  app.add_option("--gflops", o.gflops, "the model's work per request instead of --model")->check(number_at_least(0));
  app.add_option("--latency_budget_ms", o.latency_budget_ms, "latency budget: SLO attainment, and the slo policy's target")
      ->check(number_above(0));
  app.add_flag("--reject", o.reject, "the policy may reject requests over the budget (admission control)");
  app.add_option("--seed", o.seed, "seed of the arrivals and the devices' jitter and faults")->capture_default_str();
  app.add_option("--buckets", o.buckets, "time buckets of the per-device share over time")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--json", o.json_path, "write the results as JSON (schema autosched-simulate/1)");
  app.add_option("--compare-policies", o.compare, "run each policy on the same fleet and arrivals; 'all' = every one")
      ->delimiter(',');
  app.add_flag("--list-policies", o.list_policies, "print the registered policies and exit");
  app.add_flag("--list-devices", o.list_devices, "print the SIM devices a fleet may use and exit");
  app.footer("Example: autosched-simulate --fleet SIM.fast_gpu*8,SIM.cpu_like*2 --policy throughput --requests 1000000");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"autosched-simulate: scheduling policies on a virtual clock against SIM device fleets"};
  Options o;
  add_options(app, o);
  const auto args = normalize_single_dash_flags(argc, argv, long_option_names(app));
  std::vector<const char*> arg_pointers;
  for (const auto& a : args) arg_pointers.push_back(a.c_str());
  try {
    app.parse(int(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "autosched-simulate: %s (see --help)\n", one_line(e.what()).c_str());
    return 2;
  }
  try {
    return run(o);
  } catch (const UsageError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "autosched-simulate: %s\n", one_line(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "autosched-simulate: error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
}
