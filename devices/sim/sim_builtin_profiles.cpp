// The builtin SIM profiles. They go through the same parser as files, so
// they are validated like any user profile. Numbers are plausible orders of
// magnitude, not measurements of a real product.
#include "devices/sim/sim_profile.hpp"

namespace autosched::sim {

namespace {

// A discrete GPU: slow first compile, fast and batch-friendly inference.
constexpr const char* kFastGpu = R"json({
  "name": "fast_gpu",
  "full_name": "Simulated discrete GPU (fast_gpu)",
  "device_class": "discrete_gpu",
  "seed": 1,
  "compile": {"fixed_ms": 400, "per_gflop_ms": 5},
  "latency": {"base_ms": 0.3, "per_gflop_ms": 0.15, "jitter": {"distribution": "lognormal", "p99_over_p50": 1.3}},
  "parallel_slots": 4,
  "batch": {"preferred_size": 8, "efficiency": 0.8},
  "memory_mb": 8192,
  "supported_precisions": ["f32", "f16", "i64", "i32", "i8", "u8", "boolean"]
})json";

// An integrated GPU: shares memory with the host, slower than fast_gpu.
constexpr const char* kSlowIgpu = R"json({
  "name": "slow_igpu",
  "full_name": "Simulated integrated GPU (slow_igpu)",
  "device_class": "integrated_gpu",
  "seed": 2,
  "compile": {"fixed_ms": 1500, "per_gflop_ms": 20},
  "latency": {"base_ms": 1.0, "per_gflop_ms": 2.0, "jitter": {"distribution": "normal", "sigma": 0.1}},
  "parallel_slots": 2,
  "batch": {"preferred_size": 4, "efficiency": 0.5},
  "memory_mb": 2048,
  "supported_precisions": ["f32", "f16", "i64", "i32", "i8", "u8", "boolean"]
})json";

// An NPU: few ops, no 64-bit types, one slot, a very slow compile.
constexpr const char* kNpu = R"json({
  "name": "npu",
  "full_name": "Simulated NPU (npu)",
  "device_class": "accelerator",
  "seed": 3,
  "compile": {"fixed_ms": 3000, "per_gflop_ms": 50},
  "latency": {"base_ms": 0.5, "per_gflop_ms": 0.3},
  "parallel_slots": 1,
  "batch": {"preferred_size": 1, "efficiency": 0.0},
  "memory_mb": 1024,
  "supported_ops": ["Conv", "Relu", "Clip", "Sigmoid", "Add", "Mul", "MatMul", "Gemm", "MaxPool", "AveragePool",
                    "GlobalAveragePool", "BatchNormalization", "Softmax", "Concat", "Reshape", "Flatten"],
  "supported_precisions": ["f32", "f16", "i8", "u8"]
})json";

// A CPU-like device: starts at once, slow per GFLOP, runs everything. Quick
// enough to be part of the conformance suite with the real clock.
constexpr const char* kCpuLike = R"json({
  "name": "cpu_like",
  "full_name": "Simulated CPU (cpu_like)",
  "device_class": "cpu",
  "seed": 4,
  "compile": {"fixed_ms": 2, "per_gflop_ms": 1},
  "latency": {"base_ms": 0.05, "per_gflop_ms": 4.0, "jitter": {"distribution": "normal", "sigma": 0.05}},
  "parallel_slots": 2,
  "memory_mb": 16384
})json";

}  // namespace

std::vector<SimProfile> builtin_profiles() {
  std::vector<SimProfile> profiles;
  for (const char* text : {kFastGpu, kSlowIgpu, kNpu, kCpuLike}) profiles.push_back(parse_profile(text, "builtin"));
  return profiles;
}

}  // namespace autosched::sim
