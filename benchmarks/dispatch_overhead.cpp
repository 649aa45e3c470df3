// Request dispatch overhead: what the core's async machinery and the AUTO /
// MULTI scheduler add on top of the device's own work. The model is one Relu
// over 16 floats, so the device work is negligible:
//   * REF sync infer() / start_async()+wait() / N requests chained from callbacks;
//   * a zero-latency SIM device (timing_only, no compute) directly and through
//     AUTO and MULTI — the difference is the scheduler's per-request cost;
//   * tensor allocation (owning, 64-byte aligned, zeroed) by size.
// Benchmarks are not tests: read them side by side (e.g. SIM direct vs AUTO).
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <unistd.h>

#include "bench_models.hpp"
#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"

namespace {

using namespace autosched;

using bench::relu_model;

// A SIM profile that takes no time: SIM.zero, 4 parallel slots, no compute.
const std::string& zero_latency_profile() {
  static const std::string path = [] {
    std::string p = "/tmp/autosched_bench_zero_" + std::to_string(getpid()) + ".json";
    std::ofstream(p) << R"({"name": "zero", "device_class": "discrete_gpu", "timing_only": true,
                           "parallel_slots": 4, "latency": {"base_ms": 0}})";
    return p;
  }();
  return path;
}

Core& shared_core() {
  static Core core({sim_profiles({zero_latency_profile()}), log_level(LogLevel::warn)});
  return core;
}

CompiledModel compile(const std::string& device, PerformanceMode mode = PerformanceMode::LATENCY) {
  return shared_core().compile_model(relu_model(), device, {hint::performance_mode(mode)});
}

void BM_SyncInfer(benchmark::State& state, const std::string& device) {
  auto compiled = compile(device);
  auto request = compiled.create_infer_request();
  for (auto _ : state) request.infer();
  state.SetItemsProcessed(state.iterations());
}

void BM_StartAsyncWait(benchmark::State& state, const std::string& device) {
  auto compiled = compile(device);
  auto request = compiled.create_infer_request();
  for (auto _ : state) {
    request.start_async();
    request.wait();
  }
  state.SetItemsProcessed(state.iterations());
}

// N requests in flight, each restarted from its own callback: the throughput
// path of autosched-bench. One iteration = `per_iteration` completions.
void BM_CallbackChain(benchmark::State& state, const std::string& device) {
  const int nireq = int(state.range(0));
  constexpr int per_iteration = 256;
  auto compiled = compile(device, PerformanceMode::THROUGHPUT);
  std::vector<InferRequest> requests;
  for (int i = 0; i < nireq; ++i) requests.push_back(compiled.create_infer_request());
  std::mutex mutex;
  std::condition_variable done;
  int remaining = 0, in_flight = 0;
  for (auto& r : requests) {
    r.set_callback([&, req = &r](std::exception_ptr) {
      std::unique_lock lock(mutex);
      if (remaining > 0) {
        --remaining;
        lock.unlock();
        req->start_async();
        return;
      }
      if (--in_flight == 0) done.notify_all();
    });
  }
  for (auto _ : state) {
    std::unique_lock lock(mutex);
    remaining = per_iteration - nireq;
    in_flight = nireq;
    lock.unlock();
    for (auto& r : requests) r.start_async();
    lock.lock();
    done.wait(lock, [&] { return in_flight == 0; });
  }
  for (auto& r : requests) r.wait();
  state.SetItemsProcessed(state.iterations() * per_iteration);
}

void BM_TensorAllocation(benchmark::State& state) {
  const Shape shape{1, state.range(0)};
  for (auto _ : state) {
    Tensor t(ElementType::f32, shape);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * std::int64_t(sizeof(float)));
}

BENCHMARK_CAPTURE(BM_SyncInfer, REF, std::string("REF"))->UseRealTime();
BENCHMARK_CAPTURE(BM_SyncInfer, SIM_zero, std::string("SIM.zero"))->UseRealTime();
BENCHMARK_CAPTURE(BM_SyncInfer, AUTO_SIM_zero, std::string("AUTO:SIM.zero"))->UseRealTime();
BENCHMARK_CAPTURE(BM_StartAsyncWait, REF, std::string("REF"))->UseRealTime();
BENCHMARK_CAPTURE(BM_StartAsyncWait, SIM_zero, std::string("SIM.zero"))->UseRealTime();
BENCHMARK_CAPTURE(BM_StartAsyncWait, AUTO_SIM_zero, std::string("AUTO:SIM.zero"))->UseRealTime();
BENCHMARK_CAPTURE(BM_CallbackChain, SIM_zero, std::string("SIM.zero"))->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_CallbackChain, AUTO_SIM_zero, std::string("AUTO:SIM.zero"))->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_CallbackChain, MULTI_SIM_zero_REF, std::string("MULTI:SIM.zero,REF"))->Arg(4)->UseRealTime();
BENCHMARK(BM_TensorAllocation)->Arg(16)->Arg(784)->Arg(3 * 224 * 224);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::remove(zero_latency_profile().c_str());
  return 0;
}
