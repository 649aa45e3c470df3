#pragma once
// Small shared pieces for reference kernels: element-type dispatch, strides,
// axis normalisation and ONNX multidirectional broadcasting. Header-only.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <string>
#include <vector>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::reference {

[[noreturn]] inline void fail(const ir::Node& node, const std::string& what,
                              ErrorCode code = ErrorCode::invalid_argument) {
  throw Error(code, node.op_type + " node '" + node.name + "': " + what);
}

// Calls f(T{}) with the C++ type of `t`. Unsupported types fail naming the node.
template <class F> decltype(auto) dispatch_type(ElementType t, const ir::Node& node, F&& f) {
  switch (t) {
    case ElementType::f32: return f(float{});
    case ElementType::f64: return f(double{});
    case ElementType::i64: return f(std::int64_t{});
    case ElementType::i32: return f(std::int32_t{});
    case ElementType::i8: return f(std::int8_t{});
    case ElementType::u8: return f(std::uint8_t{});
    case ElementType::boolean: return f(bool{});
    case ElementType::f16: return f(float16{});
    case ElementType::bf16: return f(bfloat16{});
    default: break;
  }
  fail(node, std::string("element type ") + to_string(t) + " is not supported", ErrorCode::unsupported);
}

// Converts any element to/from double for generic numeric code.
template <class T> inline double to_double(T v) {
  if constexpr (std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>) return double(float(v));
  else return double(v);
}
template <class T> inline T from_double(double v) {
  if constexpr (std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>) return T(float(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return static_cast<T>(v);
}

// Row-major strides of a shape (in elements).
inline std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Maps a possibly negative axis into [0, rank); fails naming the node otherwise.
inline std::int64_t normalize_axis(const ir::Node& node, std::int64_t axis, std::int64_t rank) {
  if (axis < -rank || axis >= std::max<std::int64_t>(rank, 1))
    fail(node, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// ONNX multidirectional broadcast of two static shapes; fails naming the node.
inline Shape broadcast_shapes(const ir::Node& node, const Shape& a, const Shape& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(node, "shapes " + to_string(a) + " and " + to_string(b) + " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Strides to read an input of shape `in` as if it had the broadcast shape
// `out` (0 stride along broadcast dims). `in` must broadcast to `out`.
inline std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> st(out.size(), 0);
  const auto own = strides_of(in);
  const std::size_t off = out.size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : own[i];
  return st;
}

// Iterates a static shape in row-major order, tracking the offset of any
// number of operands with their own strides. f(linear_index, offsets).
template <std::size_t N, class F>
void for_each_index(const Shape& shape, const std::vector<std::int64_t> (&strides)[N], F&& f) {
  const std::int64_t total = shape_size(shape);
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> idx(rank, 0);
  std::int64_t off[N] = {};
  for (std::int64_t linear = 0; linear < total; ++linear) {
    f(linear, off);
    for (std::size_t d = rank; d-- > 0;) {
      ++idx[d];
      for (std::size_t k = 0; k < N; ++k) off[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (std::size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

// Shape inference helper: broadcast two partial shapes (dynamic where unknown).
inline PartialShape broadcast_partial(const ir::Node& node, const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known() || !b.rank_known()) return PartialShape::dynamic_rank();
  const std::size_t r = std::max(a.rank(), b.rank());
  std::vector<Dimension> out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const Dimension da = i < r - a.rank() ? Dimension(1) : a[i - (r - a.rank())];
    const Dimension db = i < r - b.rank() ? Dimension(1) : b[i - (r - b.rank())];
    if (da.is_static() && db.is_static()) {
      if (da.length != db.length && da.length != 1 && db.length != 1)
        fail(node, "shapes " + a.to_string() + " and " + b.to_string() + " cannot be broadcast");
      out[i] = da.length == 1 ? db : da;
    } else if (da.is_static() && da.length != 1) {
      out[i] = da;
    } else if (db.is_static() && db.length != 1) {
      out[i] = db;
    } else if (da.is_static()) {  // da == 1
      out[i] = db;
    } else if (db.is_static()) {  // db == 1
      out[i] = da;
    } else {
      out[i] = da == db ? da : Dimension::dynamic();
    }
  }
  return PartialShape(out);
}

}  // namespace autosched::reference
