// CPU device on the builtin models and on the same models read back from ONNX
// files: read and compile time, first inference, p50/p99 latency under the
// LATENCY hint (one request, back to back), throughput under the THROUGHPUT
// hint (the optimal number of requests in flight) and % of the fp32 peak,
// which is measured on this machine (benchmarks/fp32_peak.hpp) unless
// --peak-gflops gives it. Optionally bf16 rows and the bf16/f32 top-1
// agreement; --json writes every figure with a hardware fingerprint.
// A benchmark, not a test: it prints numbers and never fails on them.
//
// ONNX rows: each builtin model is written with Model::save into a fresh
// temporary folder (removed at the end) and read back with read_model, so the
// rows measure the ONNX import path; "read" is read_model's time (building the
// builtin's random weights, or parsing the file).
//
// Memory of the THROUGHPUT run (Linux VmHWM, reset at the phase's start and
// again once compile_model returned and the source model was released):
// "rss run" is the peak from then to the end of the run, "rss all" the peak
// of the whole phase (reading the model and compiling it with the source
// weights alive included); "weights" and "act" are what the compiled model
// reports (weights_bytes, activation_bytes_per_request), "ratio" is
// rss run / (weights + nireq x (act + scratchpad) + batches, the workers'
// memory for cross-request batching). The RSS also holds the
// shared libraries' pages (printed below the table). The figures are clean
// only for the first phase of the process: once earlier phases freed large
// blocks, glibc raises its mmap threshold and serves the next source model's
// weights from the heap, which keeps them resident after they are freed.
// For a clean figure run one model with --throughput-only (skips LATENCY).
//
//   cpu_models [--models mlp,bert_tiny,mobilenetv2,resnet50] [--sources builtin,onnx]
//              [--seconds 5] [--peak-gflops G] [--bf16] [--agreement 200]
//              [--device CPU] [--throughput-only] [--json report.json]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autosched/autosched.hpp"
#include "benchmarks/fp32_peak.hpp"
#include "tools/bench_report.hpp"
#include "tools/process_memory.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

autosched::Tensor random_input(const autosched::PortInfo& port, std::uint32_t seed) {
  autosched::Tensor t(autosched::ElementType::f32, port.shape.to_shape());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

void fill_inputs(autosched::InferRequest& request, const std::vector<autosched::PortInfo>& inputs,
                 std::uint32_t seed) {
  for (std::size_t k = 0; k < inputs.size(); ++k)
    request.set_input_tensor(k, random_input(inputs[k], seed + std::uint32_t(k)));
}

struct Row {
  std::string model, source, precision;  // source: "builtin" or "onnx"
  double read_ms = 0, compile_ms = 0, first_ms = 0, p50 = 0, p99 = 0, throughput = 0, gflops = 0;
  int requests = 0;
  std::string streams;
  autosched::tools::MemoryFigures memory;  // of the THROUGHPUT phase
};

// `path` is "builtin:<name>" or the ONNX file written from it.
Row measure(autosched::Core& core, const std::string& name, const std::string& source, const std::string& path,
            const std::string& device, const std::string& precision, double seconds, bool latency_phase) {
  using autosched::tools::ProcessMemory;
  Row row;
  row.model = name;
  row.source = source;
  row.precision = precision;
  if (latency_phase) {  // LATENCY: read, compile, first inference, back-to-back latency
    const auto read_start = Clock::now();
    const auto model = core.read_model(path);
    row.read_ms = ms_since(read_start);
    row.gflops = model.flops() / 1e9;
    const auto start = Clock::now();
    auto compiled = core.compile_model(model, device, {{"performance_mode", "LATENCY"}, {"inference_precision", precision}});
    row.compile_ms = ms_since(start);
    auto request = compiled.create_infer_request();
    fill_inputs(request, compiled.inputs(), 1);
    const auto first = Clock::now();
    request.infer();
    row.first_ms = ms_since(first);
    std::vector<double> latencies;
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until || latencies.size() < 10) {
      const auto t = Clock::now();
      request.infer();
      latencies.push_back(ms_since(t));
    }
    std::sort(latencies.begin(), latencies.end());
    row.p50 = latencies[latencies.size() / 2];
    row.p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  {  // THROUGHPUT: the optimal number of requests kept in flight
    const bool peak_resets = ProcessMemory::reset_peak();
    const auto read_start = Clock::now();
    auto model = core.read_model(path);
    if (!latency_phase) row.read_ms = ms_since(read_start);
    row.gflops = model.flops() / 1e9;
    auto compiled =
        core.compile_model(model, device, {{"performance_mode", "THROUGHPUT"}, {"inference_precision", precision}});
    model = autosched::Model();  // the compiled model holds what it runs on
    const auto compiled_memory = ProcessMemory::read();
    ProcessMemory::reset_peak();
    row.requests = int(compiled.get_property(autosched::optimal_number_of_infer_requests));
    row.memory.read_compiled(compiled, row.requests);
    try {
      row.streams = compiled.get_property("cpu_stream_plan");
    } catch (const autosched::Error&) {
    }
    std::vector<autosched::InferRequest> requests;
    for (int i = 0; i < row.requests; ++i) {
      requests.push_back(compiled.create_infer_request());
      fill_inputs(requests.back(), compiled.inputs(), 100 + std::uint32_t(i));
      requests.back().infer();  // warm-up on its stream
    }
    std::size_t done = 0;
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    for (auto& r : requests) r.start_async();
    while (Clock::now() < until) {
      for (auto& r : requests) {
        r.wait();
        ++done;
        r.start_async();
      }
    }
    for (auto& r : requests) r.wait();
    done += requests.size();
    row.throughput = double(done) / (ms_since(start) / 1000.0);
    const auto end = ProcessMemory::read();
    if (peak_resets) {
      row.memory.run_peak_rss = end.peak_rss_bytes;
      row.memory.process_peak_rss = std::max(compiled_memory.peak_rss_bytes, end.peak_rss_bytes);
    }
    row.memory.rss_file_end = end.rss_file_bytes;
  }
  return row;
}

// Fraction of `n` random inputs on which bf16 and f32 pick the same arg-max.
double top1_agreement(autosched::Core& core, const std::string& name, const std::string& device, int n) {
  const auto model = core.read_model("builtin:" + name);
  const auto& inputs = model.inputs();
  auto f32 = core.compile_model(model, device, {{"inference_precision", "f32"}});
  auto bf16 = core.compile_model(model, device, {{"inference_precision", "bf16"}});
  auto r32 = f32.create_infer_request();
  auto r16 = bf16.create_infer_request();
  auto argmax = [](const autosched::Tensor& t) {
    return std::max_element(t.data<float>(), t.data<float>() + t.size()) - t.data<float>();
  };
  int agree = 0;
  for (int i = 0; i < n; ++i) {
    fill_inputs(r32, inputs, 9000 + std::uint32_t(i));
    fill_inputs(r16, inputs, 9000 + std::uint32_t(i));
    r32.infer();
    r16.infer();
    agree += argmax(r32.get_output_tensor(0)) == argmax(r16.get_output_tensor(0));
  }
  return double(agree) / n;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

nlohmann::json row_json(const Row& r, double peak_gflops, bool latency_phase) {
  nlohmann::json j = {{"model", r.model},
                      {"source", r.source},
                      {"precision", r.precision},
                      {"gflop_per_inference", r.gflops},
                      {"read_ms", r.read_ms},
                      {"throughput_hint", {{"nireq", r.requests},
                                           {"inferences_per_s", r.throughput},
                                           {"gflops", r.gflops * r.throughput},
                                           {"percent_of_peak", 100.0 * r.gflops * r.throughput / peak_gflops},
                                           {"stream_plan", r.streams}}},
                      {"memory", {{"run_peak_rss_bytes", r.memory.run_peak_rss},
                                  {"process_peak_rss_bytes", r.memory.process_peak_rss},
                                  {"weights_bytes", r.memory.weights_bytes},
                                  {"activation_bytes_per_request", r.memory.activation_bytes_per_request},
                                  {"ratio", r.memory.ratio(r.memory.run_peak_rss)}}}};
  if (latency_phase)
    j["latency_hint"] = {{"compile_ms", r.compile_ms}, {"first_inference_ms", r.first_ms}, {"p50_ms", r.p50},
                         {"p99_ms", r.p99}};
  return j;
}

struct Options {
  std::vector<std::string> models = {"mlp", "bert_tiny", "mobilenetv2", "resnet50"};
  std::vector<std::string> sources = {"builtin", "onnx"};
  std::string device = "CPU", json_path;
  double seconds = 5, peak = 0;  // peak 0: measure it
  bool bf16 = false, latency_phase = true;
  int agreement = 0;
};

constexpr const char* kUsage =
    "usage: cpu_models [--models mlp,bert_tiny,mobilenetv2,resnet50] [--sources builtin,onnx] [--seconds 5] "
    "[--peak-gflops G (default: measured)] [--bf16] [--agreement N] [--device CPU] [--throughput-only] "
    "[--json report.json]";

// Throws std::invalid_argument naming the flag and what it accepts.
Options parse(int argc, char** argv) {
  Options o;
  auto number = [&](int& i, const std::string& flag, double min) {
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string v = argv[++i];
    std::size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || !(x >= min))
      throw std::invalid_argument(flag + " '" + v + "' is not a number >= " + std::to_string(int(min)));
    return x;
  };
  auto value = [&](int& i, const std::string& flag) {
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    return std::string(argv[++i]);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--models") o.models = split(value(i, a));
    else if (a == "--sources") o.sources = split(value(i, a));
    else if (a == "--device") o.device = value(i, a);
    else if (a == "--json") o.json_path = value(i, a);
    else if (a == "--seconds") o.seconds = number(i, a, 0);
    else if (a == "--peak-gflops") o.peak = number(i, a, 1);
    else if (a == "--agreement") o.agreement = int(number(i, a, 1));
    else if (a == "--bf16") o.bf16 = true;
    else if (a == "--throughput-only") o.latency_phase = false;
    else throw std::invalid_argument("unknown argument '" + a + "'");
  }
  const std::set<std::string> builtins = {"mlp", "bert_tiny", "mobilenetv2", "resnet50"};
  for (const auto& m : o.models)
    if (!builtins.count(m))
      throw std::invalid_argument("unknown model '" + m + "'; valid: mlp, bert_tiny, mobilenetv2, resnet50");
  for (const auto& src : o.sources)
    if (src != "builtin" && src != "onnx")
      throw std::invalid_argument("unknown source '" + src + "'; valid: builtin, onnx");
  if (o.models.empty() || o.sources.empty()) throw std::invalid_argument("--models and --sources need at least one");
  if (o.agreement > 0 && !o.bf16) throw std::invalid_argument("--agreement compares bf16 with f32: add --bf16");
  return o;
}

// A fresh folder for the ONNX files, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cpu_models-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a folder under " + pattern);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

int run(const Options& o) {
  autosched::Core core;
  autosched::bench::Fp32Peak measured;
  if (o.peak <= 0) measured = autosched::bench::measure_fp32_peak();
  const double peak = o.peak > 0 ? o.peak : measured.gflops;
  if (o.peak > 0) std::printf("fp32 peak: %.1f GFLOP/s (--peak-gflops)\n", peak);
  else
    std::printf("fp32 peak: %.1f GFLOP/s measured (%d threads of %s FMA)\n", peak, measured.threads,
                measured.isa.c_str());
  std::optional<TempDir> onnx_dir;
  if (std::count(o.sources.begin(), o.sources.end(), "onnx")) onnx_dir.emplace();

  std::printf("%-12s %-7s %-5s %8s %9s %9s %9s %9s %6s %11s %8s %9s %9s %9s %8s %6s\n", "model", "source", "prec",
              "read", "compile", "first", "p50 ms", "p99 ms", "nireq", "inf/s", "% peak", "rss run", "rss all",
              "weights", "act", "ratio");
  auto mib = [](double bytes) { return bytes / (1024.0 * 1024.0); };
  std::uint64_t rss_file = 0;
  nlohmann::json rows = nlohmann::json::array(), agreements = nlohmann::json::array();
  for (const auto& name : o.models) {
    for (const auto& source : o.sources) {
      std::string path = "builtin:" + name;
      if (source == "onnx") {
        path = (onnx_dir->path / (name + ".onnx")).string();
        if (!std::filesystem::exists(path)) core.read_model("builtin:" + name).save(path);
      }
      std::vector<std::string> precisions = {"f32"};
      if (o.bf16) precisions.push_back("bf16");
      for (const auto& precision : precisions) {
        const Row r = measure(core, name, source, path, o.device, precision, o.seconds, o.latency_phase);
        char latency[64] = "        -         -         -         -";  // --throughput-only
        if (o.latency_phase)
          std::snprintf(latency, sizeof latency, "%7.1fms %7.2fms %9.3f %9.3f", r.compile_ms, r.first_ms, r.p50,
                        r.p99);
        std::printf("%-12s %-7s %-5s %6.1fms %s %6d %11.1f %7.1f%% %6.1fMiB %6.1fMiB %6.1fMiB %5.1fMiB %6.2f\n",
                    r.model.c_str(), r.source.c_str(), r.precision.c_str(), r.read_ms, latency, r.requests,
                    r.throughput, 100.0 * r.gflops * r.throughput / peak, mib(double(r.memory.run_peak_rss)),
                    mib(double(r.memory.process_peak_rss)), mib(double(r.memory.weights_bytes)),
                    mib(double(r.memory.activation_bytes_per_request)), r.memory.ratio(r.memory.run_peak_rss));
        rows.push_back(row_json(r, peak, o.latency_phase));
        rss_file = r.memory.rss_file_end;
        std::fflush(stdout);
      }
    }
    if (o.bf16 && o.agreement > 0) {
      const double agree = top1_agreement(core, name, o.device, o.agreement);
      std::printf("%-12s bf16/f32 top-1 agreement over %d inputs: %.1f%%\n", name.c_str(), o.agreement,
                  100.0 * agree);
      agreements.push_back({{"model", name}, {"inputs", o.agreement}, {"top1_agreement", agree}});
    }
  }
  std::printf("rss run / all: peak RSS (VmHWM) of the THROUGHPUT phase after / including read + compile; ratio = "
              "rss run / (weights + nireq x (act + scratchpad) + batches); %.1f MiB of the RSS are mapped files (shared "
              "libraries)%s\n",
              mib(double(rss_file)),
              o.models.size() * o.sources.size() > 1 || o.latency_phase
                  ? "; memory is clean for the first phase of the process only "
                    "(--models <one> --sources <one> --throughput-only)"
                  : "");
  if (!o.json_path.empty()) {
    nlohmann::json report = {
        {"schema", "autosched-cpu-models/1"},
        {"device", o.device},
        {"seconds_per_phase", o.seconds},
        {"fp32_peak", {{"gflops", peak}, {"source", o.peak > 0 ? "given" : "measured"}}},
        {"rows", rows},
        {"bf16_agreement", agreements},
        {"hardware", autosched::tools::hardware_fingerprint(core)}};
    if (o.peak <= 0) {  // how it was measured; a given peak has no threads or ISA of its own
      report["fp32_peak"]["threads"] = measured.threads;
      report["fp32_peak"]["isa"] = measured.isa;
    }
    autosched::tools::write_json_file(o.json_path, report);
    std::printf("wrote %s\n", o.json_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cpu_models: %s; %s\n", e.what(), kUsage);
    return 2;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpu_models: %s\n", e.what());
    return 1;
  }
}
