// Reference data-movement ops: Concat, Split, Slice, Gather, Tile, Pad.
// Elements are moved as bytes (element_size), so every element type works.
#include <algorithm>
#include <cstring>
#include <optional>

#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"

namespace autosched::reference {
namespace {

std::int64_t product(const Shape& s, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

// ---------------------------------------------------------------- Concat

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Concat",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& first = required_info(node, in, 0);
      std::optional<std::vector<Dimension>> dims;
      for (const auto& v : in) {
        if (v.element_type == ElementType::undefined || !v.shape.rank_known()) continue;
        if (!dims) {
          dims = v.shape.dims();
          dims->at(std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(dims->size())))) = 0;
        }
        if (v.shape.rank() != dims->size())
          fail(node, "inputs have different ranks: " + first.shape.to_string() + " and " + v.shape.to_string());
      }
      if (!dims) return std::vector{value_info(first.element_type, PartialShape::dynamic_rank())};
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(dims->size())));
      for (const auto& v : in) {
        if (v.element_type == ElementType::undefined) continue;
        if (!v.shape.rank_known()) {
          (*dims)[axis] = Dimension::dynamic();
          continue;
        }
        for (std::size_t i = 0; i < dims->size(); ++i) {
          const Dimension& d = v.shape[i];
          Dimension& o = (*dims)[i];
          if (i == axis) {
            o = o.is_static() && d.is_static() ? Dimension(o.length + d.length) : Dimension::dynamic();
          } else if (!o.is_static() && d.is_static()) {
            o = d;
          } else if (o.is_static() && d.is_static() && o.length != d.length) {
            fail(node, "inputs disagree on dim " + std::to_string(i) + ": " + std::to_string(o.length) + " vs " +
                           std::to_string(d.length));
          }
        }
      }
      return std::vector{value_info(first.element_type, PartialShape(*dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& first = required_input(node, in, 0);
      const std::size_t rank = first.shape().size();
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(rank)));
      Shape out_shape = first.shape();
      out_shape[axis] = 0;
      std::vector<const Tensor*> parts;
      for (const auto& t : in) {
        if (t.empty()) continue;
        if (t.element_type() != first.element_type()) fail(node, "inputs have different element types");
        if (t.shape().size() != rank) fail(node, "inputs have different ranks");
        for (std::size_t i = 0; i < rank; ++i)
          if (i != axis && t.shape()[i] != first.shape()[i])
            fail(node, "input shapes " + to_string(first.shape()) + " and " + to_string(t.shape()) + " differ off the axis");
        out_shape[axis] += t.shape()[axis];
        parts.push_back(&t);
      }
      Tensor out(first.element_type(), out_shape);
      const std::size_t esz = element_size(first.element_type());
      const std::int64_t outer = product(out_shape, 0, axis);
      const std::int64_t inner = product(out_shape, axis + 1, rank);
      auto* dst = static_cast<unsigned char*>(out.data());
      const std::size_t out_row = std::size_t(out_shape[axis] * inner) * esz;
      std::size_t col = 0;
      for (const Tensor* t : parts) {
        const std::size_t row = std::size_t(t->shape()[axis] * inner) * esz;
        const auto* src = static_cast<const unsigned char*>(t->data());
        for (std::int64_t o = 0; o < outer && row; ++o) std::memcpy(dst + std::size_t(o) * out_row + col, src + std::size_t(o) * row, row);
        col += row;
      }
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Split

// Split sizes along `dim` from the attribute (opset < 13), input 1 (>= 13),
// num_outputs (18) or an equal split across the outputs.
std::vector<std::int64_t> split_sizes(const ir::Node& node, const std::vector<std::int64_t>* explicit_sizes,
                                      std::int64_t dim) {
  if (explicit_sizes && !explicit_sizes->empty()) {
    if (explicit_sizes->size() != node.outputs.size())
      fail(node, "split has " + std::to_string(explicit_sizes->size()) + " entries for " +
                     std::to_string(node.outputs.size()) + " outputs");
    std::int64_t total = 0;
    for (auto s : *explicit_sizes) {
      if (s < 0) fail(node, "split sizes must not be negative");
      total += s;
    }
    if (total != dim) fail(node, "split sizes sum to " + std::to_string(total) + ", axis has " + std::to_string(dim));
    return *explicit_sizes;
  }
  const auto n = std::int64_t(node.get_int("num_outputs", std::int64_t(node.outputs.size())));
  if (n <= 0) fail(node, "needs at least one output");
  const std::int64_t chunk = (dim + n - 1) / n;  // the last part is smaller when dim % n != 0 (opset 18)
  std::vector<std::int64_t> sizes;
  for (std::int64_t i = 0, left = dim; i < n; ++i) {
    sizes.push_back(std::min(chunk, left));
    left -= sizes.back();
  }
  return sizes;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Split",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      std::vector<ir::ValueInfo> outs(node.outputs.size(), value_info(x.element_type, PartialShape::dynamic_rank()));
      if (!x.shape.rank_known()) return outs;
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(x.shape.rank())));
      std::optional<std::vector<std::int64_t>> sizes;
      if (node.has("split")) sizes = node.get_ints("split");
      else if (const Tensor* t = constant_of(c, 1)) sizes = read_ints(node, *t);
      else if (optional_info(in, 1)) sizes = std::nullopt;
      else sizes = std::vector<std::int64_t>{};
      std::vector<std::int64_t> resolved;
      if (sizes && x.shape[axis].is_static()) resolved = split_sizes(node, &*sizes, x.shape[axis].length);
      else if (sizes && !sizes->empty()) resolved = *sizes;
      for (std::size_t i = 0; i < outs.size(); ++i) {
        auto dims = x.shape.dims();
        dims[axis] = i < resolved.size() ? Dimension(resolved[i]) : Dimension::dynamic();
        outs[i].shape = PartialShape(dims);
      }
      return outs;
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const std::size_t rank = x.shape().size();
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(rank)));
      std::vector<std::int64_t> given = node.get_ints("split");
      if (const Tensor* t = optional_input(in, 1)) given = read_ints(node, *t);
      const auto sizes = split_sizes(node, &given, x.shape()[axis]);
      const std::size_t esz = element_size(x.element_type());
      const std::int64_t outer = product(x.shape(), 0, axis);
      const std::int64_t inner = product(x.shape(), axis + 1, rank);
      const std::size_t in_row = std::size_t(x.shape()[axis] * inner) * esz;
      const auto* src = static_cast<const unsigned char*>(x.data());
      std::vector<Tensor> outs;
      std::size_t col = 0;
      for (auto s : sizes) {
        Shape shape = x.shape();
        shape[axis] = s;
        Tensor out(x.element_type(), shape);
        const std::size_t row = std::size_t(s * inner) * esz;
        auto* dst = static_cast<unsigned char*>(out.data());
        for (std::int64_t o = 0; o < outer && row; ++o) std::memcpy(dst + std::size_t(o) * row, src + std::size_t(o) * in_row + col, row);
        col += row;
        outs.push_back(out);
      }
      return outs;
    }});

// ---------------------------------------------------------------- Slice

struct SliceAxis {
  std::int64_t start = 0, step = 1, length = 0;
};

// Per-axis start/step/length after ONNX clamping (opset 10+ inputs, or the
// opset-1 starts/ends/axes attributes).
std::vector<SliceAxis> slice_plan(const ir::Node& node, const Shape& shape, const std::vector<std::int64_t>& starts,
                                  const std::vector<std::int64_t>& ends, std::vector<std::int64_t> axes,
                                  std::vector<std::int64_t> steps) {
  const auto rank = std::int64_t(shape.size());
  if (starts.size() != ends.size()) fail(node, "starts and ends have different lengths");
  if (axes.empty())
    for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(std::int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    fail(node, "starts, ends, axes and steps must have the same length");
  std::vector<SliceAxis> plan(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) plan[i] = {0, 1, shape[i]};
  std::vector<bool> seen(shape.size(), false);
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto a = std::size_t(normalize_axis(node, axes[i], rank));
    if (seen[a]) fail(node, "axes repeat axis " + std::to_string(a));
    seen[a] = true;
    const std::int64_t dim = shape[a], step = steps[i];
    if (step == 0) fail(node, "steps must not be 0");
    std::int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<std::int64_t>(start, 0, dim);
      end = std::clamp<std::int64_t>(end, 0, dim);
    } else {
      start = std::clamp<std::int64_t>(start, 0, dim - 1);
      end = std::clamp<std::int64_t>(end, -1, dim - 1);
    }
    const std::int64_t span = step > 0 ? end - start : start - end;
    const std::int64_t abs_step = step > 0 ? step : -step;
    plan[a] = {start, step, span > 0 ? (span + abs_step - 1) / abs_step : 0};
  }
  return plan;
}

struct SliceArgs {
  std::vector<std::int64_t> starts, ends, axes, steps;
};

// Gathers slice arguments from attributes or inputs 1..4; nullopt when an
// input is not constant (inference only).
template <class Get> std::optional<SliceArgs> slice_args(const ir::Node& node, Get&& get) {
  SliceArgs a;
  if (node.has("starts")) {
    a.starts = node.get_ints("starts");
    a.ends = node.get_ints("ends");
    a.axes = node.get_ints("axes");
    return a;
  }
  std::vector<std::int64_t>* fields[] = {&a.starts, &a.ends, &a.axes, &a.steps};
  for (std::size_t i = 0; i < 4; ++i) {
    auto v = get(i + 1);
    if (!v) return std::nullopt;
    *fields[i] = std::move(*v);
  }
  return a;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Slice",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, x.shape)};
      const auto args = slice_args(node, [&](std::size_t i) -> std::optional<std::vector<std::int64_t>> {
        if (const Tensor* t = constant_of(c, i)) return read_ints(node, *t);
        if (optional_info(in, i)) return std::nullopt;
        return std::vector<std::int64_t>{};
      });
      if (!args) return std::vector{value_info(x.element_type, dynamic_dims(x.shape.rank()))};
      // Axes not sliced keep their (possibly dynamic) dims; sliced dynamic axes become dynamic.
      Shape probe;
      for (const auto& d : x.shape.dims()) probe.push_back(d.is_static() ? d.length : 1);
      const auto plan = slice_plan(node, probe, args->starts, args->ends, args->axes, args->steps);
      std::vector<bool> sliced(x.shape.rank(), false);
      auto axes = args->axes;
      if (axes.empty())
        for (std::size_t i = 0; i < args->starts.size(); ++i) axes.push_back(std::int64_t(i));
      for (auto a : axes) sliced[std::size_t(normalize_axis(node, a, std::int64_t(x.shape.rank())))] = true;
      std::vector<Dimension> dims;
      for (std::size_t i = 0; i < plan.size(); ++i) {
        if (!sliced[i]) dims.push_back(x.shape[i]);
        else if (!x.shape[i].is_static()) dims.push_back(Dimension::dynamic());
        else dims.push_back(plan[i].length);
      }
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto args = slice_args(node, [&](std::size_t i) -> std::optional<std::vector<std::int64_t>> {
        if (const Tensor* t = optional_input(in, i)) return read_ints(node, *t);
        return std::vector<std::int64_t>{};
      });
      const auto plan = slice_plan(node, x.shape(), args->starts, args->ends, args->axes, args->steps);
      const auto st = strides_of(x.shape());
      Shape out_shape;
      std::vector<std::int64_t> strides;
      std::int64_t offset = 0;
      for (std::size_t i = 0; i < plan.size(); ++i) {
        out_shape.push_back(plan[i].length);
        strides.push_back(st[i] * plan[i].step);
        offset += st[i] * plan[i].start;
      }
      Tensor out(x.element_type(), out_shape);
      const std::size_t esz = element_size(x.element_type());
      if (out.size())
        copy_strided(out.data(), static_cast<const unsigned char*>(x.data()) + std::size_t(offset) * esz, out_shape,
                     strides, esz);
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Gather

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Gather",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      const auto& idx = required_info(node, in, 1);
      if (x.shape.rank_known() && x.shape.rank() == 0) fail(node, "data must have rank >= 1 (got a scalar)");
      if (!x.shape.rank_known() || !idx.shape.rank_known())
        return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(x.shape.rank())));
      std::vector<Dimension> dims(x.shape.dims().begin(), x.shape.dims().begin() + std::ptrdiff_t(axis));
      dims.insert(dims.end(), idx.shape.dims().begin(), idx.shape.dims().end());
      dims.insert(dims.end(), x.shape.dims().begin() + std::ptrdiff_t(axis) + 1, x.shape.dims().end());
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Tensor& idx_t = required_input(node, in, 1);
      const std::size_t rank = x.shape().size();
      if (rank == 0) fail(node, "data must have rank >= 1 (got a scalar)");
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(rank)));
      auto indices = read_ints(node, idx_t);
      const std::int64_t dim = x.shape()[axis];
      for (auto& i : indices) {
        if (i < -dim || i >= dim)
          fail(node, "index " + std::to_string(i) + " is out of range for axis " + std::to_string(axis) + " of size " +
                         std::to_string(dim));
        if (i < 0) i += dim;
      }
      Shape out_shape(x.shape().begin(), x.shape().begin() + std::ptrdiff_t(axis));
      out_shape.insert(out_shape.end(), idx_t.shape().begin(), idx_t.shape().end());
      out_shape.insert(out_shape.end(), x.shape().begin() + std::ptrdiff_t(axis) + 1, x.shape().end());
      Tensor out(x.element_type(), out_shape);
      const std::size_t esz = element_size(x.element_type());
      const std::int64_t outer = product(x.shape(), 0, axis);
      const std::size_t block = std::size_t(product(x.shape(), axis + 1, rank)) * esz;
      const auto* src = static_cast<const unsigned char*>(x.data());
      auto* dst = static_cast<unsigned char*>(out.data());
      if (block == 0) return std::vector{out};
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::size_t k = 0; k < indices.size(); ++k)
          std::memcpy(dst + (std::size_t(o) * indices.size() + k) * block,
                      src + (std::size_t(o * dim + indices[k])) * block, block);
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Tile

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Tile",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, x.shape)};
      const Tensor* r = constant_of(c, 1);
      if (!r) return std::vector{value_info(x.element_type, dynamic_dims(x.shape.rank()))};
      const auto reps = read_ints(node, *r);
      if (reps.size() != x.shape.rank()) fail(node, "repeats has " + std::to_string(reps.size()) + " entries for rank " + std::to_string(x.shape.rank()));
      std::vector<Dimension> dims;
      for (std::size_t i = 0; i < reps.size(); ++i)
        dims.push_back(x.shape[i].is_static() ? Dimension(x.shape[i].length * reps[i])
                       : reps[i] == 1         ? x.shape[i]
                                              : Dimension::dynamic());
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto reps = read_ints(node, required_input(node, in, 1));
      const std::size_t rank = x.shape().size();
      if (reps.size() != rank) fail(node, "repeats has " + std::to_string(reps.size()) + " entries for rank " + std::to_string(rank));
      // View the output as [rep0, d0, rep1, d1, ...] and read x with stride 0 on the rep axes.
      Shape view;
      std::vector<std::int64_t> strides;
      const auto st = strides_of(x.shape());
      Shape out_shape;
      for (std::size_t i = 0; i < rank; ++i) {
        if (reps[i] < 0) fail(node, "repeats must not be negative");
        view.push_back(reps[i]);
        strides.push_back(0);
        view.push_back(x.shape()[i]);
        strides.push_back(st[i]);
        out_shape.push_back(x.shape()[i] * reps[i]);
      }
      Tensor out(x.element_type(), out_shape);
      copy_strided(out.data(), x.data(), view, strides, element_size(x.element_type()));
      return std::vector{out};
    }});

// ---------------------------------------------------------------- Pad

struct PadArgs {
  std::vector<std::int64_t> begin, end;  // per axis of the input
  std::string mode;
};

// Pads from the attribute (opset < 11) or input 1 with optional axes input 3.
PadArgs pad_args(const ir::Node& node, std::size_t rank, const std::vector<std::int64_t>& pads,
                 std::vector<std::int64_t> axes) {
  PadArgs p;
  p.mode = node.get_string("mode", "constant");
  if (axes.empty())
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(std::int64_t(i));
  if (pads.size() != 2 * axes.size())
    fail(node, "pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * axes.size()));
  p.begin.assign(rank, 0);
  p.end.assign(rank, 0);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const auto a = std::size_t(normalize_axis(node, axes[i], std::int64_t(rank)));
    p.begin[a] = pads[i];
    p.end[a] = pads[i + axes.size()];
  }
  if (p.mode != "constant" && p.mode != "reflect" && p.mode != "edge" && p.mode != "wrap")
    fail(node, "mode '" + p.mode + "' is not one of constant, reflect, edge, wrap");
  return p;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Pad",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, x.shape)};
      std::vector<std::int64_t> pads = node.get_ints("pads"), axes;
      if (!node.has("pads")) {
        const Tensor* p = constant_of(c, 1);
        if (!p || (optional_info(in, 3) && !constant_of(c, 3)))
          return std::vector{value_info(x.element_type, dynamic_dims(x.shape.rank()))};
        pads = read_ints(node, *p);
        if (const Tensor* a = constant_of(c, 3)) axes = read_ints(node, *a);
      }
      const auto args = pad_args(node, x.shape.rank(), pads, axes);
      std::vector<Dimension> dims;
      for (std::size_t i = 0; i < x.shape.rank(); ++i)
        dims.push_back(x.shape[i].is_static() ? Dimension(x.shape[i].length + args.begin[i] + args.end[i])
                       : args.begin[i] == 0 && args.end[i] == 0 ? x.shape[i]
                                                                : Dimension::dynamic());
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const std::size_t rank = x.shape().size();
      std::vector<std::int64_t> pads = node.get_ints("pads"), axes;
      if (const Tensor* p = optional_input(in, 1)) pads = read_ints(node, *p);
      if (const Tensor* a = optional_input(in, 3)) axes = read_ints(node, *a);
      const auto args = pad_args(node, rank, pads, axes);
      Shape out_shape(rank);
      for (std::size_t i = 0; i < rank; ++i) {
        out_shape[i] = x.shape()[i] + args.begin[i] + args.end[i];
        if (out_shape[i] < 0) fail(node, "pads make axis " + std::to_string(i) + " negative");
        if (args.mode != "constant" && x.shape()[i] == 0 && out_shape[i] > 0)
          fail(node, "mode '" + args.mode + "' cannot pad an empty axis");
      }
      Tensor out(x.element_type(), out_shape);
      const std::size_t esz = element_size(x.element_type());
      // The constant: input 2 (opset >= 11) or the `value` attribute, cast to x's type.
      std::vector<unsigned char> fill(esz, 0);
      if (const Tensor* v = optional_input(in, 2)) {
        if (v->element_type() != x.element_type()) fail(node, "constant_value type differs from data type");
        if (v->size()) std::memcpy(fill.data(), v->data(), esz);
      } else if (node.has("value")) {
        dispatch_type(x.element_type(), node, [&](auto tag) {
          using T = decltype(tag);
          const T value = from_double<T>(node.get_float("value", 0.0));
          std::memcpy(fill.data(), &value, esz);
        });
      }
      const auto st = strides_of(x.shape());
      const auto* src = static_cast<const unsigned char*>(x.data());
      auto* dst = static_cast<unsigned char*>(out.data());
      std::vector<std::int64_t> idx(rank, 0);
      const std::int64_t total = shape_size(out_shape);
      for (std::int64_t linear = 0; linear < total; ++linear) {
        std::int64_t off = 0;
        bool inside = true;
        for (std::size_t d = 0; d < rank && inside; ++d) {
          const std::int64_t n = x.shape()[d];
          std::int64_t c = idx[d] - args.begin[d];
          if (c < 0 || c >= n) {
            if (args.mode == "constant") {
              inside = false;
            } else if (args.mode == "edge") {
              c = std::clamp<std::int64_t>(c, 0, n - 1);
            } else if (args.mode == "wrap") {
              c = ((c % n) + n) % n;
            } else if (n == 1) {  // reflect
              c = 0;
            } else {
              const std::int64_t period = 2 * (n - 1);
              c = ((c % period) + period) % period;
              if (c >= n) c = period - c;
            }
          }
          off += c * st[d];
        }
        std::memcpy(dst + std::size_t(linear) * esz, inside ? src + std::size_t(off) * esz : fill.data(), esz);
        for (std::size_t d = rank; d-- > 0;) {
          if (++idx[d] < out_shape[d]) break;
          idx[d] = 0;
        }
      }
      return std::vector{out};
    }});

}  // namespace
}  // namespace autosched::reference
