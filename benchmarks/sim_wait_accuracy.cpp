// How closely real SIM waits track the profile: each iteration is one SIM
// inference (timing_only, no jitter) on the real SteadyClock, timed from the
// outside. Reported per run: p50 / p99 error of the observed latency against
// the profile's, in percent (goal: p50 within 5 % at 1 ms), and the CPU time
// the process used per inference (a wait that burns CPU would show ~100 %).
// Args: profile latency in µs, number of devices waiting side by side.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench_models.hpp"
#include "autosched/plugin/graph.hpp"
#include "devices/sim/sim_device.hpp"

namespace {

using namespace autosched;

Model relu_model() { return bench::relu_model(PartialShape::dynamic_rank()); }

std::shared_ptr<plugin::ISyncInferRequest> make_request(double latency_ms, std::shared_ptr<sim::Clock> clock) {
  const std::string json = R"({"name": "bench", "device_class": "discrete_gpu", "timing_only": true,
      "latency": {"base_ms": )" + std::to_string(latency_ms) + "}}";
  auto device = sim::make_sim_device(sim::parse_profile(json, "benchmark"), std::move(clock));
  return std::shared_ptr<plugin::ISyncInferRequest>(device->compile(relu_model(), {})->create_sync_request());
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::size_t(q * double(v.size() - 1) + 0.5)];
}

void BM_SimWaitAccuracy(benchmark::State& state) {
  const double latency_ms = double(state.range(0)) / 1000.0;
  const int background = int(state.range(1)) - 1;
  auto clock = sim::clock_for_new_devices();  // the real SteadyClock
  auto request = make_request(latency_ms, clock);
  // Other devices waiting at the same time, each on its own thread, as the core's workers would.
  std::atomic<bool> stop{false};
  std::vector<std::thread> others;
  for (int i = 0; i < background; ++i)
    others.emplace_back([&, r = make_request(latency_ms, clock)] {
      std::vector<Tensor> in{Tensor(ElementType::f32, {1, 16})}, out;
      while (!stop) r->infer(in, out);
    });
  std::vector<Tensor> inputs{Tensor(ElementType::f32, {1, 16})}, outputs;
  std::vector<double> observed_ms;
  const double cpu_before = cpu_seconds();
  const auto wall_before = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    request->infer(inputs, outputs);
    const auto t1 = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    observed_ms.push_back(ms);
    state.SetIterationTime(ms / 1000.0);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  const double cpu = cpu_seconds() - cpu_before;
  stop = true;
  for (auto& t : others) t.join();
  state.counters["p50_error_pct"] = 100.0 * (percentile(observed_ms, 0.50) - latency_ms) / latency_ms;
  state.counters["p99_error_pct"] = 100.0 * (percentile(observed_ms, 0.99) - latency_ms) / latency_ms;
  state.counters["cpu_pct_of_wall"] = 100.0 * cpu / wall;  // all devices together
}

BENCHMARK(BM_SimWaitAccuracy)
    ->ArgNames({"latency_us", "devices"})
    ->Args({1000, 1})
    ->Args({1000, 4})
    ->Args({100, 1})
    ->Args({10000, 1})
    ->Iterations(2000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
