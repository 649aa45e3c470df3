// CPU device on the builtin models: compile time, first inference, p50/p99
// latency under the LATENCY hint (one request, back to back), throughput
// under the THROUGHPUT hint (the optimal number of requests in flight) and %
// of the fp32 peak. Optionally bf16 rows and the bf16/f32 top-1 agreement.
// A benchmark, not a test: it prints numbers and never fails on them.
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
//   cpu_models [--models mlp,bert_tiny,mobilenetv2,resnet50] [--seconds 5]
//              [--peak-gflops 230] [--bf16] [--agreement 200] [--device CPU]
//              [--throughput-only]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"
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
  std::string model, precision;
  double compile_ms = 0, first_ms = 0, p50 = 0, p99 = 0, throughput = 0, gflops = 0;
  int requests = 0;
  std::string streams;
  autosched::tools::MemoryFigures memory;  // of the THROUGHPUT phase
};

Row measure(autosched::Core& core, const std::string& name, const std::string& device, const std::string& precision,
            double seconds, bool latency_phase) {
  using autosched::tools::ProcessMemory;
  Row row;
  row.model = name;
  row.precision = precision;
  if (latency_phase) {  // LATENCY: compile, first inference, back-to-back latency
    const auto model = core.read_model("builtin:" + name);
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
    auto model = core.read_model("builtin:" + name);
    row.gflops = model.flops() / 1e9;
    auto compiled =
        core.compile_model(model, device, {{"performance_mode", "THROUGHPUT"}, {"inference_precision", precision}});
    model = autosched::Model();  // the compiled model holds what it runs on
    const auto compiled_memory = ProcessMemory::read();
    ProcessMemory::reset_peak();
    row.requests = int(compiled.get_property(autosched::optimal_number_of_infer_requests));
    row.memory.read_compiled(compiled, row.requests);
    try {
      row.streams = compiled.get_property("cpu_stream_plan").substr(0, 40);
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models = {"mlp", "bert_tiny", "mobilenetv2", "resnet50"};
  std::string device = "CPU";
  double seconds = 5, peak = 230;
  bool bf16 = false, latency_phase = true;
  int agreement = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--models" && has_value) models = split(argv[++i]);
    else if (a == "--device" && has_value) device = argv[++i];
    else if (a == "--seconds" && has_value) seconds = std::stod(argv[++i]);
    else if (a == "--peak-gflops" && has_value) peak = std::stod(argv[++i]);
    else if (a == "--agreement" && has_value) agreement = std::stoi(argv[++i]);
    else if (a == "--bf16") bf16 = true;
    else if (a == "--throughput-only") latency_phase = false;
    else {
      std::fprintf(stderr, "usage: %s [--models a,b] [--device CPU] [--seconds 5] [--peak-gflops 230] [--bf16] "
                           "[--agreement N] [--throughput-only]\n", argv[0]);
      return 2;
    }
  }
  autosched::Core core;
  std::printf("%-12s %-5s %9s %9s %9s %9s %6s %11s %8s %9s %9s %9s %8s %6s\n", "model", "prec", "compile", "first",
              "p50 ms", "p99 ms", "nireq", "inf/s", "% peak", "rss run", "rss all", "weights", "act", "ratio");
  auto mib = [](double bytes) { return bytes / (1024.0 * 1024.0); };
  std::uint64_t rss_file = 0;
  for (const auto& name : models) {
    std::vector<std::string> precisions = {"f32"};
    if (bf16) precisions.push_back("bf16");
    for (const auto& precision : precisions) {
      const Row r = measure(core, name, device, precision, seconds, latency_phase);
      char latency[64] = "        -         -         -         -";  // --throughput-only
      if (latency_phase)
        std::snprintf(latency, sizeof latency, "%7.1fms %7.2fms %9.3f %9.3f", r.compile_ms, r.first_ms, r.p50, r.p99);
      std::printf("%-12s %-5s %s %6d %11.1f %7.1f%% %6.1fMiB %6.1fMiB %6.1fMiB %5.1fMiB %6.2f\n", r.model.c_str(),
                  r.precision.c_str(), latency, r.requests, r.throughput, 100.0 * r.gflops * r.throughput / peak,
                  mib(double(r.memory.run_peak_rss)), mib(double(r.memory.process_peak_rss)),
                  mib(double(r.memory.weights_bytes)), mib(double(r.memory.activation_bytes_per_request)),
                  r.memory.ratio(r.memory.run_peak_rss));
      rss_file = r.memory.rss_file_end;
      std::fflush(stdout);
    }
    if (bf16 && agreement > 0)
      std::printf("%-12s bf16/f32 top-1 agreement over %d inputs: %.1f%%\n", name.c_str(), agreement,
                  100.0 * top1_agreement(core, name, device, agreement));
  }
  std::printf("rss run / all: peak RSS (VmHWM) of the THROUGHPUT phase after / including read + compile; ratio = "
              "rss run / (weights + nireq x (act + scratchpad) + batches); %.1f MiB of the RSS are mapped files (shared "
              "libraries)%s\n",
              mib(double(rss_file)),
              models.size() > 1 || latency_phase ? "; memory is clean for the first phase of the process only "
                                                   "(--models <one> --throughput-only)" : "");
  return 0;
}
