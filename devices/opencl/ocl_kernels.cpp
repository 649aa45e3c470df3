#include "devices/opencl/ocl_kernels.hpp"

namespace autosched::ocl {

const char* kernel_name(KernelId id) noexcept {
  switch (id) {
    case KernelId::unary: return "unary_f32";
    case KernelId::binary: return "binary_f32";
    case KernelId::strided_copy: return "strided_copy_f32";
    case KernelId::fill: return "fill_f32";
    case KernelId::channel_affine: return "channel_affine_f32";
    case KernelId::im2col: return "im2col_f32";
    case KernelId::conv2d_direct: return "conv2d_direct_f32";
    case KernelId::pool2d: return "pool2d_f32";
    case KernelId::reduce: return "reduce_f32";
    case KernelId::softmax: return "softmax_f32";
    case KernelId::layer_norm: return "layer_norm_f32";
    case KernelId::gather: return "gather_f32";
    case KernelId::gather_i64: return "gather_i64_f32";
    case KernelId::count: break;
  }
  return "";
}

std::string build_options(bool fp64) { return fp64 ? "-cl-std=CL1.2 -DAS_FP64=1" : "-cl-std=CL1.2"; }

// Long sums (conv, pooling, reductions, softmax, norms) accumulate in double
// where the device has it, like the reference kernels.
const std::string& kernel_source() {
  static const std::string source = R"CLC(
#ifdef AS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif

float apply_unary(int op, float x, float p0, float p1) {
  switch (op) {
    case 0: return x;
    case 1: return x > 0.0f ? x : 0.0f;
    case 2: return fmin(fmax(x, p0), p1);
    case 3: return 1.0f / (1.0f + exp(-x));
    case 4: return tanh(x);
    case 5: return erf(x);
    case 6: return sqrt(x);
    case 7: return exp(x);
    case 8: return log(x);
    case 9: return fabs(x);
    case 10: return -x;
    case 11: return 1.0f / x;
    case 12: return floor(x);
    case 13: return ceil(x);
    case 14: return x >= 0.0f ? x : p0 * x;
    case 15: return fmax(0.0f, fmin(1.0f, p0 * x + p1));
    case 16: return x * fmax(0.0f, fmin(1.0f, x / 6.0f + 0.5f));
    case 17: return x > 20.0f ? x : log1p(exp(x));
    case 18: return x >= 0.0f ? x : p0 * (exp(x) - 1.0f);
    case 19: return x > 0.0f ? p1 * x : p1 * (p0 * exp(x) - p0);
    case 20: return sin(x);
    case 21: return cos(x);
    case 22: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case 23: return x / (1.0f + fabs(x));
  }
  return x;
}

float apply_binary(int op, float a, float b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return b == 2.0f ? a * a : (b == 1.0f ? a : pow(a, b));
    case 5: return (isnan(a) || isnan(b)) ? a + b : fmax(a, b);
    case 6: return (isnan(a) || isnan(b)) ? a + b : fmin(a, b);
    case 7: return a < 0.0f ? a * b : a;
  }
  return a;
}

__kernel void unary_f32(__global const float* x, __global float* y, int op, float p0, float p1) {
  const int i = get_global_id(0);
  y[i] = apply_unary(op, x[i], p0, p1);
}

// meta[moff..]: out dims[rank], a strides[rank], b strides[rank].
__kernel void binary_f32(__global const float* a, __global const float* b, __global float* y,
                         __global const int* meta, int moff, int rank, int op) {
  const int i = get_global_id(0);
  __global const int* m = meta + moff;
  int ia = 0, ib = 0, rem = i;
  for (int d = rank - 1; d >= 0; --d) {
    const int c = rem % m[d];
    rem /= m[d];
    ia += c * m[rank + d];
    ib += c * m[2 * rank + d];
  }
  y[i] = apply_binary(op, a[ia], b[ib]);
}

// dst[dst_off + Σ c·dst_stride] = src[src_off + Σ c·src_stride] over dims;
// meta[moff..]: dims[rank], src strides[rank], dst strides[rank].
__kernel void strided_copy_f32(__global const float* src, int src_off, __global float* dst, int dst_off,
                               __global const int* meta, int moff, int rank) {
  const int i = get_global_id(0);
  __global const int* m = meta + moff;
  int is = src_off, id = dst_off, rem = i;
  for (int d = rank - 1; d >= 0; --d) {
    const int c = rem % m[d];
    rem /= m[d];
    is += c * m[rank + d];
    id += c * m[2 * rank + d];
  }
  dst[id] = src[is];
}

__kernel void fill_f32(__global float* y, float value) { y[get_global_id(0)] = value; }

// y[o, c, i] = act((has_scale ? x·scale[c] : x) + shift[c]) with inner elements per channel.
__kernel void channel_affine_f32(__global const float* x, __global float* y, __global const float* scale,
                                 __global const float* shift, int channels, int inner, int has_scale,
                                 int act, float p0, float p1) {
  const int i = get_global_id(0);
  const int c = (i / inner) % channels;
  float v = x[i];
  if (has_scale) v *= scale[c];
  y[i] = apply_unary(act, v + shift[c], p0, p1);
}

// meta: C, H, W, KH, KW, OH, OW, SH, SW, PT, PL, DH, DW. col is [C·KH·KW, OH·OW].
__kernel void im2col_f32(__global const float* x, int x_off, __global float* col, __global const int* meta,
                         int moff) {
  const int i = get_global_id(0);
  __global const int* m = meta + moff;
  const int H = m[1], W = m[2], KH = m[3], KW = m[4], OH = m[5], OW = m[6];
  const int p = i % (OH * OW), row = i / (OH * OW);
  const int kw = row % KW, kh = (row / KW) % KH, c = row / (KW * KH);
  const int ih = (p / OW) * m[7] - m[9] + kh * m[11];
  const int iw = (p % OW) * m[8] - m[10] + kw * m[12];
  col[i] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[x_off + (c * H + ih) * W + iw] : 0.0f;
}

// Direct (grouped / depthwise) convolution with bias and fused activation.
// meta: N, C, H, W, K, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, G.
__kernel void conv2d_direct_f32(__global const float* x, __global const float* w, __global const float* bias,
                                __global float* y, __global const int* meta, int moff, int has_bias, int act,
                                float p0, float p1) {
  const int i = get_global_id(0);
  __global const int* m = meta + moff;
  const int C = m[1], H = m[2], W = m[3], K = m[4], OH = m[5], OW = m[6], KH = m[7], KW = m[8];
  const int G = m[15];
  const int ow = i % OW, oh = (i / OW) % OH, k = (i / (OW * OH)) % K, n = i / (OW * OH * K);
  const int cpg = C / G, g = k / (K / G);
  acc_t acc = has_bias ? bias[k] : 0.0f;
  for (int c = 0; c < cpg; ++c) {
    __global const float* xc = x + ((n * C + g * cpg + c) * H) * W;
    __global const float* wc = w + ((k * cpg + c) * KH) * KW;
    for (int kh = 0; kh < KH; ++kh) {
      const int ih = oh * m[9] - m[11] + kh * m[13];
      if (ih < 0 || ih >= H) continue;
      for (int kw = 0; kw < KW; ++kw) {
        const int iw = ow * m[10] - m[12] + kw * m[14];
        if (iw >= 0 && iw < W) acc += (acc_t)xc[ih * W + iw] * (acc_t)wc[kh * KW + kw];
      }
    }
  }
  y[i] = apply_unary(act, (float)acc, p0, p1);
}

// meta: H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW; mode 0 max, 1 avg excluding pads, 2 avg including pads.
__kernel void pool2d_f32(__global const float* x, __global float* y, __global const int* meta, int moff,
                         int mode) {
  const int i = get_global_id(0);
  __global const int* m = meta + moff;
  const int H = m[0], W = m[1], OH = m[2], OW = m[3], KH = m[4], KW = m[5];
  const int ow = i % OW, oh = (i / OW) % OH, nc = i / (OW * OH);
  __global const float* xc = x + nc * H * W;
  acc_t acc = 0.0f;
  float best = -INFINITY;
  int count = 0;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * m[6] - m[8] + kh * m[10];
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; ++kw) {
      const int iw = ow * m[7] - m[9] + kw * m[11];
      if (iw < 0 || iw >= W) continue;
      const float v = xc[ih * W + iw];
      best = fmax(best, v);
      acc += v;
      ++count;
    }
  }
  if (mode == 0) y[i] = best;
  else y[i] = (float)(acc / (acc_t)(mode == 2 ? KH * KW : count));
}

// y[o, i] = reduce over r of x[o, r, i] (red elements, inner stride).
__kernel void reduce_f32(__global const float* x, __global float* y, int red, int inner, int op) {
  const int gid = get_global_id(0);
  const int o = gid / inner, i = gid % inner;
  __global const float* p = x + o * red * inner + i;
  acc_t acc = op == 2 ? -INFINITY : (op == 3 ? INFINITY : (op == 4 ? 1.0f : 0.0f));
  acc_t mx = -INFINITY;
  if (op == 9)
    for (int r = 0; r < red; ++r) mx = fmax(mx, (acc_t)p[r * inner]);
  for (int r = 0; r < red; ++r) {
    const acc_t v = p[r * inner];
    switch (op) {
      case 2: acc = fmax(acc, v); break;
      case 3: acc = fmin(acc, v); break;
      case 4: acc *= v; break;
      case 5: case 7: acc += v * v; break;
      case 6: acc += fabs(v); break;
      case 9: acc += exp(v - mx); break;
      default: acc += v; break;
    }
  }
  if (op == 1) acc /= red;
  if (op == 7) acc = sqrt(acc);
  if (op == 8) acc = log(acc);
  if (op == 9) acc = log(acc) + mx;
  y[gid] = (float)acc;
}

// Softmax (or log-softmax) over len elements with stride inner, one row per work item.
__kernel void softmax_f32(__global const float* x, __global float* y, int len, int inner, int log_mode) {
  const int gid = get_global_id(0);
  const int o = gid / inner, i = gid % inner;
  const int base = o * len * inner + i;
  float mx = -INFINITY;
  for (int r = 0; r < len; ++r) mx = fmax(mx, x[base + r * inner]);
  acc_t sum = 0.0f;
  for (int r = 0; r < len; ++r) sum += exp((acc_t)(x[base + r * inner] - mx));
  for (int r = 0; r < len; ++r) {
    const acc_t v = x[base + r * inner] - mx;
    y[base + r * inner] = (float)(log_mode ? v - log(sum) : exp(v) / sum);
  }
}

// LayerNormalization over the trailing len elements of each row.
__kernel void layer_norm_f32(__global const float* x, __global const float* scale, __global const float* bias,
                             __global float* y, int len, float eps, int has_bias) {
  const int row = get_global_id(0);
  __global const float* p = x + row * len;
  acc_t mean = 0.0f, var = 0.0f;
  for (int r = 0; r < len; ++r) mean += p[r];
  mean /= len;
  for (int r = 0; r < len; ++r) var += (p[r] - mean) * (p[r] - mean);
  var /= len;
  const acc_t inv = (acc_t)1 / sqrt(var + (acc_t)eps);
  for (int r = 0; r < len; ++r) {
    const float v = (float)((p[r] - mean) * inv) * scale[r];
    y[row * len + r] = has_bias ? v + bias[r] : v;
  }
}

// y[o, j, i] = x[o, idx[j], i]; negative indices count from the end.
__kernel void gather_f32(__global const float* x, __global const int* idx, __global float* y, int axis_len,
                         int num_idx, int inner) {
  const int gid = get_global_id(0);
  const int i = gid % inner, j = (gid / inner) % num_idx, o = gid / (inner * num_idx);
  int k = idx[j];
  if (k < 0) k += axis_len;
  y[gid] = (k >= 0 && k < axis_len) ? x[(o * axis_len + k) * inner + i] : 0.0f;
}

__kernel void gather_i64_f32(__global const float* x, __global const long* idx, __global float* y,
                             int axis_len, int num_idx, int inner) {
  const int gid = get_global_id(0);
  const int i = gid % inner, j = (gid / inner) % num_idx, o = gid / (inner * num_idx);
  long k = idx[j];
  if (k < 0) k += axis_len;
  y[gid] = (k >= 0 && k < axis_len) ? x[(o * axis_len + (int)k) * inner + i] : 0.0f;
}
)CLC";
  return source;
}

}  // namespace autosched::ocl
