#pragma once
// Loops shared by the element-wise, reduction and normalization reference
// kernels: required-input access, same-as-input inference, a parallel
// element map and a parallel N-operand broadcast loop. Every output element is
// computed by exactly one task from its own inputs, so parallel results are
// bit-identical to a serial run. Internal to model/reference.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "model/reference/kernel_support.hpp"

namespace autosched::reference {

// True for the floating-point element types (computed in double by the kernels).
template <class T>
inline constexpr bool is_float_element_v = std::is_floating_point_v<T> || std::is_same_v<T, float16> ||
                                           std::is_same_v<T, bfloat16>;

inline bool is_float_type(ElementType t) {
  return t == ElementType::f32 || t == ElementType::f64 || t == ElementType::f16 || t == ElementType::bf16;
}

// Input i of an evaluated node; fails naming the node when it is absent.
inline const Tensor& required_input(const ir::Node& node, const std::vector<Tensor>& inputs, std::size_t i) {
  if (i >= inputs.size() || inputs[i].empty())
    fail(node, "input " + std::to_string(i) + " is required but missing");
  return inputs[i];
}

// Inference input i; fails naming the node when it is absent.
inline const ir::ValueInfo& required_info(const ir::Node& node, const std::vector<ir::ValueInfo>& inputs,
                                          std::size_t i) {
  if (i >= node.inputs.size() || node.inputs[i].empty() || i >= inputs.size())
    fail(node, "input " + std::to_string(i) + " is required but missing");
  return inputs[i];
}

// Converts an element to T: float types round via double, bool tests != 0,
// integers from floats truncate toward zero (NaN → 0, out of range saturates)
// and integers from integers wrap (numpy astype semantics).
template <class D, class S> inline D convert_element(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    return to_double(v) != 0.0;
  } else if constexpr (is_float_element_v<D>) {
    return from_double<D>(to_double(v));
  } else if constexpr (is_float_element_v<S>) {  // float → integer
    const double d = to_double(v);
    if (std::isnan(d)) return D(0);
    if (d <= double(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
    if (d >= double(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return static_cast<D>(d);
  } else {
    return static_cast<D>(v);
  }
}

// A float attribute as ONNX stores it: float32, widened to double. Rounding
// here keeps results identical whether the node came from an ONNX file or
// was built in memory with a double value.
inline double float_attr(const ir::Node& node, const std::string& name, double fallback) {
  return double(float(node.get_float(name, fallback)));
}

// Reads element 0 of a (scalar or one-element) tensor as T.
template <class T> T scalar_as(const ir::Node& node, const Tensor& t) {
  if (t.size() != 1) fail(node, "expected a one-element tensor, got shape " + to_string(t.shape()));
  return dispatch_type(t.element_type(), node, [&](auto tag) -> T {
    using S = decltype(tag);
    return convert_element<T>(t.data<S>()[0]);
  });
}

// Reads a 1-D integer tensor (i32 or i64) as int64 values.
inline std::vector<std::int64_t> int_values(const ir::Node& node, const Tensor& t) {
  std::vector<std::int64_t> v(t.size());
  if (t.element_type() == ElementType::i64) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<std::int64_t>()[i];
  } else if (t.element_type() == ElementType::i32) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<std::int32_t>()[i];
  } else {
    fail(node, std::string("expected an int64 tensor, got ") + to_string(t.element_type()));
  }
  return v;
}

// Shape/type inference for ops whose single output matches input 0.
inline std::vector<ir::ValueInfo> infer_same_as_input(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                                      const std::vector<const Tensor*>&) {
  return {required_info(node, in, 0)};
}

// Runs body(begin, end) over [0, n) in parallel chunks (serially when small).
template <class F> void parallel_chunks(std::int64_t n, std::int64_t grain, F&& body) {
  if (n <= 0) return;
  if (n <= grain) {
    body(std::int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, std::max<std::int64_t>(grain, 1)),
                    [&](const tbb::blocked_range<std::int64_t>& r) { body(r.begin(), r.end()); });
}

// out[i] = f(x[i]) for every element; x of type S, out of type D.
template <class D, class S, class F> Tensor map_elements(const Tensor& x, ElementType out_type, F&& f) {
  Tensor out(out_type, x.shape());
  const S* src = x.data<S>();
  D* dst = out.data<D>();
  parallel_chunks(std::int64_t(x.size()), 1 << 15, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) dst[i] = f(src[i]);
  });
  return out;
}

// Calls f(out_linear, offsets) for every element of `out` in parallel, where
// offsets[k] is the element offset of operand k (of shape ins[k], which must
// broadcast to `out`).
template <std::size_t N, class F> void for_each_broadcast(const Shape& out, const std::array<Shape, N>& ins, F&& f) {
  const std::int64_t total = shape_size(out);
  if (total == 0) return;
  const std::size_t rank = out.size();
  std::array<std::vector<std::int64_t>, N> st;
  for (std::size_t k = 0; k < N; ++k) st[k] = broadcast_strides(ins[k], out);
  if (rank == 0) {
    std::array<std::int64_t, N> off{};
    f(std::int64_t{0}, off);
    return;
  }
  const std::int64_t inner = out[rank - 1];
  const std::int64_t rows = total / inner;
  parallel_chunks(rows, std::max<std::int64_t>(1, (1 << 15) / inner), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t row = b; row < e; ++row) {
      std::array<std::int64_t, N> base{};
      std::int64_t rem = row;
      for (std::size_t d = rank - 1; d-- > 0;) {
        const std::int64_t i = rem % out[d];
        rem /= out[d];
        for (std::size_t k = 0; k < N; ++k) base[k] += i * st[k][d];
      }
      std::array<std::int64_t, N> off = base;
      for (std::int64_t j = 0; j < inner; ++j) {
        f(row * inner + j, off);
        for (std::size_t k = 0; k < N; ++k) off[k] += st[k][rank - 1];
      }
    }
  });
}

}  // namespace autosched::reference
