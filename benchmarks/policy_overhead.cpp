// Policy engine overhead: what deciding where a request runs, and keeping the
// books, costs per request, without running inferences.
//   * LiveStats::record (every completion) and ::fill (every snapshot, per device);
//   * each built-in policy's choose() on hand-built snapshots of 2 and 10 devices;
//   * DeviceSet acquire() + complete() on a zero-latency SIM device: the
//     scheduler's decision + bookkeeping per request through the queue (the
//     lease's inner request is never started), on 1 and 2 threads;
//   * for comparison, start_async() + wait() on SIM.zero directly and through
//     AUTO:SIM.zero end to end (the same as dispatch_overhead, run side by side).
// Issue 8's goal: scheduling overhead <= 2 us per request, >= 500k requests/s
// through the queue. Benchmarks are not tests: read the rows side by side.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench_models.hpp"
#include "autosched/autosched.hpp"
#include "autosched/plugin/device.hpp"
#include "autosched/plugin/graph.hpp"
#include "autosched/policy.hpp"
#include "devices/sim/sim_device.hpp"
#include "scheduler/device_set.hpp"
#include "scheduler/live_stats.hpp"

namespace {

using namespace autosched;
using Clock = std::chrono::steady_clock;

const char* const kZeroProfileJson = R"({"name": "zero", "device_class": "discrete_gpu", "timing_only": true,
                                         "parallel_slots": 4, "latency": {"base_ms": 0}})";

using bench::relu_model;

// ---- (a) statistics update ----

// One completion into a warm LiveStats (full latency window and rate ring).
void BM_LiveStatsRecord(benchmark::State& state) {
  scheduler::LiveStats stats;
  auto now = Clock::now();
  for (int i = 0; i < 512; ++i) stats.record(1.0 + 0.01 * (i % 7), now += std::chrono::microseconds(100));
  double latency = 1.0;
  for (auto _ : state) {
    now += std::chrono::microseconds(100);
    latency = latency < 2.0 ? latency + 0.01 : 1.0;
    stats.record(latency, now);
  }
  state.SetItemsProcessed(state.iterations());
}

// A snapshot of one device. Arg 0: nothing recorded since the last fill
// (percentiles cached); arg 1: one record before each fill (the window is
// re-sorted), i.e. the cost the scheduler pays per device after a completion.
void BM_LiveStatsFill(benchmark::State& state) {
  const bool record_first = state.range(0) != 0;
  scheduler::LiveStats stats;
  auto now = Clock::now();
  for (int i = 0; i < 512; ++i) stats.record(1.0 + 0.01 * (i % 7), now += std::chrono::microseconds(100));
  DeviceStats out;
  for (auto _ : state) {
    if (record_first) stats.record(1.5, now += std::chrono::microseconds(100));
    stats.fill(out, now);
    benchmark::DoNotOptimize(out.p99_latency_ms);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(record_first ? "record+fill" : "fill (cached percentiles)");
}

// ---- (b) policies on hand-built snapshots ----

// A measured fleet: `n` devices, alternately a fast GPU (4 slots, 2 ms) and a
// CPU-like device (2 slots, 6 ms); every other device is full, so a policy
// scans past busy devices as it would under load.
std::vector<DeviceStats> fleet(std::size_t n) {
  std::vector<DeviceStats> devices(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& d = devices[i];
    const bool gpu = i % 2 == 0;
    d.name = (gpu ? "SIM.fast_gpu." : "SIM.cpu_like.") + std::to_string(i);
    d.device_class = gpu ? "discrete_gpu" : "cpu";
    d.priority = i;
    d.slots = gpu ? 4 : 2;
    d.in_flight = (i / 2) % 2 == 0 ? d.slots - 1 : d.slots;
    d.samples = d.completed = 1000;
    const double ms = (gpu ? 2.0 : 6.0) * (1.0 + 0.05 * double(i));
    d.ewma_latency_ms = ms;
    d.p50_latency_ms = ms;
    d.p90_latency_ms = ms * 1.2;
    d.p99_latency_ms = ms * 1.5;
    d.completions_per_s = d.slots * 1000.0 / ms;
    d.eligible = true;
  }
  return devices;
}

const char* kind_name(Decision::Kind k) {
  switch (k) {
    case Decision::Kind::run: return "run";
    case Decision::Kind::wait: return "wait";
    case Decision::Kind::reject: return "reject";
  }
  return "?";
}

void BM_PolicyChoose(benchmark::State& state, const std::string& name) {
  const auto devices = fleet(std::size_t(state.range(0)));
  PolicyConfig config;
  config.hint = "CUMULATIVE_THROUGHPUT";
  config.latency_budget_ms = 50;  // slo; the others ignore it
  auto policy = make_policy(name, config);
  PendingRequest request;
  request.id = 1;
  request.now = request.enqueued = Clock::now();
  request.queued = 1;
  Decision last;
  for (auto _ : state) {
    last = policy->choose(devices, request);
    benchmark::DoNotOptimize(last);
    ++request.id;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(kind_name(last.kind)) + ": " + last.reason);
}

// ---- (c) the scheduler's queue: DeviceSet acquire() + complete() ----

// A DeviceSet over one zero-latency SIM device with 4 slots (ready, warmed
// up), shared by the benchmark's threads.
struct QueueFixture {
  std::shared_ptr<scheduler::DeviceSet> set;

  explicit QueueFixture(const std::string& policy_name) {
    auto device = sim::make_sim_device(sim::parse_profile(kZeroProfileJson, "policy_overhead"),
                                       sim::clock_for_new_devices());
    std::vector<scheduler::Candidate> candidates{{device, "SIM.zero", 0}};
    scheduler::DeviceSetOptions options;
    options.label = "bench";
    options.virtual_name = "AUTO";
    PolicyConfig config;
    config.hint = "CUMULATIVE_THROUGHPUT";
    if (policy_name == "slo") {
      config.latency_budget_ms = 50;
      options.latency_budget_ms = 50;
    }
    set = std::make_shared<scheduler::DeviceSet>(candidates, make_policy(policy_name, config), options);
    scheduler::CompiledCandidate compiled;
    auto inner = device->compile(relu_model(), {});
    compiled.slots = inner->num_parallel_requests();
    compiled.optimal_requests = compiled.slots;
    compiled.model = plugin::wrap_compiled_model(std::move(inner), "SIM.zero");
    compiled.warmed_up = true;
    set->mark_ready(0, std::move(compiled));
  }
};

// One request's scheduling as AutoInferRequest does it, minus the inference:
// fresh Attempts, acquire (queue, snapshot, policy, slot), complete (stats,
// policy on_complete, re-dispatch). Items/s = requests/s through the queue.
std::unique_ptr<QueueFixture> queue_fixture;  // the current run's, shared by its threads

void BM_DeviceSetRoundTrip(benchmark::State& state, const std::string& policy_name) {
  // Thread 0 sets up before the loop; every thread's loop starts after a
  // barrier, so the others read queue_fixture only inside it.
  if (state.thread_index() == 0) queue_fixture = std::make_unique<QueueFixture>(policy_name);
  const std::atomic<bool> cancelled{false};
  std::uint64_t id = std::uint64_t(state.thread_index()) << 40;
  for (auto _ : state) {
    auto& set = *queue_fixture->set;
    scheduler::DeviceSet::Attempts attempts;
    auto lease = set.acquire(attempts, {++id, 64}, cancelled);
    set.complete(lease, scheduler::DeviceSet::Outcome::ok, 0.0, "");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) state.SetLabel("policy " + policy_name);
}

// ---- end to end, for comparison ----

const std::string& zero_profile_path() {
  static const std::string path = [] {
    std::string p = "/tmp/autosched_policy_bench_zero_" + std::to_string(getpid()) + ".json";
    std::ofstream(p) << kZeroProfileJson;
    return p;
  }();
  return path;
}

Core& shared_core() {
  static Core core({sim_profiles({zero_profile_path()}), log_level(LogLevel::warn)});
  return core;
}

void BM_StartAsyncWait(benchmark::State& state, const std::string& device) {
  auto compiled = shared_core().compile_model(relu_model(), device,
                                              {hint::performance_mode(PerformanceMode::LATENCY)});
  auto request = compiled.create_infer_request();
  for (auto _ : state) {
    request.start_async();
    request.wait();
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_LiveStatsRecord);
BENCHMARK(BM_LiveStatsFill)->Arg(0)->Arg(1);

#define POLICY_CHOOSE(p) BENCHMARK_CAPTURE(BM_PolicyChoose, p, std::string(#p))->Arg(2)->Arg(10)
POLICY_CHOOSE(device_priority);
POLICY_CHOOSE(round_robin);
POLICY_CHOOSE(latency);
POLICY_CHOOSE(throughput);
POLICY_CHOOSE(slo);
#undef POLICY_CHOOSE

#define ROUND_TRIP(p) \
  BENCHMARK_CAPTURE(BM_DeviceSetRoundTrip, p, std::string(#p))->Threads(1)->Threads(2)->UseRealTime()
ROUND_TRIP(device_priority);
ROUND_TRIP(round_robin);
ROUND_TRIP(latency);
ROUND_TRIP(throughput);
ROUND_TRIP(slo);
#undef ROUND_TRIP

BENCHMARK_CAPTURE(BM_StartAsyncWait, SIM_zero, std::string("SIM.zero"))->UseRealTime();
BENCHMARK_CAPTURE(BM_StartAsyncWait, AUTO_SIM_zero, std::string("AUTO:SIM.zero"))->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  queue_fixture.reset();
  std::remove(zero_profile_path().c_str());
  return 0;
}
