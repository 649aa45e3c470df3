// Data-movement ops of the OCL device. Reshape, Flatten, Squeeze, Unsqueeze,
// Identity and inference Dropout are views (no step: the output shares the
// input's buffer). Transpose, Concat, Slice, Split, Expand and Pad are one
// strided-copy kernel with per-op strides; Gather has its own kernel.
#include <algorithm>
#include <limits>

#include "devices/opencl/ocl_lowering.hpp"

namespace autosched::ocl {

namespace {

using Ints = std::vector<std::int64_t>;

std::string check_f32_input(const ir::Node& node, const GraphFacts& facts) {
  return require_f32(facts, node.input(0));
}

void lower_view(Lowering& l, const ir::Node& node) { l.alias(node.outputs[0], node.input(0)); }

std::string check_dropout(const ir::Node& node, const GraphFacts& facts) {
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return "the mask output is not supported";
  if (node.has_input(2)) {
    const Tensor* t = facts.constant(node.input(2));
    if (!t || t->element_type() != ElementType::boolean || *t->data<bool>()) return "training_mode must be false";
  }
  return check_f32_input(node, facts);
}

// Emits dst[dst_off + Σ c·dst_st] = src[src_off + Σ c·src_st] over `dims`.
void strided_copy(Lowering& l, const std::string& label, ValueRef src, std::int64_t src_off, Ints src_st,
                  ValueRef dst, std::int64_t dst_off, Ints dst_st, Ints dims) {
  const std::int64_t count = shape_size(dims);
  std::vector<Ints> strides = {std::move(src_st), std::move(dst_st)};
  coalesce(dims, strides);
  Ints meta = dims;
  for (const auto& s : strides) meta.insert(meta.end(), s.begin(), s.end());
  l.launch(label, KernelId::strided_copy, std::size_t(count),
           {arg(src), arg_i(src_off), arg(dst), arg_i(dst_off), arg(meta_buffer()), arg_i(l.meta(meta)),
            arg_i(std::int64_t(dims.size()))});
}

void lower_transpose(Lowering& l, const ir::Node& node) {
  const Shape& in = l.shape(node.input(0));
  const Shape& out = l.shape(node.outputs[0]);
  Ints perm = node.get_ints("perm", {});
  if (perm.empty())
    for (std::size_t d = in.size(); d-- > 0;) perm.push_back(std::int64_t(d));
  const Ints in_st = contiguous_strides(in);
  Ints src_st(out.size());
  for (std::size_t d = 0; d < out.size(); ++d) src_st[d] = in_st[std::size_t(perm[d])];
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  strided_copy(l, "Transpose " + node.name, x, 0, src_st, y, 0, contiguous_strides(out), Ints(out.begin(), out.end()));
}

std::string check_all_f32(const ir::Node& node, const GraphFacts& facts) {
  for (const auto& in : node.inputs)
    if (!in.empty())
      if (auto why = require_f32(facts, in); !why.empty()) return why;
  return {};
}

void lower_concat(Lowering& l, const ir::Node& node) {
  const Shape& out = l.shape(node.outputs[0]);
  std::int64_t axis = node.get_int("axis", 0);
  if (axis < 0) axis += std::int64_t(out.size());
  const Ints out_st = contiguous_strides(out);
  std::vector<ValueRef> inputs;
  for (const auto& in : node.inputs) inputs.push_back(l.value(in));
  const ValueRef y = l.define(node.outputs[0]);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    const Shape& s = l.shape(node.inputs[i]);
    strided_copy(l, "Concat " + node.name, inputs[i], 0, contiguous_strides(s), y, offset * out_st[std::size_t(axis)],
                 out_st, Ints(s.begin(), s.end()));
    offset += s[std::size_t(axis)];
  }
}

// Slice parameters from inputs (opset >= 10) or attributes.
struct SliceParams {
  Ints starts, ends, axes, steps;
};

Ints constant_ints(const GraphFacts& facts, const std::string& value) {
  const Tensor* t = facts.constant(value);
  Ints out;
  if (t->element_type() == ElementType::i64) out.assign(t->data<std::int64_t>(), t->data<std::int64_t>() + t->size());
  else out.assign(t->data<std::int32_t>(), t->data<std::int32_t>() + t->size());
  return out;
}

std::string check_slice(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = require_f32(facts, node.input(0)); !why.empty()) return why;
  for (std::size_t i = 1; i < node.inputs.size(); ++i) {
    if (!node.has_input(i)) continue;
    if (auto why = require_constant(facts, node.input(i), "Slice parameter"); !why.empty()) return why;
    const auto t = facts.constant(node.input(i))->element_type();
    if (t != ElementType::i64 && t != ElementType::i32) return "Slice parameters must be i32/i64";
  }
  return {};
}

void lower_slice(Lowering& l, const ir::Node& node) {
  const auto& facts = l.facts();
  const Shape& in = l.shape(node.input(0));
  const Shape& out = l.shape(node.outputs[0]);
  SliceParams p;
  if (node.has_input(1)) {
    p.starts = constant_ints(facts, node.input(1));
    p.ends = constant_ints(facts, node.input(2));
    if (node.has_input(3)) p.axes = constant_ints(facts, node.input(3));
    if (node.has_input(4)) p.steps = constant_ints(facts, node.input(4));
  } else {
    p.starts = node.get_ints("starts");
    p.ends = node.get_ints("ends");
    p.axes = node.get_ints("axes", {});
  }
  if (p.axes.empty())
    for (std::size_t i = 0; i < p.starts.size(); ++i) p.axes.push_back(std::int64_t(i));
  if (p.steps.empty()) p.steps.assign(p.starts.size(), 1);
  const Ints in_st = contiguous_strides(in);
  Ints src_st = in_st;
  std::int64_t src_off = 0;
  for (std::size_t i = 0; i < p.axes.size(); ++i) {
    const auto rank = std::int64_t(in.size());
    const auto d = std::size_t(p.axes[i] < 0 ? p.axes[i] + rank : p.axes[i]);
    const std::int64_t dim = in[d], step = p.steps[i];
    std::int64_t start = p.starts[i];
    if (start < 0) start += dim;
    start = step > 0 ? std::clamp<std::int64_t>(start, 0, dim) : std::clamp<std::int64_t>(start, 0, dim - 1);
    src_off += start * in_st[d];
    src_st[d] = in_st[d] * step;
  }
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  strided_copy(l, "Slice " + node.name, x, src_off, src_st, y, 0, contiguous_strides(out), Ints(out.begin(), out.end()));
}

void lower_split(Lowering& l, const ir::Node& node) {
  const Shape& in = l.shape(node.input(0));
  std::int64_t axis = node.get_int("axis", 0);
  if (axis < 0) axis += std::int64_t(in.size());
  const Ints in_st = contiguous_strides(in);
  const ValueRef x = l.value(node.input(0));
  std::int64_t offset = 0;
  for (const auto& name : node.outputs) {
    if (name.empty()) continue;
    const Shape& s = l.shape(name);
    const ValueRef y = l.define(name);
    strided_copy(l, "Split " + node.name, x, offset * in_st[std::size_t(axis)], in_st, y, 0, contiguous_strides(s),
                 Ints(s.begin(), s.end()));
    offset += s[std::size_t(axis)];
  }
}

void lower_expand(Lowering& l, const ir::Node& node) {
  const Shape& in = l.shape(node.input(0));
  const Shape& out = l.shape(node.outputs[0]);
  Ints src(out.size(), 0);
  const Ints own = contiguous_strides(in);
  for (std::size_t i = 0; i < in.size(); ++i) src[out.size() - in.size() + i] = in[i] == 1 ? 0 : own[i];
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  strided_copy(l, "Expand " + node.name, x, 0, src, y, 0, contiguous_strides(out), Ints(out.begin(), out.end()));
}

std::string check_gather(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = require_f32(facts, node.input(0)); !why.empty()) return why;
  const auto& idx = node.input(1);
  if (facts.constant(idx)) {
    const auto t = facts.constant(idx)->element_type();
    return t == ElementType::i64 || t == ElementType::i32 ? std::string() : "indices must be i32/i64";
  }
  if (facts.info(idx).element_type != ElementType::i64 || !facts.info(idx).shape.is_static())
    return "runtime indices must be i64 with a static shape";
  return {};
}

void lower_gather(Lowering& l, const ir::Node& node) {
  const Shape& data = l.shape(node.input(0));
  std::int64_t axis = node.get_int("axis", 0);
  if (axis < 0) axis += std::int64_t(data.size());
  const auto a = std::size_t(axis);
  const std::int64_t outer = product(data, 0, a), inner = product(data, a + 1, data.size());
  const ValueRef x = l.value(node.input(0));
  const Tensor* constant = l.facts().constant(node.input(1));
  ValueRef idx;
  std::int64_t count = 0;
  KernelId kernel = KernelId::gather_i64;
  if (constant) {
    const Ints values = constant_ints(l.facts(), node.input(1));
    Tensor t(ElementType::i32, {std::int64_t(values.size())});
    for (std::size_t i = 0; i < values.size(); ++i) t.data<std::int32_t>()[i] = std::int32_t(values[i]);
    idx = l.upload(t);
    count = std::int64_t(values.size());
    kernel = KernelId::gather;
  } else {
    idx = l.value(node.input(1));
    count = shape_size(l.shape(node.input(1)));
  }
  const ValueRef y = l.define(node.outputs[0]);
  l.launch("Gather " + node.name, kernel, std::size_t(outer * count * inner),
           {arg(x), arg(idx), arg(y), arg_i(data[a]), arg_i(count), arg_i(inner)});
}

std::string check_pad(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = require_f32(facts, node.input(0)); !why.empty()) return why;
  if (node.get_string("mode", "constant") != "constant") return "only mode=constant is supported";
  for (std::size_t i = 1; i < node.inputs.size(); ++i)
    if (node.has_input(i))
      if (auto why = require_constant(facts, node.input(i), "Pad parameter"); !why.empty()) return why;
  if (node.has_input(3)) return "the axes input is not supported";
  if (node.has_input(2) && facts.constant(node.input(2))->element_type() != ElementType::f32)
    return "constant_value must be f32";
  const Ints pads = node.has_input(1) ? constant_ints(facts, node.input(1)) : node.get_ints("pads", {});
  for (auto p : pads)
    if (p < 0) return "negative pads are not supported";
  return {};
}

void lower_pad(Lowering& l, const ir::Node& node) {
  const auto& facts = l.facts();
  const Shape& in = l.shape(node.input(0));
  const Shape& out = l.shape(node.outputs[0]);
  const Ints pads = node.has_input(1) ? constant_ints(facts, node.input(1)) : node.get_ints("pads", {});
  double value = node.get_float("value", 0.0);
  if (node.has_input(2)) value = *facts.constant(node.input(2))->data<float>();
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch("Pad " + node.name + " [fill]", KernelId::fill, std::size_t(shape_size(out)), {arg(y), arg_f(value)});
  const Ints out_st = contiguous_strides(out);
  std::int64_t dst_off = 0;
  for (std::size_t d = 0; d < in.size(); ++d) dst_off += pads[d] * out_st[d];
  strided_copy(l, "Pad " + node.name, x, 0, contiguous_strides(in), y, dst_off, out_st, Ints(in.begin(), in.end()));
}

}  // namespace

void add_movement_lowerings(LoweringTable& table) {
  for (const char* view : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
    table[view] = {check_f32_input, lower_view};
  table["Dropout"] = {check_dropout, lower_view};
  table["Transpose"] = {check_f32_input, lower_transpose};
  table["Concat"] = {check_all_f32, lower_concat};
  table["Slice"] = {check_slice, lower_slice};
  table["Split"] = {check_f32_input, lower_split};
  table["Expand"] = {check_f32_input, lower_expand};
  table["Gather"] = {check_gather, lower_gather};
  table["Pad"] = {check_pad, lower_pad};
}

}  // namespace autosched::ocl
