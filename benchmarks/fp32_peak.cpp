#include "benchmarks/fp32_peak.hpp"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace autosched::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Each kernel runs `rounds` x 12 independent FMA chains (enough to cover the FMA latency on two
// ports) and returns a value derived from the accumulators so the work cannot be dropped.
constexpr long kRoundsPerCheck = 1 << 20;
constexpr int kChains = 12;

#if defined(__x86_64__)
// The body of one kernel for vector type V: distinct starting values (identical chains would be
// merged into one by the compiler), then the chains, then the sum of every lane through memory
// (GCC 12's _mm512_reduce_add_ps warns, -Wuninitialized, inside its own header).
#define AUTOSCHED_FMA_KERNEL(V, SET1, FMA, STORE)                                                          \
  V a0 = SET1(seed), a1 = SET1(seed + 1e-3f), a2 = SET1(seed + 2e-3f), a3 = SET1(seed + 3e-3f);           \
  V a4 = SET1(seed + 4e-3f), a5 = SET1(seed + 5e-3f), a6 = SET1(seed + 6e-3f), a7 = SET1(seed + 7e-3f);   \
  V a8 = SET1(seed + 8e-3f), a9 = SET1(seed + 9e-3f), a10 = SET1(seed + 10e-3f), a11 = SET1(seed + 11e-3f); \
  const V m = SET1(0.9999999f), c = SET1(1e-7f);                                                            \
  for (long r = 0; r < rounds; ++r) {                                                                       \
    a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);                         \
    a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);                         \
    a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);                     \
  }                                                                                                         \
  alignas(64) float lanes[kChains][sizeof(V) / sizeof(float)];                                              \
  STORE(lanes[0], a0); STORE(lanes[1], a1); STORE(lanes[2], a2); STORE(lanes[3], a3);                       \
  STORE(lanes[4], a4); STORE(lanes[5], a5); STORE(lanes[6], a6); STORE(lanes[7], a7);                       \
  STORE(lanes[8], a8); STORE(lanes[9], a9); STORE(lanes[10], a10); STORE(lanes[11], a11);                   \
  float sum = 0;                                                                                            \
  for (const auto& chain : lanes)                                                                           \
    for (float x : chain) sum += x;                                                                         \
  return sum;

__attribute__((target("avx512f"))) float fma_avx512(long rounds, float seed) {
  AUTOSCHED_FMA_KERNEL(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_store_ps)
}

__attribute__((target("avx2,fma"))) float fma_avx2(long rounds, float seed) {
  AUTOSCHED_FMA_KERNEL(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_store_ps)
}
#undef AUTOSCHED_FMA_KERNEL
#endif

float fma_scalar(long rounds, float seed) {
  float a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = seed + float(k) * 1e-3f;
  for (long r = 0; r < rounds; ++r)
    for (float& x : a) x = x * 0.9999999f + 1e-7f;
  float s = 0;
  for (float x : a) s += x;
  return s;
}

struct Kernel {
  float (*run)(long, float);
  int lanes;
  const char* isa;
};

Kernel widest_kernel() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return {fma_avx512, 16, "avx512f"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {fma_avx2, 8, "avx2+fma"};
#endif
  return {fma_scalar, 1, "scalar"};
}

int allowed_cpus() {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0 && CPU_COUNT(&mask) > 0) return CPU_COUNT(&mask);
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

Fp32Peak measure_fp32_peak(double seconds) {
  const Kernel kernel = widest_kernel();
  Fp32Peak peak;
  peak.threads = allowed_cpus();
  peak.isa = kernel.isa;
  std::vector<double> gflops(std::size_t(peak.threads), 0.0);
  std::atomic<float> sink{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < peak.threads; ++t) {
    workers.emplace_back([&, t] {
      kernel.run(kRoundsPerCheck / 8, 1.0f);  // wake the core (and its vector unit) first
      const auto start = Clock::now();
      const auto until = start + std::chrono::duration<double>(seconds);
      long rounds = 0;
      float result = 0;
      while (Clock::now() < until) {
        result += kernel.run(kRoundsPerCheck, 1.0f + float(t) * 1e-3f);
        rounds += kRoundsPerCheck;
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      gflops[std::size_t(t)] = double(rounds) * kChains * kernel.lanes * 2 / elapsed / 1e9;
      sink.store(result);  // keeps the chains observable
    });
  }
  for (auto& w : workers) w.join();
  for (double g : gflops) peak.gflops += g;
  return peak;
}

}  // namespace autosched::bench
