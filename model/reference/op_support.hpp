#pragma once
// Pieces shared by the reference shape-manipulation and NN op files: reading
// integer inputs (constant or evaluated), ValueInfo construction, products of
// partial dims, and a generic strided element copy that moves bytes for any
// element type. Header-only, internal to model/reference.
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "model/reference/kernel_support.hpp"

namespace autosched::reference {

// Input i of an evaluated node, or nullptr when absent (empty or not given).
inline const Tensor* optional_input(const std::vector<Tensor>& inputs, std::size_t i) {
  return i < inputs.size() && !inputs[i].empty() ? &inputs[i] : nullptr;
}
// Input i of an evaluated node; fails naming the node when it is absent.
inline const Tensor& required_input(const ir::Node& node, const std::vector<Tensor>& inputs, std::size_t i) {
  const Tensor* t = optional_input(inputs, i);
  if (!t) fail(node, "input " + std::to_string(i) + " is required");
  return *t;
}

// Shape-inference view of input i: nullptr when absent.
inline const ir::ValueInfo* optional_info(const std::vector<ir::ValueInfo>& inputs, std::size_t i) {
  return i < inputs.size() && inputs[i].element_type != ElementType::undefined ? &inputs[i] : nullptr;
}
inline const ir::ValueInfo& required_info(const ir::Node& node, const std::vector<ir::ValueInfo>& inputs,
                                          std::size_t i) {
  const ir::ValueInfo* v = optional_info(inputs, i);
  if (!v) fail(node, "input " + std::to_string(i) + " is required");
  return *v;
}
// The constant value of input i, or nullptr when it is not a constant.
inline const Tensor* constant_of(const std::vector<const Tensor*>& constants, std::size_t i) {
  return i < constants.size() ? constants[i] : nullptr;
}

// Integer tensor (any integer type; i64/i32 in ONNX) as int64 values.
inline std::vector<std::int64_t> read_ints(const ir::Node& node, const Tensor& t) {
  std::vector<std::int64_t> out(t.size());
  dispatch_type(t.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* p = static_cast<const T*>(t.data());
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::int64_t(p[i]);
    } else {
      fail(node, std::string("expected an integer tensor, got ") + to_string(t.element_type()));
    }
  });
  return out;
}

inline ir::ValueInfo value_info(ElementType t, PartialShape s) {
  ir::ValueInfo v;
  v.element_type = t;
  v.shape = std::move(s);
  return v;
}

// A shape of known rank whose dims are all unknown.
inline PartialShape dynamic_dims(std::size_t rank) {
  return PartialShape(std::vector<Dimension>(rank, Dimension::dynamic()));
}

// Product of dims [begin, end): static when all are; the single dynamic dim
// itself (symbol kept) when the others multiply to 1; dynamic otherwise.
inline Dimension dim_product(const std::vector<Dimension>& dims, std::size_t begin, std::size_t end) {
  std::int64_t product = 1;
  const Dimension* dynamic = nullptr;
  std::size_t dynamic_count = 0;
  for (std::size_t i = begin; i < end; ++i) {
    if (dims[i].is_static()) {
      product *= dims[i].length;
    } else {
      dynamic = &dims[i];
      ++dynamic_count;
    }
  }
  if (dynamic_count == 0) return Dimension(product);
  if (dynamic_count == 1 && product == 1) return *dynamic;
  return Dimension::dynamic();
}

// Copies elements of size `esz` from `src` read with `src_strides` (elements,
// may be 0 or negative) into contiguous `dst` laid out as `out_shape`.
inline void copy_strided(void* dst, const void* src, const Shape& out_shape,
                         const std::vector<std::int64_t>& src_strides, std::size_t esz) {
  if (shape_size(out_shape) == 0) return;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  const std::vector<std::int64_t> strides[1] = {src_strides};
  auto run = [&](auto word) {
    using W = decltype(word);
    for_each_index(out_shape, strides, [&](std::int64_t i, const std::int64_t* off) {
      W v;
      std::memcpy(&v, s + off[0] * std::int64_t(sizeof(W)), sizeof(W));
      std::memcpy(d + i * std::int64_t(sizeof(W)), &v, sizeof(W));
    });
  };
  switch (esz) {
    case 1: run(std::uint8_t{}); break;
    case 2: run(std::uint16_t{}); break;
    case 4: run(std::uint32_t{}); break;
    case 8: run(std::uint64_t{}); break;
    default:
      for_each_index(out_shape, strides, [&](std::int64_t i, const std::int64_t* off) {
        std::memcpy(d + i * std::int64_t(esz), s + off[0] * std::int64_t(esz), esz);
      });
  }
}

// Fresh owning tensor of `type` with int64 values converted (for index outputs).
inline Tensor make_int_tensor(ElementType type, const Shape& shape, const std::vector<std::int64_t>& values,
                              const ir::Node& node) {
  Tensor t(type, shape);
  dispatch_type(type, node, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.data());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if constexpr (std::is_integral_v<T>) p[i] = static_cast<T>(values[i]);
      else p[i] = from_double<T>(double(values[i]));
    }
  });
  return t;
}

}  // namespace autosched::reference
