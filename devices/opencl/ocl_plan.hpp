#pragma once
// The OCL device's execution plan for one model: a list of steps (own kernel
// launches and CLBlast GEMMs) over numbered values. A value lives either in a
// model input buffer, in a constant buffer (weights, uploaded once and shared
// by every request) or in a pool buffer of the request; pool buffers are
// assigned by a liveness planner so values whose lifetimes do not overlap
// share one buffer. Plain data: built once by lower_graph, immutable after.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "autosched/tensor.hpp"
#include "devices/opencl/ocl_kernels.hpp"

namespace autosched::ocl {

struct ValueRef {
  enum class Kind { none, input, constant, pool, scratch, meta };
  Kind kind = Kind::none;
  int index = -1;  // input: model input; constant: Plan::constants; pool: Plan::pool_bytes
};

// One kernel argument: a buffer, an int or a float.
struct KernelArg {
  enum class Kind { buffer, i32, f32 };
  Kind kind = Kind::i32;
  ValueRef buffer;
  std::int32_t i = 0;
  float f = 0.0f;
};

struct KernelLaunch {
  KernelId kernel = KernelId::unary;
  std::vector<KernelArg> args;
  std::size_t global_size = 0;
};

// Row-major C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] for every (a, b, c) offset triple.
struct GemmCall {
  bool trans_a = false, trans_b = false;
  std::size_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  float alpha = 1.0f, beta = 0.0f;
  ValueRef a, b, c;
  std::vector<std::size_t> a_offsets{0}, b_offsets{0}, c_offsets{0};  // elements
};

struct Step {
  std::string label;  // "Conv conv1+bn1+relu1 [im2col+gemm]"
  std::variant<KernelLaunch, GemmCall> body;
};

// Where one model output is read from: a device value, or a host constant
// (outputs folded at compile time).
struct OutputSource {
  ValueRef value;
  Tensor host;  // set when the output is a folded constant
};

struct Plan {
  std::vector<Step> steps;
  std::vector<Tensor> constants;          // uploaded once per compiled model
  std::vector<std::int32_t> meta;         // shapes/strides of kernels, one int buffer
  std::vector<std::size_t> pool_bytes;    // per pool buffer (after reuse planning)
  std::size_t scratch_bytes = 0;          // im2col columns, one per request
  std::vector<OutputSource> outputs;      // per model output
  std::size_t naive_pool_bytes = 0;       // sum of all intermediate values (planner report)
  std::size_t fused_nodes = 0;            // nodes folded into a previous step (BN, activations)
  std::size_t folded_nodes = 0;           // nodes evaluated at compile time (constant inputs)
};

}  // namespace autosched::ocl
