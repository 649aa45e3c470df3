// Lowering of element-wise, normalisation and data-movement nodes to oneDNN:
// eltwise, binary (with broadcasting), softmax, concat, layer/batch
// normalisation, zero-copy views (Reshape & co. on plain data) and Transpose
// as a reorder into permuted strides. Post-op fusion lives here too.
#include <cfloat>
#include <cmath>
#include <numeric>

#include "devices/cpu/program_builder.hpp"

namespace autosched::cpu {

using dt = dnnl::memory::data_type;
using dnnl::algorithm;

namespace {

// The single float of a constant with one element (f32 only).
std::optional<float> scalar_of(const Tensor* t) {
  if (!t || t->element_type() != ElementType::f32 || t->size() != 1) return std::nullopt;
  return t->data<float>()[0];
}

}  // namespace

std::optional<EltwiseOp> ProgramBuilder::eltwise_of(const ir::Node& node) const {
  const std::string& op = node.op_type;
  if (node.outputs.size() != 1 || node.inputs.empty()) return std::nullopt;
  auto unary = [&](algorithm a, float alpha = 0.f, float beta = 0.f) -> std::optional<EltwiseOp> {
    if (node.inputs.size() != 1 || constant_of(node.input(0)) || !is_f32_static(node.input(0))) return std::nullopt;
    return EltwiseOp{a, alpha, beta, op};
  };
  if (op == "Relu") return unary(algorithm::eltwise_relu);
  if (op == "LeakyRelu") return unary(algorithm::eltwise_relu, float(node.get_float("alpha", 0.01)));
  if (op == "Sigmoid") return unary(algorithm::eltwise_logistic);
  if (op == "Tanh") return unary(algorithm::eltwise_tanh);
  if (op == "Elu") return unary(algorithm::eltwise_elu, float(node.get_float("alpha", 1.0)));
  if (op == "Exp") return unary(algorithm::eltwise_exp);
  if (op == "Log") return unary(algorithm::eltwise_log);
  if (op == "Sqrt") return unary(algorithm::eltwise_sqrt);
  if (op == "Abs") return unary(algorithm::eltwise_abs);
  if (op == "Neg") return unary(algorithm::eltwise_linear, -1.f, 0.f);
  if (op == "Softplus") return unary(algorithm::eltwise_soft_relu);
  if (op == "HardSwish") return unary(algorithm::eltwise_hardswish);
  if (op == "Round") return unary(algorithm::eltwise_round);
  if (op == "Clip") {
    if (constant_of(node.input(0)) || !is_f32_static(node.input(0))) return std::nullopt;
    float lo = -FLT_MAX, hi = FLT_MAX;
    if (graph_.opset < 11 || node.has("min") || node.has("max")) {
      lo = float(node.get_float("min", -FLT_MAX));
      hi = float(node.get_float("max", FLT_MAX));
    }
    if (node.has_input(1)) {
      auto v = scalar_of(constant_of(node.input(1)));
      if (!v) return std::nullopt;
      lo = *v;
    }
    if (node.has_input(2)) {
      auto v = scalar_of(constant_of(node.input(2)));
      if (!v) return std::nullopt;
      hi = *v;
    }
    return EltwiseOp{algorithm::eltwise_clip_v2, lo, hi, op};
  }
  // Binary ops with a scalar constant: linear / pow forms.
  if (node.inputs.size() != 2) return std::nullopt;
  const bool first_const = scalar_of(constant_of(node.input(0))).has_value() && !constant_of(node.input(1));
  const bool second_const = scalar_of(constant_of(node.input(1))).has_value() && !constant_of(node.input(0));
  if (!first_const && !second_const) return std::nullopt;
  const std::string& data = first_const ? node.input(1) : node.input(0);
  const Tensor* c_tensor = constant_of(first_const ? node.input(0) : node.input(1));
  if (!is_f32_static(data) || c_tensor->shape().size() > shape_of(data).size()) return std::nullopt;
  const float c = *scalar_of(c_tensor);
  if (op == "Add") return EltwiseOp{algorithm::eltwise_linear, 1.f, c, op};
  if (op == "Mul") return EltwiseOp{algorithm::eltwise_linear, c, 0.f, op};
  if (op == "Sub") return first_const ? EltwiseOp{algorithm::eltwise_linear, -1.f, c, op}
                                      : EltwiseOp{algorithm::eltwise_linear, 1.f, -c, op};
  if (op == "Div") {
    if (first_const) return EltwiseOp{algorithm::eltwise_pow, c, -1.f, op};
    if (c == 0.f) return std::nullopt;
    return EltwiseOp{algorithm::eltwise_linear, 1.f / c, 0.f, op};
  }
  if (op == "Pow" && second_const) {
    if (c == 2.f) return EltwiseOp{algorithm::eltwise_square, 0.f, 0.f, op};
    return EltwiseOp{algorithm::eltwise_pow, 1.f, c, op};
  }
  return std::nullopt;
}

ProgramBuilder::PostOps ProgramBuilder::collect_post_ops(const std::string& value, bool allow_sum, bool) {
  PostOps r;
  std::string current = value;
  bool sum_used = false;
  for (;;) {
    if (auto gelu = match_gelu(current)) {  // x·0.5·(1+Erf(x/√2)) as one post-op
      r.ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
      for (int i : gelu->nodes) {
        r.nodes.push_back(i);
        r.labels.append("+").append(node_label(i));
      }
      const Shape shape = shape_of(current);
      Value& next = values_[gelu->output];
      next.type = ElementType::f32;
      next.shape = shape;
      current = gelu->output;
      continue;
    }
    const int c = single_consumer(current);
    if (c < 0 || fused_[std::size_t(c)]) break;
    const ir::Node& node = graph_.nodes[std::size_t(c)];
    if (node.outputs.size() != 1) break;
    const bool data_first = !node.inputs.empty() && node.input(0) == current;
    const bool data_second = node.inputs.size() == 2 && node.input(1) == current;
    std::optional<EltwiseOp> e;
    if (data_first || data_second) e = eltwise_of(node);
    // eltwise_of checks the *other* operand is the scalar; make sure the data is `current`.
    if (e && node.inputs.size() == 2 && node.op_type != "Clip") {
      const bool other_const = constant_of(data_first ? node.input(1) : node.input(0)) != nullptr;
      if (!other_const) e.reset();
    }
    if (e) {
      r.ops.append_eltwise(1.f, e->algorithm, e->alpha, e->beta);
    } else if (allow_sum && !sum_used && node.op_type == "Add" && node.inputs.size() == 2 && (data_first || data_second)) {
      const std::string& other = data_first ? node.input(1) : node.input(0);
      if (other == current || constant_of(other) || !is_defined(other) || !is_f32_static(other) ||
          shape_of(other) != shape_of(current))
        break;
      r.ops.append_sum(1.f);
      r.sum_operand = other;
      sum_used = true;
    } else {
      break;
    }
    r.nodes.push_back(c);
    r.labels.append("+").append(node_label(c));
    // Fused ops keep the shape; record it so the walk can continue past them.
    const Shape shape = shape_of(current);
    Value& next = values_[node.outputs[0]];
    next.type = ElementType::f32;
    next.shape = shape;
    current = node.outputs[0];
  }
  r.output = current;
  return r;
}

bool ProgramBuilder::lower_eltwise(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  auto e = eltwise_of(node);
  if (!e) return false;
  const bool data_second = node.inputs.size() == 2 && constant_of(node.input(0)) && node.op_type != "Clip";
  const std::string& x = data_second ? node.input(1) : node.input(0);
  const std::string& y = node.outputs[0];
  if (!is_f32_static(x) || !is_f32_static(y) || shape_of(x) != shape_of(y)) return false;
  const auto src_desc = current_desc(x);
  dnnl::eltwise_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, e->algorithm, src_desc, e->alpha, e->beta}, attr_with(), cpu_engine());
  const BufferRef src = ref_as(x, pd.src_desc());
  const BufferRef dst = define_arena(y, pd.dst_desc());
  push_primitive("eltwise " + node_label(n) + " [" + pd.impl_info_str() + "]", dnnl::eltwise_forward(pd),
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_binary(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  if (eltwise_of(node)) return lower_eltwise(n);
  if (node.inputs.size() != 2 || node.op_type == "Pow") return false;
  std::string a = node.input(0), b = node.input(1);
  const std::string& y = node.outputs[0];
  if (!is_f32_static(a) || !is_f32_static(b) || !is_f32_static(y)) return false;
  const Shape& out = shape_of(y);
  const bool commutative = node.op_type != "Sub" && node.op_type != "Div";
  if (shape_of(a) != out) {
    if (!commutative || shape_of(b) != out) return false;
    std::swap(a, b);
  }
  Shape b_shape = shape_of(b);
  if (b_shape.size() > out.size()) return false;
  b_shape.insert(b_shape.begin(), out.size() - b_shape.size(), 1);
  const algorithm alg = node.op_type == "Add"   ? algorithm::binary_add
                        : node.op_type == "Sub" ? algorithm::binary_sub
                        : node.op_type == "Mul" ? algorithm::binary_mul
                        : node.op_type == "Div" ? algorithm::binary_div
                        : node.op_type == "Max" ? algorithm::binary_max
                                                : algorithm::binary_min;
  const auto src0_desc = current_desc(a);
  const auto src1_desc = b_shape == out ? src0_desc : plain_desc(b_shape);
  const auto dst_any = dnnl::memory::desc(src0_desc.dims(), dt::f32, dnnl::memory::format_tag::any);
  PostOps fused = collect_post_ops(y, false);
  dnnl::binary::primitive_desc pd({alg, src0_desc, src1_desc, dst_any}, attr_with(&fused.ops), cpu_engine());
  const BufferRef src0 = ref_as(a, pd.src0_desc());
  BufferRef src1;
  if (b_shape == out) {
    src1 = ref_as(b, pd.src1_desc());
  } else {
    src1 = plain_ref(b);
    src1.desc = pd.src1_desc();  // same bytes, rank-extended dims
  }
  finish_fused(fused, y);
  const BufferRef dst = define_arena(fused.output, pd.dst_desc());
  push_primitive("binary " + node_label(n) + fused.labels + " [" + pd.impl_info_str() + "]", dnnl::binary(pd),
                 {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_softmax(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  if (!is_f32_static(x) || !is_f32_static(y)) return false;
  const Shape& shape = shape_of(x);
  const auto rank = std::int64_t(shape.size());
  if (rank == 0) return false;
  std::int64_t axis = node.get_int("axis", graph_.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  Shape view = shape;
  if (graph_.opset < 13) {  // coerced to 2-D [prod(:axis), prod(axis:)]
    const auto mid = shape.begin() + axis;
    view = {std::accumulate(shape.begin(), mid, std::int64_t{1}, std::multiplies<>()),
            std::accumulate(mid, shape.end(), std::int64_t{1}, std::multiplies<>())};
    axis = 1;
  }
  const auto desc = plain_desc(view);
  const bool log = node.op_type == "LogSoftmax";
  dnnl::primitive primitive;
  dnnl::memory::desc scratch;
  std::string impl;
  if (log) {
    dnnl::logsoftmax_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, desc, int(axis)}, attr_with(),
                                                cpu_engine());
    primitive = dnnl::logsoftmax_forward(pd);
    scratch = pd.scratchpad_desc();
    impl = pd.impl_info_str();
  } else {
    dnnl::softmax_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, desc, int(axis)}, attr_with(),
                                             cpu_engine());
    primitive = dnnl::softmax_forward(pd);
    scratch = pd.scratchpad_desc();
    impl = pd.impl_info_str();
  }
  BufferRef src = plain_ref(x);
  src.desc = desc;
  define_arena(y, plain_desc(shape));
  BufferRef dst = current_ref(y);
  dst.desc = desc;
  push_primitive((log ? "logsoftmax " : "softmax ") + node_label(n) + " [" + impl + "]", primitive,
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, scratch);
  return true;
}

bool ProgramBuilder::lower_concat(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& y = node.outputs.at(0);
  if (!is_f32_static(y) || node.inputs.empty()) return false;
  const auto rank = std::int64_t(shape_of(y).size());
  std::int64_t axis = node.get_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  std::vector<dnnl::memory::desc> srcs;
  std::vector<std::string> names;
  for (const auto& in : node.inputs) {
    if (in.empty() || !is_f32_static(in)) return false;
    if (shape_size(shape_of(in)) == 0) continue;  // empty inputs contribute nothing
    srcs.push_back(current_desc(in));
    names.push_back(in);
  }
  if (srcs.empty()) return false;
  dnnl::concat::primitive_desc pd(int(axis), srcs, cpu_engine(), attr_with());
  std::vector<std::pair<int, BufferRef>> args;
  for (std::size_t k = 0; k < names.size(); ++k)
    args.emplace_back(DNNL_ARG_MULTIPLE_SRC + int(k), ref_as(names[k], pd.src_desc(int(k))));
  args.emplace_back(DNNL_ARG_DST, define_arena(y, pd.dst_desc()));
  push_primitive("concat " + node_label(n) + " [" + pd.impl_info_str() + "]", dnnl::concat(pd), std::move(args),
                 pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_layer_norm(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return false;  // Mean / InvStdDev outputs: reference
  if (!is_f32_static(x) || !is_f32_static(y)) return false;
  const Tensor* scale = constant_of(node.input(1));
  const Tensor* bias = node.has_input(2) ? constant_of(node.input(2)) : nullptr;
  if (!scale || scale->element_type() != ElementType::f32 || (node.has_input(2) && (!bias || bias->element_type() != ElementType::f32)))
    return false;
  const Shape& shape = shape_of(x);
  const auto rank = std::int64_t(shape.size());
  std::int64_t axis = node.get_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  const std::int64_t inner = std::accumulate(shape.begin() + axis, shape.end(), std::int64_t{1}, std::multiplies<>());
  const std::int64_t outer = shape_size(shape) / std::max<std::int64_t>(inner, 1);
  if (std::int64_t(scale->size()) != inner || (bias && std::int64_t(bias->size()) != inner)) return false;
  const auto desc = plain_desc({outer, inner});
  auto flags = dnnl::normalization_flags::use_scale;
  if (bias) flags |= dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, desc, float(node.get_float("epsilon", 1e-5)), flags}, attr_with(),
      cpu_engine());
  BufferRef src = plain_ref(x);
  src.desc = desc;
  define_arena(y, plain_desc(shape));
  BufferRef dst = current_ref(y);
  dst.desc = desc;
  std::vector<std::pair<int, BufferRef>> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  const auto vec = plain_desc({inner});
  args.emplace_back(DNNL_ARG_SCALE, BufferRef{BufferRef::Kind::constant, constant_memory(*scale, vec, vec), vec});
  if (bias)
    args.emplace_back(DNNL_ARG_SHIFT, BufferRef{BufferRef::Kind::constant, constant_memory(*bias, vec, vec), vec});
  push_primitive("layer_normalization " + node_label(n) + " [" + pd.impl_info_str() + "]",
                 dnnl::layer_normalization_forward(pd), std::move(args), pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_batch_norm(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  if (node.inputs.size() != 5 || node.get_int("training_mode", 0) != 0) return false;
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return false;
  const std::string& x = node.input(0);
  const std::string& y = node.outputs[0];
  if (!is_f32_static(x) || !is_f32_static(y) || shape_of(x).size() < 2) return false;
  const std::int64_t channels = shape_of(x)[1];
  const auto vec = plain_desc({channels});
  std::vector<std::pair<int, BufferRef>> params;
  const int arg_ids[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
  for (int k = 0; k < 4; ++k) {
    const Tensor* t = constant_of(node.input(std::size_t(k) + 1));
    if (!t || t->element_type() != ElementType::f32 || std::int64_t(t->size()) != channels) return false;
  }
  const auto src_desc = current_desc(x);
  PostOps fused = collect_post_ops(y, false);
  dnnl::batch_normalization_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, src_desc, float(node.get_float("epsilon", 1e-5)),
       dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
           dnnl::normalization_flags::use_shift},
      attr_with(&fused.ops), cpu_engine());
  for (int k = 0; k < 4; ++k)
    params.emplace_back(arg_ids[k], BufferRef{BufferRef::Kind::constant,
                                              constant_memory(*constant_of(node.input(std::size_t(k) + 1)), vec, vec), vec});
  params.emplace_back(DNNL_ARG_SRC, ref_as(x, pd.src_desc()));
  finish_fused(fused, y);
  params.emplace_back(DNNL_ARG_DST, define_arena(fused.output, pd.dst_desc()));
  push_primitive("batch_normalization " + node_label(n) + fused.labels + " [" + pd.impl_info_str() + "]",
                 dnnl::batch_normalization_forward(pd), std::move(params), pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_view(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return false;  // Dropout's mask
  if (!is_f32_static(x) || !is_f32_static(y) || shape_size(shape_of(x)) != shape_size(shape_of(y))) return false;
  if (value(x).buffer < 0) return false;  // plain tensors (inputs, fallback results): the reference copies
  // Plain in the data type the value already has (bf16 activations stay bf16).
  const dt type = value(x).desc.data_type();
  const BufferRef plain = ref_as(x, plain_desc(shape_of(x), type));
  Value& out = value(y);
  out.buffer = plain.index;
  out.desc = plain_desc(shape_of(y), type);
  out.view = true;
  return true;
}

std::vector<std::int64_t> ProgramBuilder::transpose_perm(const ir::Node& node, std::size_t rank) const {
  std::vector<std::int64_t> perm = node.get_ints("perm");
  if (perm.empty())
    for (std::size_t i = rank; i-- > 0;) perm.push_back(std::int64_t(i));
  std::vector<bool> seen(rank, false);
  if (perm.size() != rank) return {};
  for (auto& p : perm) {
    if (p < 0) p += std::int64_t(rank);
    if (p < 0 || p >= std::int64_t(rank) || seen[std::size_t(p)]) return {};
    seen[std::size_t(p)] = true;
  }
  return perm;
}

dnnl::memory::desc ProgramBuilder::permuted_desc(const Shape& in, const std::vector<std::int64_t>& perm, dt type) {
  // Output strides, expressed per input dimension: element in[i...] lives where out[perm...] does.
  Shape out(in.size());
  for (std::size_t j = 0; j < perm.size(); ++j) out[j] = in[std::size_t(perm[j])];
  dnnl::memory::dims out_strides(out.size(), 1);
  for (std::size_t i = out.size(); i-- > 1;) out_strides[i - 1] = out_strides[i] * out[i];
  dnnl::memory::dims strides(in.size(), 0);
  for (std::size_t j = 0; j < perm.size(); ++j) strides[std::size_t(perm[j])] = out_strides[j];
  return dnnl::memory::desc(dnnl::memory::dims(in.begin(), in.end()), type, strides);
}

dnnl::memory::desc ProgramBuilder::transposed_dst(int t, const Shape& shape, dt type) {
  const ir::Node& node = graph_.nodes[std::size_t(t)];
  const auto perm = transpose_perm(node, shape.size());
  Shape out(shape.size());
  for (std::size_t j = 0; j < perm.size(); ++j) out[j] = shape[std::size_t(perm[j])];
  Value& z = values_[node.outputs.at(0)];
  z.type = ElementType::f32;
  z.shape = out;
  define_arena(node.outputs[0], plain_desc(out, type));
  fused_[std::size_t(t)] = true;
  return permuted_desc(shape, perm, type);
}

bool ProgramBuilder::lower_transpose(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  if (!is_f32_static(x) || !is_f32_static(y)) return false;
  const Shape& in = shape_of(x);
  const Shape& out = shape_of(y);
  if (in.empty()) return false;
  const std::vector<std::int64_t> perm = transpose_perm(node, in.size());
  if (perm.empty()) return false;
  const Value& v = value(x);
  const dt act = bf16() ? dt::bf16 : dt::f32;
  // Read only by matmuls of two activations (attention's q, k, v): a view through permuted
  // strides that the matmuls read directly, no copy.
  bool matmuls_only = !is_output_.count(y) && consumers_.count(y);
  if (matmuls_only)
    for (int c : consumers_.at(y)) {
      const ir::Node& consumer = graph_.nodes[std::size_t(c)];
      matmuls_only = matmuls_only && consumer.op_type == "MatMul" && consumer.inputs.size() == 2 &&
                     !constant_of(consumer.input(0)) && !constant_of(consumer.input(1));
    }
  if (matmuls_only && v.buffer >= 0 && v.desc == plain_desc(in, act)) {
    // y[j...] = x[perm...]: y's dims with the strides x's layout gives them.
    const dnnl::memory::desc x_plain = plain_desc(in, act);
    dnnl::memory::dims strides(out.size());
    for (std::size_t j = 0; j < perm.size(); ++j) strides[j] = x_plain.data.format_desc.blocking.strides[perm[j]];
    Value& t = value(y);
    t.buffer = v.buffer;
    t.desc = dnnl::memory::desc(dnnl::memory::dims(out.begin(), out.end()), act, strides);
    t.view = true;
    t.transposed = true;
    return true;
  }
  // A copy through permuted strides, converted on the way to what the matmuls read (bf16).
  const dt type = matmuls_only ? act : dt::f32;
  const BufferRef src = current_ref(x);
  define_arena(y, plain_desc(out, type));
  BufferRef dst = current_ref(y);
  dst.desc = permuted_desc(in, perm, type);
  dnnl::reorder::primitive_desc pd(cpu_engine(), src.desc, cpu_engine(), dst.desc, attr_with());
  push_primitive("transpose " + node_label(n) + " [" + pd.impl_info_str() + "]", dnnl::reorder(pd),
                 {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, pd.scratchpad_desc());
  return true;
}

}  // namespace autosched::cpu
