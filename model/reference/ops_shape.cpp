// Reference shape-manipulation ops: Transpose, Reshape, Flatten, Squeeze,
// Unsqueeze, Shape, Size, Expand, ConstantOfShape, Range. They move bytes
// (element_size) and so work for every element type.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"

namespace autosched::reference {
namespace {

Tensor copy_with_shape(const Tensor& in, Shape shape) {
  Tensor out(in.element_type(), std::move(shape));
  if (in.byte_size()) std::memcpy(out.data(), in.data(), in.byte_size());
  return out;
}

// ---------------------------------------------------------------- Transpose

std::vector<std::int64_t> transpose_perm(const ir::Node& node, std::size_t rank) {
  std::vector<std::int64_t> perm = node.get_ints("perm");
  if (perm.empty()) {
    perm.resize(rank);
    for (std::size_t i = 0; i < rank; ++i) perm[i] = std::int64_t(rank - 1 - i);
  }
  if (perm.size() != rank) fail(node, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
  std::vector<bool> seen(rank, false);
  for (auto& p : perm) {
    p = normalize_axis(node, p, std::int64_t(rank));
    if (seen[std::size_t(p)]) fail(node, "perm repeats axis " + std::to_string(p));
    seen[std::size_t(p)] = true;
  }
  return perm;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Transpose",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, x.shape)};
      const auto perm = transpose_perm(node, x.shape.rank());
      std::vector<Dimension> dims;
      for (auto p : perm) dims.push_back(x.shape[std::size_t(p)]);
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto perm = transpose_perm(node, x.shape().size());
      const auto st = strides_of(x.shape());
      Shape out_shape;
      std::vector<std::int64_t> src_strides;
      for (auto p : perm) {
        out_shape.push_back(x.shape()[std::size_t(p)]);
        src_strides.push_back(st[std::size_t(p)]);
      }
      Tensor out(x.element_type(), out_shape);
      copy_strided(out.data(), x.data(), out_shape, src_strides, element_size(x.element_type()));
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Reshape

// Resolves 0 and -1 of a requested shape against a (partial) input shape.
PartialShape reshape_output(const ir::Node& node, const PartialShape& input, const std::vector<std::int64_t>& request) {
  const bool allowzero = node.get_int("allowzero", 0) != 0;
  std::vector<Dimension> out(request.size());
  std::vector<bool> input_used(input.rank_known() ? input.rank() : 0, false);
  int infer_at = -1;
  for (std::size_t i = 0; i < request.size(); ++i) {
    const std::int64_t r = request[i];
    if (r == -1) {
      if (infer_at >= 0) fail(node, "shape has more than one -1");
      infer_at = int(i);
    } else if (r == 0 && !allowzero) {
      if (!input.rank_known()) {
        out[i] = Dimension::dynamic();
        continue;
      }
      if (i >= input.rank()) fail(node, "shape copies dim " + std::to_string(i) + " (0) beyond input rank " + std::to_string(input.rank()));
      out[i] = input[i];
      input_used[i] = true;
    } else if (r < 0) {
      fail(node, "shape has invalid dim " + std::to_string(r));
    } else {
      out[i] = Dimension(r);
    }
  }
  if (infer_at >= 0) {
    if (!input.rank_known()) {
      out[std::size_t(infer_at)] = Dimension::dynamic();
    } else {
      // Dims copied with 0 cancel against the input dims they came from.
      std::vector<Dimension> remaining;
      for (std::size_t i = 0; i < input.rank(); ++i)
        if (!input_used[i]) remaining.push_back(input[i]);
      const Dimension in_rest = dim_product(remaining, 0, remaining.size());
      std::vector<Dimension> others;
      for (std::size_t i = 0; i < out.size(); ++i)
        if (int(i) != infer_at && !(request[i] == 0 && !allowzero)) others.push_back(out[i]);
      const Dimension out_rest = dim_product(others, 0, others.size());
      if (in_rest.is_static() && out_rest.is_static()) {
        if (out_rest.length == 0 || in_rest.length % out_rest.length != 0)
          fail(node, "cannot reshape " + input.to_string() + " to " + PartialShape(out).to_string() + " with -1");
        out[std::size_t(infer_at)] = Dimension(in_rest.length / out_rest.length);
      } else if (out_rest.is_static() && out_rest.length == 1) {
        out[std::size_t(infer_at)] = in_rest;
      } else {
        out[std::size_t(infer_at)] = Dimension::dynamic();
      }
    }
  } else if (input.is_static()) {
    const PartialShape ps(out);
    if (ps.is_static() && shape_size(ps.to_shape()) != shape_size(input.to_shape()))
      fail(node, "cannot reshape " + input.to_string() + " to " + ps.to_string());
  }
  return PartialShape(out);
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Reshape",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      if (const Tensor* shape = constant_of(c, 1))
        return std::vector{value_info(x.element_type, reshape_output(node, x.shape, read_ints(node, *shape)))};
      const auto& s = required_info(node, in, 1);
      if (s.shape.rank_known() && s.shape.rank() == 1 && s.shape[0].is_static())
        return std::vector{value_info(x.element_type, dynamic_dims(std::size_t(s.shape[0].length)))};
      return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto out = reshape_output(node, PartialShape(x.shape()), read_ints(node, required_input(node, in, 1)));
      const Shape shape = out.to_shape();
      if (shape_size(shape) != shape_size(x.shape()))
        fail(node, "cannot reshape " + to_string(x.shape()) + " to " + to_string(shape));
      return std::vector{copy_with_shape(x, shape)};
    }});

// ---------------------------------------------------------------- Flatten

std::int64_t flatten_axis(const ir::Node& node, std::int64_t rank) {
  std::int64_t axis = node.get_int("axis", 1);
  if (axis < -rank || axis > rank)
    fail(node, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Flatten",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, dynamic_dims(2))};
      const auto axis = std::size_t(flatten_axis(node, std::int64_t(x.shape.rank())));
      const auto& d = x.shape.dims();
      return std::vector{value_info(x.element_type, PartialShape({dim_product(d, 0, axis), dim_product(d, axis, d.size())}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto axis = std::size_t(flatten_axis(node, std::int64_t(x.shape().size())));
      std::int64_t outer = 1, inner = 1;
      for (std::size_t i = 0; i < x.shape().size(); ++i) (i < axis ? outer : inner) *= x.shape()[i];
      return std::vector{copy_with_shape(x, {outer, inner})};
    }});

// ---------------------------------------------------------------- Squeeze / Unsqueeze

// Axes from the attribute (opset < 13) or input 1 (opset >= 13); nullopt when
// given as a non-constant input during inference.
std::optional<std::vector<std::int64_t>> axes_of(const ir::Node& node, const std::vector<const Tensor*>& constants,
                                                 bool input_present) {
  if (node.has("axes")) return node.get_ints("axes");
  if (const Tensor* t = constant_of(constants, 1)) return read_ints(node, *t);
  if (input_present) return std::nullopt;
  return std::vector<std::int64_t>{};
}

std::vector<bool> squeeze_mask(const ir::Node& node, const std::vector<std::int64_t>& axes, std::size_t rank) {
  std::vector<bool> mask(rank, false);
  for (auto a : axes) mask[std::size_t(normalize_axis(node, a, std::int64_t(rank)))] = true;
  return mask;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Squeeze",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      const auto axes = axes_of(node, c, optional_info(in, 1) != nullptr);
      if (!x.shape.rank_known() || !axes) return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
      std::vector<Dimension> dims;
      if (axes->empty()) {
        for (const auto& d : x.shape.dims()) {
          if (!d.is_static()) return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
          if (d.length != 1) dims.push_back(d);
        }
      } else {
        const auto mask = squeeze_mask(node, *axes, x.shape.rank());
        for (std::size_t i = 0; i < mask.size(); ++i) {
          if (!mask[i]) dims.push_back(x.shape[i]);
          else if (x.shape[i].is_static() && x.shape[i].length != 1)
            fail(node, "cannot squeeze axis " + std::to_string(i) + " of size " + std::to_string(x.shape[i].length));
        }
      }
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      std::vector<std::int64_t> axes = node.get_ints("axes");
      if (const Tensor* a = optional_input(in, 1)) axes = read_ints(node, *a);
      Shape shape;
      if (axes.empty()) {
        for (auto d : x.shape())
          if (d != 1) shape.push_back(d);
      } else {
        const auto mask = squeeze_mask(node, axes, x.shape().size());
        for (std::size_t i = 0; i < mask.size(); ++i) {
          if (!mask[i]) shape.push_back(x.shape()[i]);
          else if (x.shape()[i] != 1)
            fail(node, "cannot squeeze axis " + std::to_string(i) + " of size " + std::to_string(x.shape()[i]));
        }
      }
      return std::vector{copy_with_shape(x, shape)};
    }});

std::vector<bool> unsqueeze_mask(const ir::Node& node, const std::vector<std::int64_t>& axes, std::size_t out_rank) {
  std::vector<bool> mask(out_rank, false);
  for (auto a : axes) {
    const auto i = std::size_t(normalize_axis(node, a, std::int64_t(out_rank)));
    if (mask[i]) fail(node, "axes repeat axis " + std::to_string(i));
    mask[i] = true;
  }
  return mask;
}

template <class D>
std::vector<D> unsqueeze_dims(const ir::Node& node, const std::vector<D>& in, const std::vector<std::int64_t>& axes) {
  const auto mask = unsqueeze_mask(node, axes, in.size() + axes.size());
  std::vector<D> out;
  std::size_t j = 0;
  for (bool m : mask) out.push_back(m ? D(1) : in[j++]);
  return out;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Unsqueeze",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      const auto axes = axes_of(node, c, optional_info(in, 1) != nullptr);
      if (!x.shape.rank_known() || !axes) {
        const auto* a = optional_info(in, 1);
        if (x.shape.rank_known() && a && a->shape.rank_known() && a->shape.rank() == 1 && a->shape[0].is_static())
          return std::vector{value_info(x.element_type, dynamic_dims(x.shape.rank() + std::size_t(a->shape[0].length)))};
        return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
      }
      return std::vector{value_info(x.element_type, PartialShape(unsqueeze_dims(node, x.shape.dims(), *axes)))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      std::vector<std::int64_t> axes = node.get_ints("axes");
      if (const Tensor* a = optional_input(in, 1)) axes = read_ints(node, *a);
      return std::vector{copy_with_shape(x, unsqueeze_dims(node, x.shape(), axes))};
    }});

// ---------------------------------------------------------------- Shape / Size

std::pair<std::int64_t, std::int64_t> shape_range(const ir::Node& node, std::int64_t rank) {
  auto clamp = [&](std::int64_t v) { return std::clamp(v < 0 ? v + rank : v, std::int64_t(0), rank); };
  const std::int64_t start = clamp(node.get_int("start", 0));
  const std::int64_t end = clamp(node.get_int("end", rank));
  return {start, std::max(start, end)};
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Shape",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(ElementType::i64, dynamic_dims(1))};
      const auto [start, end] = shape_range(node, std::int64_t(x.shape.rank()));
      return std::vector{value_info(ElementType::i64, PartialShape(Shape{end - start}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto [start, end] = shape_range(node, std::int64_t(x.shape().size()));
      std::vector<std::int64_t> dims(x.shape().begin() + start, x.shape().begin() + end);
      return std::vector{make_int_tensor(ElementType::i64, {end - start}, dims, node)};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Size",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      required_info(node, in, 0);
      return std::vector{value_info(ElementType::i64, PartialShape(Shape{}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      return std::vector{make_int_tensor(ElementType::i64, {}, {shape_size(x.shape())}, node)};
    }});

// ---------------------------------------------------------------- Expand

PartialShape shape_from_input(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                              const std::vector<const Tensor*>& c, std::size_t i) {
  if (const Tensor* t = constant_of(c, i)) return PartialShape(read_ints(node, *t));
  const auto& s = required_info(node, in, i);
  if (s.shape.rank_known() && s.shape.rank() == 1 && s.shape[0].is_static())
    return dynamic_dims(std::size_t(s.shape[0].length));
  return PartialShape::dynamic_rank();
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Expand",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      return std::vector{value_info(x.element_type, broadcast_partial(node, x.shape, shape_from_input(node, in, c, 1)))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Shape out_shape = broadcast_shapes(node, x.shape(), read_ints(node, required_input(node, in, 1)));
      Tensor out(x.element_type(), out_shape);
      copy_strided(out.data(), x.data(), out_shape, broadcast_strides(x.shape(), out_shape),
                   element_size(x.element_type()));
      return std::vector{out};
    }});

// ---------------------------------------------------------------- ConstantOfShape

Tensor constant_of_shape_value(const ir::Node& node) {
  if (!node.has("value")) {
    Tensor v(ElementType::f32, {1});
    return v;
  }
  Tensor v = node.get_tensor("value");
  if (v.size() != 1) fail(node, "value must hold exactly one element, got " + std::to_string(v.size()));
  return v;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "ConstantOfShape",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      return std::vector{value_info(constant_of_shape_value(node).element_type(), shape_from_input(node, in, c, 0))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor v = constant_of_shape_value(node);
      const Shape shape = read_ints(node, required_input(node, in, 0));
      for (auto d : shape)
        if (d < 0) fail(node, "shape " + to_string(shape) + " has a negative dimension");
      Tensor out(v.element_type(), shape);
      const std::size_t esz = element_size(v.element_type());
      auto* dst = static_cast<unsigned char*>(out.data());
      for (std::size_t i = 0; i < out.size(); ++i) std::memcpy(dst + i * esz, v.data(), esz);
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Range

template <class T> std::int64_t range_count(T start, T limit, T delta) {
  if (to_double(delta) == 0.0) return 0;
  const double n = std::ceil((to_double(limit) - to_double(start)) / to_double(delta));
  return n > 0 ? std::int64_t(n) : 0;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Range",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& s = required_info(node, in, 0);
      const Tensor *a = constant_of(c, 0), *b = constant_of(c, 1), *d = constant_of(c, 2);
      if (!a || !b || !d) return std::vector{value_info(s.element_type, dynamic_dims(1))};
      const std::int64_t n = dispatch_type(s.element_type, node, [&](auto tag) {
        using T = decltype(tag);
        return range_count(*static_cast<const T*>(a->data()), *static_cast<const T*>(b->data()),
                           *static_cast<const T*>(d->data()));
      });
      return std::vector{value_info(s.element_type, PartialShape(Shape{n}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& a = required_input(node, in, 0);
      const Tensor& b = required_input(node, in, 1);
      const Tensor& d = required_input(node, in, 2);
      if (a.size() != 1 || b.size() != 1 || d.size() != 1) fail(node, "start, limit and delta must be scalars");
      if (b.element_type() != a.element_type() || d.element_type() != a.element_type())
        fail(node, "start, limit and delta must have the same element type");
      return dispatch_type(a.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T start = *static_cast<const T*>(a.data());
        const T delta = *static_cast<const T*>(d.data());
        const std::int64_t n = range_count(start, *static_cast<const T*>(b.data()), delta);
        Tensor out(a.element_type(), {n});
        T* y = static_cast<T*>(out.data());
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          for (std::int64_t i = 0; i < n; ++i) y[i] = T(start + T(i) * delta);
        } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
          for (std::int64_t i = 0; i < n; ++i) y[i] = start + T(i) * delta;
        } else {
          for (std::int64_t i = 0; i < n; ++i) y[i] = from_double<T>(to_double(start) + double(i) * to_double(delta));
        }
        return std::vector{out};
      });
    }});

}  // namespace
}  // namespace autosched::reference
