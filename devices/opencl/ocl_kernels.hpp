#pragma once
// The OCL device's own OpenCL C kernels: one fixed source (no per-model
// specialisation, so one program binary serves every model and the binary
// cache key is stable). Shapes and strides travel as kernel arguments or in
// the model's int metadata buffer.
#include <string>

namespace autosched::ocl {

// Kernel names in the program, indexed by KernelId.
enum class KernelId {
  unary, binary, strided_copy, fill, channel_affine, im2col, conv2d_direct, pool2d, reduce, softmax,
  layer_norm, gather, gather_i64, count
};
const char* kernel_name(KernelId id) noexcept;

// Unary operations of `unary` (and the fused activation of conv / channel_affine).
enum class UnaryOp {
  identity, relu, clip, sigmoid, tanh, erf, sqrt, exp, log, abs, neg, reciprocal, floor, ceil,
  leaky_relu, hard_sigmoid, hard_swish, softplus, elu, selu, sin, cos, sign, softsign
};
enum class BinaryOp { add, sub, mul, div, pow, max, min, prelu };
enum class ReduceOp { sum, mean, max, min, prod, sum_square, l1, l2, log_sum, log_sum_exp };

// The program source; the same text on every call.
const std::string& kernel_source();
// Build options for the program (part of the binary-cache key).
std::string build_options(bool fp64);

}  // namespace autosched::ocl
