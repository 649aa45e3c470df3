// Stress of the core's async machinery on REF (real kernels) and STRESSDEV
// (controlled latency/cancellation): 16 threads of callback chains that start
// new requests, cancel storms, and destroying compiled models and the Core
// while requests are in flight. Every test runs under a Watchdog; every
// started run must complete exactly once with the right output.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "tests/stress/stress_support.hpp"

namespace autosched::stress {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t kN = 4;  // elements per tensor

Model model_for(const std::string& device) { return device == "REF" ? add_relu_model(kN) : identity_model(kN); }

void write_input(InferRequest& r, float value) {
  float* x = r.get_input_tensor().data<float>();
  for (std::int64_t i = 0; i < kN; ++i) x[i] = value + float(i);
}

bool output_matches(InferRequest& r, const std::string& device, float value) {
  const float* y = r.get_output_tensor().data<float>();
  for (std::int64_t i = 0; i < kN; ++i) {
    const float x = value + float(i);
    const float expected = device == "REF" ? add_relu_expected(x, i, kN) : x;
    if (y[i] != expected) return false;
  }
  return true;
}

bool take_token(std::atomic<std::int64_t>& budget) {
  auto v = budget.load();
  while (v > 0 && !budget.compare_exchange_weak(v, v - 1)) {
  }
  return v > 0;
}

class AsyncStress : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { stress_device().reset(); }
};

struct Chain;

// One request restarted from its own callback until the thread's budget is
// spent; every 64th completion also spawns a brand-new request (created and
// started inside the callback) that joins the chains.
struct ChainRun {
  std::string device;
  CompiledModel compiled;
  std::vector<std::atomic<std::uint8_t>> completions;  // by run sequence number
  std::atomic<std::int64_t> next_seq{0};
  std::atomic<std::int64_t> started{0}, ok{0}, errors{0}, mismatches{0}, spawned{0};
  std::atomic<int> live_chains{0};
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<std::unique_ptr<Chain>> chains;  // owns every chain (guarded by mutex)
  explicit ChainRun(std::size_t capacity) : completions(capacity) {}
};

struct Chain {
  ChainRun* run;
  std::atomic<std::int64_t>* budget;
  InferRequest request;
  std::int64_t seq = -1;

  void start() {
    seq = run->next_seq++;
    write_input(request, float(seq));
    ++run->started;
    request.start_async();
  }
  void on_complete(std::exception_ptr error) {
    if (error) {
      ++run->errors;
    } else if (output_matches(request, run->device, float(seq))) {
      ++run->ok;
    } else {
      ++run->mismatches;
    }
    run->completions[std::size_t(seq)]++;
    if ((seq % 64) == 63 && take_token(*budget)) spawn();
    if (take_token(*budget)) return start();
    if (--run->live_chains == 0) {
      std::lock_guard lock(run->mutex);
      run->all_done.notify_all();
    }
  }
  void spawn() {
    auto chain = std::make_unique<Chain>(Chain{run, budget, run->compiled.create_infer_request()});
    Chain* c = chain.get();
    c->request.set_callback([c](std::exception_ptr e) { c->on_complete(e); });
    {
      std::lock_guard lock(run->mutex);
      run->chains.push_back(std::move(chain));
    }
    ++run->spawned;
    ++run->live_chains;
    c->start();
  }
};

TEST_P(AsyncStress, SixteenThreadsOfCallbackChains) {
  const std::string device = GetParam();
  const int threads = 16;
  const std::int64_t per_thread = scaled(10000, 400);
  if (device == "STRESSDEV") stress_device().max_delay_us = 50;
  Watchdog watchdog(std::chrono::seconds(scaled(600, 240)), "SixteenThreadsOfCallbackChains/" + device);
  Core core;
  ChainRun run(std::size_t(threads * per_thread));
  run.device = device;
  run.compiled = core.compile_model(model_for(device), device, {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  std::vector<std::atomic<std::int64_t>> budgets(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    budgets[t] = per_thread;
    workers.emplace_back([&, t] {
      for (int k = 0; k < 2 && take_token(budgets[t]); ++k) {
        auto chain = std::make_unique<Chain>(Chain{&run, &budgets[t], run.compiled.create_infer_request()});
        Chain* c = chain.get();
        c->request.set_callback([c](std::exception_ptr e) { c->on_complete(e); });
        {
          std::lock_guard lock(run.mutex);
          run.chains.push_back(std::move(chain));
        }
        ++run.live_chains;
        c->start();
      }
    });
  }
  for (auto& w : workers) w.join();
  {
    std::unique_lock lock(run.mutex);
    run.all_done.wait(lock, [&] { return run.live_chains == 0; });
  }
  // wait() orders the last callbacks before the checks and the teardown.
  std::vector<InferRequest> requests;
  {
    std::lock_guard lock(run.mutex);
    for (auto& c : run.chains) requests.push_back(c->request);
  }
  for (auto& r : requests) EXPECT_NO_THROW(r.wait());
  std::int64_t lost = 0, duplicated = 0;
  for (std::int64_t s = 0; s < run.next_seq; ++s) {
    lost += run.completions[std::size_t(s)] == 0;
    duplicated += run.completions[std::size_t(s)] > 1;
  }
  std::printf("[stress] %s: %lld requests from %d threads (%lld chains spawned in callbacks): ok %lld, errors %lld, "
              "wrong outputs %lld, lost %lld, duplicated %lld\n",
              device.c_str(), (long long)run.started.load(), threads, (long long)run.spawned.load(),
              (long long)run.ok.load(), (long long)run.errors.load(), (long long)run.mismatches.load(),
              (long long)lost, (long long)duplicated);
  EXPECT_EQ(run.started, threads * per_thread);
  EXPECT_EQ(run.ok, run.started);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  for (auto& c : run.chains) c->request.set_callback(nullptr);
}

// Many threads start, cancel (their own and each other's requests) and wait.
// Every run ends exactly once: with the right output or Error(cancelled).
TEST_P(AsyncStress, CancelStorm) {
  const std::string device = GetParam();
  const int threads = 16, per_thread_requests = 4;
  const std::int64_t rounds = scaled(400, 40);
  if (device == "STRESSDEV") stress_device().max_delay_us = 500;
  Watchdog watchdog(std::chrono::seconds(scaled(600, 240)), "CancelStorm/" + device);
  Core core;
  auto compiled = core.compile_model(model_for(device), device, {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  std::vector<InferRequest> all;
  for (int i = 0; i < threads * per_thread_requests; ++i) all.push_back(compiled.create_infer_request());
  std::atomic<std::int64_t> started{0}, ok{0}, cancelled{0}, other{0}, wrong{0}, callbacks{0};
  for (auto& r : all) r.set_callback([&callbacks](std::exception_ptr) { ++callbacks; });
  std::atomic<bool> stop{false};
  std::thread canceller([&] {  // cancels random requests of any thread, all the time
    std::mt19937 rng(7);
    while (!stop) {
      all[rng() % all.size()].cancel();
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng{unsigned(t)};
      std::vector<InferRequest> mine(all.begin() + t * per_thread_requests,
                                     all.begin() + (t + 1) * per_thread_requests);
      std::vector<float> values(mine.size());
      for (std::int64_t round = 0; round < rounds; ++round) {
        for (std::size_t i = 0; i < mine.size(); ++i) {
          values[i] = float((t * rounds + round) * 8 + std::int64_t(i));
          write_input(mine[i], values[i]);
          mine[i].start_async();
          ++started;
        }
        for (auto& r : mine)
          if (rng() % 2) r.cancel();
        if (rng() % 4 == 0) mine[rng() % mine.size()].cancel();  // twice
        for (std::size_t i = 0; i < mine.size(); ++i) {
          try {
            mine[i].wait();
            if (output_matches(mine[i], device, values[i])) ++ok;
            else ++wrong;
          } catch (const Error& e) {
            if (e.code() == ErrorCode::cancelled) ++cancelled;
            else ++other;
          }
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  canceller.join();
  std::printf("[stress] cancel storm on %s: %lld runs: completed %lld, cancelled %lld, other errors %lld, "
              "wrong outputs %lld, callbacks %lld\n",
              device.c_str(), (long long)started.load(), (long long)ok.load(), (long long)cancelled.load(),
              (long long)other.load(), (long long)wrong.load(), (long long)callbacks.load());
  EXPECT_EQ(ok + cancelled, started);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(callbacks, started);
  EXPECT_GT(cancelled, 0);
  for (auto& r : all) r.set_callback(nullptr);
}

// Drops every handle (requests, compiled model, Core — in varying order)
// while requests are queued and running: the runs still complete, their
// callbacks run exactly once, and every device object is released.
TEST_P(AsyncStress, DestroyCompiledModelAndCoreWhileInFlight) {
  const std::string device = GetParam();
  const std::int64_t iterations = scaled(200, 25);
  if (device == "STRESSDEV") stress_device().max_delay_us = 300;
  Watchdog watchdog(std::chrono::seconds(scaled(600, 240)), "DestroyWhileInFlight/" + device);
  struct Counts {
    std::atomic<std::int64_t> started{0}, callbacks{0}, failures{0};
  };
  auto counts = std::make_shared<Counts>();
  for (std::int64_t it = 0; it < iterations; ++it) {
    auto core = std::make_unique<Core>();
    auto compiled = std::make_unique<CompiledModel>(core->compile_model(
        model_for(device), device, {hint::performance_mode(PerformanceMode::THROUGHPUT)}));
    // Holders let a callback drop the last handle of its own request.
    auto holders = std::make_shared<std::vector<std::unique_ptr<InferRequest>>>();
    auto holders_mutex = std::make_shared<std::mutex>();
    for (int i = 0; i < 16; ++i) {
      auto r = std::make_unique<InferRequest>(compiled->create_infer_request());
      const bool self_release = i % 2 == 0;
      InferRequest* raw = r.get();
      r->set_callback([counts, holders, holders_mutex, raw, self_release](std::exception_ptr e) {
        if (e) ++counts->failures;
        if (self_release) {
          std::lock_guard lock(*holders_mutex);
          for (auto& h : *holders)
            if (h.get() == raw) h.reset();  // the request's last handle dies in its own callback
        }
        ++counts->callbacks;
      });
      write_input(*r, float(i));
      r->start_async();
      ++counts->started;
      std::lock_guard lock(*holders_mutex);
      holders->push_back(std::move(r));
    }
    switch (it % 3) {
      case 0: compiled.reset(); core.reset(); break;
      case 1: core.reset(); compiled.reset(); break;
      default: core.reset(); break;  // the compiled model outlives the Core
    }
    {
      std::lock_guard lock(*holders_mutex);
      for (auto& h : *holders) h.reset();  // drop the rest while they may still run
    }
    compiled.reset();
  }
  while (counts->callbacks < counts->started) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < 5000 && (stress_device().live_requests > 0 || stress_device().live_compiled > 0); ++i)
    std::this_thread::sleep_for(1ms);
  std::printf("[stress] destroy while in flight on %s: %lld iterations, %lld runs, %lld callbacks, %lld failures\n",
              device.c_str(), (long long)iterations, (long long)counts->started.load(),
              (long long)counts->callbacks.load(), (long long)counts->failures.load());
  EXPECT_EQ(counts->callbacks, counts->started);
  EXPECT_EQ(counts->failures, 0);
  EXPECT_EQ(stress_device().live_requests, 0);
  EXPECT_EQ(stress_device().live_compiled, 0);
}

INSTANTIATE_TEST_SUITE_P(Devices, AsyncStress, ::testing::Values("REF", "STRESSDEV"));

}  // namespace
}  // namespace autosched::stress
