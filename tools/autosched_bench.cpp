// autosched-bench: the benchmark application. Reads a model (ONNX file or
// builtin:<name>), compiles it for a device string with a performance hint,
// runs inferences (async: nireq requests restarted from their callbacks; or
// sync) for a number of iterations or seconds, and prints read / compile /
// first-inference times, the effective configuration, latency statistics,
// throughput, the share and latency of each device AUTO / MULTI used and the
// moment AUTO handed over from its CPU helper. Optional outputs: --json
// report (with a hardware fingerprint), --trace (Chrome trace), --plot (SVG);
// --compare a.json b.json prints two reports side by side.
//
// Flags accept one or two dashes (-nireq / --nireq): see tools/cli_args.hpp.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include <CLI/CLI.hpp>

#include "autosched/autosched.hpp"
#include "autosched/observer.hpp"
#include "tools/bench_compare.hpp"
#include "tools/bench_inputs.hpp"
#include "tools/bench_plot.hpp"
#include "tools/bench_report.hpp"
#include "tools/bench_runner.hpp"
#include "tools/cli_args.hpp"
#include "tools/process_memory.hpp"

namespace {

using namespace autosched;
using namespace autosched::tools;

struct Options {
  std::string model = "builtin:mlp", device = "AUTO", hint = "none", api = "async";
  int nireq = 0, batch = 0;
  std::int64_t niter = 0;
  double time_s = 0;
  std::optional<int> nstreams, nthreads;
  std::string pin, infer_precision, shape, cache_dir, policy, load_config, dump_config;
  std::optional<double> latency_budget_ms;
  bool per_op_counters = false;
  std::string json_path, trace_path, plot_path;
  std::vector<std::string> compare;
  double percentile = 99;
  std::string command_line;
};

// One-line messages: a library message never spreads over several lines.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string device_family(const std::string& device) {
  return device.substr(0, device.find_first_of(":("));
}

std::string seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", s);
  return buffer;
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : separator) + i;
  return s;
}

// Properties from -load_config, then from the flags. The entry of the device's
// family applies; under AUTO / MULTI the entries of other devices become its
// device_properties (each applies to that candidate only), otherwise they are
// reported and ignored.
Properties compile_properties(const Options& o) {
  Properties props;
  if (!o.load_config.empty()) {
    const auto config = read_json_file(o.load_config);
    if (!config.is_object())
      throw Error(ErrorCode::invalid_argument, "-load_config '" + o.load_config +
                                                   "': expected {\"<device>\": {\"<property>\": value, ...}}");
    const std::string family = device_family(o.device);
    const bool virtual_device = family == "AUTO" || family == "MULTI";
    nlohmann::json per_device = nlohmann::json::object();
    for (const auto& [device, entries] : config.items()) {
      if (device != family && !virtual_device) {
        std::printf("[ WARN ] -load_config: properties for %s ignored (only those for %s apply)\n", device.c_str(),
                    family.c_str());
        continue;
      }
      if (!entries.is_object())
        throw Error(ErrorCode::invalid_argument, "-load_config: '" + device + "' must map property names to values");
      if (device != family) {
        per_device[device] = entries;
        continue;
      }
      for (const auto& [key, value] : entries.items())
        props[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    if (!per_device.empty()) {
      std::vector<std::string> names;
      for (const auto& [device, entries] : per_device.items()) names.push_back(device);
      if (props.count("device_properties"))
        throw Error(ErrorCode::invalid_argument, "-load_config: per-device properties given twice: as entries (" +
                                                     join(names) + ") and in " + family +
                                                     "'s device_properties; give them in one place");
      props["device_properties"] = per_device.dump();
      std::printf("[ INFO ] -load_config: properties for %s go to %s as device_properties\n", join(names).c_str(),
                  family.c_str());
    }
  }
  if (o.hint != "none") {
    std::string upper = o.hint;
    for (auto& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    props["performance_mode"] = upper;
  }
  if (o.nstreams) props["num_streams"] = std::to_string(*o.nstreams);
  if (o.nthreads) props["inference_num_threads"] = std::to_string(*o.nthreads);
  if (!o.pin.empty()) props["enable_cpu_pinning"] = o.pin;
  if (!o.infer_precision.empty()) props["inference_precision"] = o.infer_precision;
  if (!o.cache_dir.empty()) props["cache_dir"] = o.cache_dir;
  if (!o.policy.empty()) props["schedule_policy"] = o.policy;
  if (o.latency_budget_ms) props["latency_budget_ms"] = to_property_string(*o.latency_budget_ms);
  validate_properties(props);
  return props;
}

// A property the user set that the compiled model neither reports nor a
// virtual device forwards would be silently ignored: say so instead.
void check_properties_supported(const CompiledModel& compiled, const Properties& props, bool virtual_device) {
  if (virtual_device) return;  // AUTO / MULTI forward properties to their devices
  const auto supported = compiled.get_property(supported_properties);
  // Core-wide settings every device accepts without reporting them back.
  const std::vector<std::string> generic = {"cache_dir", "log_level", "model_priority", "num_requests",
                                            "latency_budget_ms", "schedule_policy"};
  for (const auto& [key, value] : props) {
    if (std::find(supported.begin(), supported.end(), key) != supported.end()) continue;
    if (std::find(generic.begin(), generic.end(), key) != generic.end()) continue;
    throw Error(ErrorCode::invalid_argument, "property '" + key + "' is not supported by " + compiled.device() +
                                                 "; it supports: " + join(supported));
  }
}

// The compiled model's readable properties, except the ones printed separately.
std::map<std::string, std::string> effective_properties(const CompiledModel& compiled) {
  std::map<std::string, std::string> out;
  for (const auto& name : compiled.get_property(supported_properties)) {
    if (name == "supported_properties" || name == "execution_devices" || name == "optimal_number_of_infer_requests")
      continue;
    try {
      out[name] = compiled.get_property(name);
    } catch (const std::exception&) {
      // Listed but not readable at the moment: leave it out.
    }
  }
  return out;
}

void dump_config(const Options& o, const BenchResult& r) {
  Properties writable = r.properties;
  for (const auto& [key, value] : r.effective) {
    try {
      validate_properties({{key, value}});
      writable.emplace(key, value);
    } catch (const Error&) {
      // Read-only or device-specific: not something -load_config could set.
    }
  }
  write_json_file(o.dump_config, nlohmann::json{{device_family(o.device), writable}});
  std::printf("[ INFO ] Configuration written to %s\n", o.dump_config.c_str());
}

void print_latency(const char* label, const LatencyStats& s, double percentile) {
  std::printf("%-17smedian %.3f  avg %.3f  min %.3f  max %.3f  p90 %.3f  p99 %.3f", label, s.median, s.avg, s.min,
              s.max, s.p90, s.p99);
  if (percentile != 99 && percentile != 90) std::printf("  p%g %.3f", percentile, s.custom);
  std::printf(" ms\n");
}

void print_results(const Options& o, const BenchResult& r) {
  std::printf("Count            %zu inferences\n", r.count);
  std::printf("Duration         %.1f ms\n", r.duration_ms);
  print_latency("Latency", r.latency, o.percentile);
  std::printf("Throughput       %.2f inferences/s\n", r.throughput);
  if (r.execution_devices != r.execution_devices_at_compile)
    std::printf("Execution devs   %s at the end (%s after compiling)\n", join(r.execution_devices).c_str(),
                join(r.execution_devices_at_compile).c_str());
  std::printf("Per device       %s\n", r.virtual_device ? "(device latency = time on the device, from the scheduler)"
                                                       : "(one device: device latency = application latency)");
  for (const auto& d : r.per_device)
    std::printf("  %-12s %5.1f %%  %7zu inferences  median %.3f  avg %.3f  p99 %.3f ms\n", d.device.c_str(),
                d.share * 100, d.count, d.latency.median, d.latency.avg, d.latency.p99);
  if (r.hand_over)
    std::printf("Hand-over        %s -> %s at %.1f ms after compile_model was called (%+.2f s from the run start)\n",
                r.hand_over->from.c_str(), r.hand_over->to.c_str(), r.hand_over->at_ms, r.hand_over->run_at_s);
  else if (r.virtual_device)
    std::printf("Hand-over        none during this run\n");
  if (r.virtual_device) {
    // What the scheduler did with its devices, in order (ms since compile_model was called).
    std::string timeline;
    for (const auto& e : r.device_events) {
      if (e.kind == "compiling" || e.kind == "released") continue;
      char item[64];
      std::snprintf(item, sizeof item, " at %.0f ms", e.at_ms);
      timeline += (timeline.empty() ? "" : "; ") + e.device + " " + e.kind + item;
      if (e.kind != "ready" && !e.detail.empty()) timeline += " (" + e.detail + ")";
    }
    if (!timeline.empty()) std::printf("Device events    %s\n", timeline.c_str());
  }
}

// The run's resident memory next to what the compiled model holds.
void print_memory(const BenchResult& r) {
  const MemoryFigures& m = r.memory;
  std::string line = "Memory           peak RSS ";
  if (m.run_peak_rss > 0) line += format_mib(m.run_peak_rss) + " from compile_model's return to the end, ";
  line += format_mib(m.process_peak_rss) + " over the whole process (read + compile with the source weights)";
  std::printf("%s\n", line.c_str());
  if (m.model_bytes() > 0) {
    const std::string batches =
        m.batch_activation_bytes > 0 ? " + batches " + format_mib(std::uint64_t(m.batch_activation_bytes)) : "";
    std::printf("                 compiled model: weights %s + %d requests x (activations %s + scratchpad %s)%s = %s\n",
                format_mib(std::uint64_t(m.weights_bytes)).c_str(), m.requests,
                format_mib(std::uint64_t(m.activation_bytes_per_request)).c_str(),
                format_mib(std::uint64_t(std::max<std::int64_t>(m.scratchpad_bytes_per_request, 0))).c_str(),
                batches.c_str(), format_mib(m.model_bytes()).c_str());
    std::printf("                 peak RSS / that: %.2f in the run, %.2f over the process; of the RSS at the end "
                "%s are mapped files (shared libraries)\n",
                m.ratio(m.run_peak_rss), m.ratio(m.process_peak_rss), format_mib(m.rss_file_end).c_str());
  }
}

void print_counters(const BenchResult& r) {
  // No device exposes per-operation counters yet; print the device-specific
  // compiled-model properties, which is what the devices do report.
  static const std::set<std::string> common = {"num_streams", "inference_num_threads", "performance_mode",
                                               "inference_precision", "enable_cpu_pinning", "max_batch_size",
                                               "batching"};
  std::printf("Per-op counters  %s reports no per-operation timings; its device-specific properties:\n",
              r.device.c_str());
  for (const auto& [key, value] : r.effective) {
    if (common.count(key)) continue;
    std::string indented;
    for (char c : value) indented += c == '\n' ? std::string("\n    ") : std::string(1, c);
    std::printf("  %s:\n    %s\n", key.c_str(), indented.c_str());
  }
}

int run_benchmark(const Options& o) {
  auto recorder = std::make_shared<SchedulerRecorder>();
  auto recording = add_observer(recorder);
  std::shared_ptr<ChromeTraceObserver> trace;
  ObserverRegistration tracing;
  Core core;

  BenchResult r;
  r.command_line = o.command_line;
  r.model = o.model;
  r.device = o.device;
  r.hint = o.hint;
  r.api = o.api;
  r.niter = o.niter;
  r.time_limit_s = o.niter == 0 && o.time_s == 0 ? 10.0 : o.time_s;
  r.percentile = o.percentile;
  r.properties = compile_properties(o);
  r.virtual_device = core.get_property(device_family(o.device), "device_class") == "virtual";
  if (!o.trace_path.empty()) {
    trace = std::make_shared<ChromeTraceObserver>(o.trace_path);
    if (r.virtual_device) tracing = add_observer(trace);
  }

  std::printf("autosched-bench %s: %s on %s\n", version_string(), o.model.c_str(), o.device.c_str());
  auto t0 = BenchClock::now();
  auto model = core.read_model(o.model);
  r.read_ms = std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count();
  r.model_name = model.name();
  r.model_gflops = model.flops() / 1e9;
  const auto shapes = resolve_input_shapes(model.inputs(), o.shape, o.batch);
  for (std::size_t i = 0; i < shapes.size(); ++i)
    r.inputs.push_back({model.inputs()[i].name, to_property_string(model.inputs()[i].element_type),
                        to_string(shapes[i])});
  std::string inputs;
  for (const auto& p : r.inputs) inputs += (inputs.empty() ? "" : ", ") + p.name + " " + p.element_type + " " + p.shape;
  std::printf("Read model       %.1f ms  (%s: %.4g GFLOP; inputs %s)\n", r.read_ms, r.model_name.c_str(),
              r.model_gflops, inputs.c_str());

  const auto compile_start = BenchClock::now();
  auto compiled = core.compile_model(model, o.device, r.properties);
  r.compile_ms = std::chrono::duration<double, std::milli>(BenchClock::now() - compile_start).count();
  check_properties_supported(compiled, r.properties, r.virtual_device);
  r.execution_devices_at_compile = compiled.get_property(execution_devices);
  r.optimal_nireq = compiled.get_property(optimal_number_of_infer_requests);
  r.effective = effective_properties(compiled);
  // The compiled model holds what it needs to run: keeping the source weights alive as well would
  // put a second copy of them into the run's memory figures (AUTO / MULTI keep their own reference).
  model = Model();
  const auto after_compile = ProcessMemory::read();
  const bool run_peak_known = ProcessMemory::reset_peak();
  const bool sync = o.api == "sync";
  r.nireq = sync ? 1 : o.nireq > 0 ? o.nireq : int(std::max<std::int64_t>(1, r.optimal_nireq));
  std::printf("Compile          %.1f ms  (hint %s)\n", r.compile_ms, o.hint.c_str());
  std::printf("Configuration    execution devices %s; optimal nireq %lld; using nireq %d, api %s\n",
              join(r.execution_devices_at_compile).c_str(), static_cast<long long>(r.optimal_nireq), r.nireq, o.api.c_str());
  std::string effective;
  for (const auto& key : {"performance_mode", "num_streams", "inference_num_threads", "inference_precision",
                          "enable_cpu_pinning", "max_batch_size", "schedule_policy"})
    if (auto it = r.effective.find(key); it != r.effective.end()) effective += std::string("  ") + key + "=" + it->second;
  if (!effective.empty()) std::printf("%17s%s\n", "", effective.c_str());
  if (auto it = r.effective.find("batching"); it != r.effective.end())
    std::printf("%17s  batching: %s\n", "", it->second.c_str());
  if (sync && o.nireq > 1) std::printf("[ WARN ] -api sync runs one request; -nireq %d ignored\n", o.nireq);

  RunSettings settings;
  settings.nireq = r.nireq;
  settings.niter = o.niter;
  settings.time_limit_s = r.time_limit_s;
  settings.sync_api = sync;
  settings.progress_bar = isatty(STDOUT_FILENO) != 0;
  settings.prepare = [&shapes](InferRequest& request) { fill_inputs(request, shapes); };
  r.first_inference_ms = first_inference(compiled, settings);
  std::printf("First inference  %.2f ms\n", r.first_inference_ms);
  std::printf("Running          %s\n",
              (o.niter > 0 && r.time_limit_s > 0
                   ? std::to_string(o.niter) + " inferences or " + seconds(r.time_limit_s) + ", whichever first"
               : o.niter > 0 ? std::to_string(o.niter) + " inferences"
                             : seconds(r.time_limit_s))
                  .c_str());
  std::fflush(stdout);

  auto run = run_inferences(compiled, settings);
  r.execution_devices = compiled.get_property(execution_devices);  // AUTO may have handed over meanwhile
  r.completions = std::move(run.completions);
  r.duration_ms = run.duration_ms;
  r.count = r.completions.size();
  r.throughput = r.duration_ms > 0 ? double(r.count) * 1000.0 / r.duration_ms : 0;
  std::vector<double> latencies;
  for (const auto& c : r.completions) latencies.push_back(c.latency_ms);
  r.latency = latency_stats(std::move(latencies), o.percentile);
  if (r.virtual_device) {
    r.device_completions = recorder->completions_since(run.start);
  } else {
    const std::string name = r.execution_devices.empty() ? o.device : r.execution_devices.front();
    // (a concrete device runs every inference itself)
    for (const auto& c : r.completions) r.device_completions.push_back({name, c.end_s, c.latency_ms});
  }
  r.device_events = recorder->device_events(compile_start);
  r.hand_over = recorder->hand_over(compile_start, run.start);
  compute_device_shares(r);
  const auto at_end = ProcessMemory::read();
  r.memory.process_peak_rss = std::max(after_compile.peak_rss_bytes, at_end.peak_rss_bytes);
  r.memory.run_peak_rss = run_peak_known ? at_end.peak_rss_bytes : 0;
  r.memory.rss_file_end = at_end.rss_file_bytes;
  r.memory.read_compiled(compiled, r.nireq);
  print_results(o, r);
  print_memory(r);
  if (o.per_op_counters) print_counters(r);

  if (trace) {
    if (!r.virtual_device) {
      // A concrete device has no scheduler events: one slice per completion, from the application's view.
      std::uint64_t id = 0;
      for (const auto& c : r.completions) {
        RequestEvent e{RequestEventKind::finished, o.device, ++id, 1, r.device_completions.front().device,
                       c.latency_ms, "", run.start + std::chrono::duration_cast<BenchClock::duration>(
                                                         std::chrono::duration<double>(c.end_s)),
                       {}, {}, 0};
        trace->on_request(e);
      }
    }
    trace->flush();
    std::printf("[ INFO ] Chrome trace written to %s (%zu events; open in ui.perfetto.dev)\n", o.trace_path.c_str(),
                trace->event_count());
  }
  if (!o.json_path.empty()) {
    write_json_file(o.json_path, report_json(r, hardware_fingerprint(core)));
    std::printf("[ INFO ] JSON report written to %s\n", o.json_path.c_str());
  }
  if (!o.plot_path.empty()) {
    write_svg_plot(r, o.plot_path);
    std::printf("[ INFO ] Plot written to %s\n", o.plot_path.c_str());
  }
  if (!o.dump_config.empty()) dump_config(o, r);
  return 0;
}

int run_compare(const Options& o) {
  nlohmann::json reports[2];
  for (int i = 0; i < 2; ++i) {
    reports[i] = read_json_file(o.compare[std::size_t(i)]);
    if (auto problem = report_schema_error(reports[i]); !problem.empty())
      throw Error(ErrorCode::invalid_argument, "--compare: '" + o.compare[std::size_t(i)] +
                                                   "' is not an autosched-bench report (" + problem + ")");
  }
  print_comparison(reports[0], reports[1], o.compare[0], o.compare[1], std::cout);
  return 0;
}

void add_options(CLI::App& app, Options& o) {
  std::string builtins = join(Core::builtin_models());
  app.add_option("-m,--model", o.model, "ONNX file or builtin:<name> (" + builtins + ")")->capture_default_str();
  app.add_option("-d,--device", o.device, "device string: AUTO, MULTI, CPU, OCL.0, REF, SIM.<name>, AUTO:OCL.0,CPU, ...")
      ->capture_default_str();
  app.add_option("--hint", o.hint, "performance hint")
      ->check(CLI::IsMember({"latency", "throughput", "cumulative_throughput", "none"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--api", o.api, "sync: one request in a loop; async: nireq requests in flight")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str();
  app.add_option("--nireq", o.nireq, "requests in flight (default: the compiled model's optimal number)")
      ->check(autosched::tools::number_above(0));
  app.add_option("--niter", o.niter, "number of inferences (with -t: whichever limit comes first)")
      ->check(autosched::tools::number_above(0));
  app.add_option("-t,--time", o.time_s, "seconds to run (default 10 when -niter is not given)")
      ->check(autosched::tools::number_above(0));
  app.add_option("--nstreams", o.nstreams, "num_streams property")->check(autosched::tools::number_above(0));
  app.add_option("--nthreads", o.nthreads, "inference_num_threads property")->check(autosched::tools::number_above(0));
  app.add_option("--pin", o.pin, "enable_cpu_pinning property: true | false");
  app.add_option("--infer_precision", o.infer_precision, "inference_precision property: f32 | bf16 | f16");
  app.add_option("--shape", o.shape, "input shapes for dynamic models: [1,3,224,224] or name[1,3,224,224],...");
  app.add_option("-b,--batch", o.batch, "batch: the first dimension of every input (dynamic batch only)")
      ->check(autosched::tools::number_above(0));
  app.add_option("--cache_dir", o.cache_dir, "cache_dir property (compiled program cache)");
  app.add_option("--policy", o.policy, "schedule_policy property of AUTO / MULTI");
  app.add_option("--latency_budget_ms", o.latency_budget_ms, "latency_budget_ms property (slo policy)")
      ->check(autosched::tools::number_above(0));
  app.add_option("--load_config", o.load_config, "JSON {\"<device>\": {\"<property>\": value}} to compile with");
  app.add_option("--dump_config", o.dump_config, "write the effective configuration as JSON (for -load_config)");
  app.add_flag("--pc", o.per_op_counters, "print per-operation counters where the device has them");
  app.add_option("--json", o.json_path, "write a JSON report with a hardware fingerprint");
  app.add_option("--trace", o.trace_path, "write a Chrome / Perfetto trace of the run");
  app.add_option("--plot", o.plot_path, "write an SVG: throughput over time per device, latency histogram");
  app.add_option("--compare", o.compare, "print two JSON reports side by side (no run)")->expected(2);
  app.add_option("--report_latency_percentile", o.percentile, "an extra latency percentile to report (1..100)")
      ->check(CLI::Range(1.0, 100.0))
      ->capture_default_str();
  app.footer("Every long flag also takes one dash: -nireq 4 == --nireq 4, -niter, -hint, -api, ...");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"autosched-bench: benchmark a model on a device (latency, throughput, per-device share)"};
  Options o;
  add_options(app, o);
  const auto args = normalize_single_dash_flags(argc, argv, long_option_names(app));
  std::vector<const char*> arg_pointers;
  for (const auto& a : args) arg_pointers.push_back(a.c_str());
  for (const auto& a : args) o.command_line += (o.command_line.empty() ? "" : " ") + a;
  try {
    app.parse(int(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "autosched-bench: %s (see --help)\n", one_line(e.what()).c_str());
    return 2;
  }
  try {
    return o.compare.empty() ? run_benchmark(o) : run_compare(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "autosched-bench: error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
}
