#pragma once
// The machine's fp32 peak, measured rather than assumed: every CPU the process may run on
// executes independent fused multiply-adds on the widest vectors it has (AVX-512, else AVX2 with
// FMA, else scalar code) for a fixed time. Benchmarks report "% of peak" against it.
#include <string>

namespace autosched::bench {

struct Fp32Peak {
  double gflops = 0;  // summed over the threads: 2 flops per lane per FMA
  int threads = 0;    // CPUs in the process's affinity mask
  std::string isa;    // "avx512f", "avx2+fma" or "scalar"
};

Fp32Peak measure_fp32_peak(double seconds = 0.3);

}  // namespace autosched::bench
