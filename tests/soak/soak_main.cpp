// autosched_soak: mixed AUTO / MULTI traffic for a given time, for
// scripts/soak.sh, which samples this process's RSS, fds and threads from
// /proc. Traffic: 4 threads doing async runs with callbacks, sync runs,
// cancels and short-lived requests, while the compiled models are replaced
// every few seconds (compile + startup acceleration + teardown in a loop).
// Exit status: 0 when every run ended as expected (done, or cancelled when
// cancelled), 1 otherwise.
//
//   autosched_soak <seconds> [model] (default builtin:mlp)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "autosched/autosched.hpp"

using namespace autosched;
using namespace std::chrono_literals;

namespace {

struct Counts {
  std::atomic<long long> done{0}, cancelled{0}, unexpected{0}, compiles{0}, requests_created{0};
};

class Traffic {
 public:
  Traffic(Core& core, Model model) : core_(core), model_(std::move(model)) { recompile(); }

  void recompile() {
    static const char* kDevices[] = {"AUTO:SIM.fast_gpu,REF", "MULTI:SIM.cpu_like,REF", "AUTO:SIM.slow_igpu,SIM.cpu_like"};
    const char* device = kDevices[generation_++ % 3];
    auto compiled = std::make_shared<CompiledModel>(
        core_.compile_model(model_, device, {hint::performance_mode(PerformanceMode::THROUGHPUT)}));
    ++counts.compiles;
    std::lock_guard lock(mutex_);
    current_ = std::move(compiled);  // the previous one dies when its last request does
  }

  std::shared_ptr<CompiledModel> current() {
    std::lock_guard lock(mutex_);
    return current_;
  }

  void run_thread(std::chrono::steady_clock::time_point end, unsigned seed) {
    std::mt19937 rng(seed);
    while (std::chrono::steady_clock::now() < end) {
      auto compiled = current();
      std::vector<InferRequest> requests;
      for (int i = 0; i < 2; ++i) requests.push_back(compiled->create_infer_request());
      counts.requests_created += 2;
      for (int iteration = 0; iteration < 50 && std::chrono::steady_clock::now() < end; ++iteration) {
        auto& r = requests[rng() % requests.size()];
        const unsigned kind = rng() % 10;
        try {
          if (kind < 5) {
            std::atomic<int> callbacks{0};
            r.set_callback([&callbacks](std::exception_ptr) { ++callbacks; });
            r.start_async();
            r.wait();
            r.set_callback(nullptr);
            if (callbacks != 1) ++counts.unexpected;
            ++counts.done;
          } else if (kind < 7) {
            r.infer();
            ++counts.done;
          } else if (kind < 8) {
            r.start_async();
            r.cancel();
            try {
              r.wait();
              ++counts.done;
            } catch (const Error& e) {
              if (e.code() != ErrorCode::cancelled) throw;
              ++counts.cancelled;
            }
          } else {
            auto temporary = compiled->create_infer_request();
            ++counts.requests_created;
            temporary.infer();
            ++counts.done;
          }
        } catch (const std::exception& e) {
          if (counts.unexpected++ < 5) std::fprintf(stderr, "soak: unexpected error: %s\n", e.what());
        }
      }
    }
  }

  Counts counts;

 private:
  Core& core_;
  Model model_;
  std::mutex mutex_;
  std::shared_ptr<CompiledModel> current_;
  unsigned generation_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: autosched_soak <seconds> [model]\n");
    return 2;
  }
  const double seconds = std::atof(argv[1]);
  const std::string model_path = argc > 2 ? argv[2] : "builtin:mlp";
  try {
    Core core;
    Traffic traffic(core, core.read_model(model_path));
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(long(seconds * 1000));
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back([&, t] { traffic.run_thread(end, 17 + t); });
    while (std::chrono::steady_clock::now() + 3s < end) {
      std::this_thread::sleep_for(3s);
      traffic.recompile();
    }
    for (auto& t : threads) t.join();
    const auto& c = traffic.counts;
    std::printf("soak: %lld runs done, %lld cancelled, %lld unexpected, %lld compiles, %lld requests created\n",
                c.done.load(), c.cancelled.load(), c.unexpected.load(), c.compiles.load(),
                c.requests_created.load());
    return c.unexpected == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 1;
  }
}
