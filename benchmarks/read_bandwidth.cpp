// How fast the cores can read a working set that stays in cache: the floor
// under a memory-bound inference (mlp at batch 1 reads its 7.4 MB of f32
// weights once per inference). Every OpenMP thread sums its share of one
// buffer with AVX-512 loads, `passes` times, and the best of 5 timings is
// printed as GB/s and µs per pass. A probe, not a test: it never fails on a
// number.
//
// Usage: read_bandwidth [MB ...]      (default: 7.4 3 1)
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

// Sum of a[lo, hi) read with 4 independent AVX-512 accumulators (64 floats per step).
__attribute__((target("avx512f"))) float sum_avx512(const float* a, std::size_t lo, std::size_t hi) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (std::size_t i = lo; i + 64 <= hi; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(a + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(a + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(a + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(a + i + 48));
  }
  alignas(64) float lanes[16];  // not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized)
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

double best_gb_per_s(std::size_t bytes, int passes) {
  const std::size_t n = (bytes / sizeof(float) + 1023) / 1024 * 1024;
  std::unique_ptr<float, decltype(&std::free)> buffer(
      static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))), &std::free);
  float* a = buffer.get();
  for (std::size_t i = 0; i < n; ++i) a[i] = 1.0f;
  double best = 0;
  volatile float sink = 0;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      const std::size_t share = n / std::size_t(omp_get_num_threads()) / 64 * 64;
      const std::size_t lo = share * std::size_t(omp_get_thread_num());
      for (int p = 0; p < passes; ++p) {
        total += sum_avx512(a, lo, lo + share);
#pragma omp barrier
      }
    }
    sink = total;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, double(n * sizeof(float)) * passes / s / 1e9);
  }
  (void)sink;
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx512f")) {
    std::fprintf(stderr, "read_bandwidth: this CPU has no AVX-512F\n");
    return 1;
  }
  std::vector<double> sizes_mb;
  for (int i = 1; i < argc; ++i) sizes_mb.push_back(std::atof(argv[i]));
  if (sizes_mb.empty()) sizes_mb = {7.4, 3.0, 1.0};
  std::printf("%d OpenMP threads, AVX-512 loads, best of 5 rounds of 2000 passes\n", omp_get_max_threads());
  for (double mb : sizes_mb) {
    if (!(mb > 0)) {
      std::fprintf(stderr, "read_bandwidth: '%g' is not a size in MB > 0\n", mb);
      return 2;
    }
    const double gbs = best_gb_per_s(std::size_t(mb * 1e6), 2000);
    std::printf("%6.1f MB: %7.1f GB/s, %8.1f us per pass\n", mb, gbs, mb * 1e6 / gbs / 1e3);
  }
}
