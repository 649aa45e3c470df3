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
#define AUTOSCHED_FMA_CHAINS(FMA, ACC)                                                                   \
  for (long r = 0; r < rounds; ++r) {                                                                     \
    a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);                       \
    a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);                       \
    a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);                   \
  }                                                                                                       \
  return ACC(a0) + ACC(a1) + ACC(a2) + ACC(a3) + ACC(a4) + ACC(a5) + ACC(a6) + ACC(a7) + ACC(a8) +      \
         ACC(a9) + ACC(a10) + ACC(a11);

// Sums through memory: GCC 12's _mm512_reduce_add_ps warns (-Wuninitialized) inside its own header.
__attribute__((target("avx512f"))) float sum16(__m512 v) {
  alignas(64) float f[16];
  _mm512_store_ps(f, v);
  float s = 0;
  for (float x : f) s += x;
  return s;
}

__attribute__((target("avx512f"))) float fma_avx512(long rounds, float seed) {
  // Distinct starting values: identical chains would be merged into one by the compiler.
  __m512 a0 = _mm512_set1_ps(seed), a1 = _mm512_set1_ps(seed + 1e-3f), a2 = _mm512_set1_ps(seed + 2e-3f),
         a3 = _mm512_set1_ps(seed + 3e-3f), a4 = _mm512_set1_ps(seed + 4e-3f), a5 = _mm512_set1_ps(seed + 5e-3f),
         a6 = _mm512_set1_ps(seed + 6e-3f), a7 = _mm512_set1_ps(seed + 7e-3f), a8 = _mm512_set1_ps(seed + 8e-3f),
         a9 = _mm512_set1_ps(seed + 9e-3f), a10 = _mm512_set1_ps(seed + 10e-3f), a11 = _mm512_set1_ps(seed + 11e-3f);
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  AUTOSCHED_FMA_CHAINS(_mm512_fmadd_ps, sum16)
}

__attribute__((target("avx2,fma"))) float sum8(__m256 v) {
  alignas(32) float f[8];
  _mm256_store_ps(f, v);
  float s = 0;
  for (float x : f) s += x;
  return s;
}

__attribute__((target("avx2,fma"))) float fma_avx2(long rounds, float seed) {
  __m256 a0 = _mm256_set1_ps(seed), a1 = _mm256_set1_ps(seed + 1e-3f), a2 = _mm256_set1_ps(seed + 2e-3f),
         a3 = _mm256_set1_ps(seed + 3e-3f), a4 = _mm256_set1_ps(seed + 4e-3f), a5 = _mm256_set1_ps(seed + 5e-3f),
         a6 = _mm256_set1_ps(seed + 6e-3f), a7 = _mm256_set1_ps(seed + 7e-3f), a8 = _mm256_set1_ps(seed + 8e-3f),
         a9 = _mm256_set1_ps(seed + 9e-3f), a10 = _mm256_set1_ps(seed + 10e-3f), a11 = _mm256_set1_ps(seed + 11e-3f);
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  AUTOSCHED_FMA_CHAINS(_mm256_fmadd_ps, sum8)
}
#undef AUTOSCHED_FMA_CHAINS
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
