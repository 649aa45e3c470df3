// Sub-graph patterns that exporters emit for ops ONNX opset 17 lacks or
// spells out, recognised and run as one oneDNN primitive:
//   * LayerNorm written as ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt,
//     Div (, Mul gamma, Add beta) → layer_normalization;
//   * Gelu written as x · 0.5 · (1 + Erf(x / √2)) → eltwise gelu_erf (also as
//     a post-op of the producing matmul / convolution).
#include <cmath>

#include "devices/cpu/program_builder.hpp"

namespace autosched::cpu {

namespace {

std::optional<float> scalar_value(const Tensor* t) {
  if (!t || t->element_type() != ElementType::f32 || t->size() != 1) return std::nullopt;
  return t->data<float>()[0];
}

bool reduces_last_axis(const ir::Node& node, std::size_t rank) {
  if (node.op_type != "ReduceMean" || node.inputs.size() != 1 || node.get_int("keepdims", 1) != 1) return false;
  const auto axes = node.get_ints("axes");
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == std::int64_t(rank) - 1);
}

}  // namespace

// The only consumer of `value` with op type `op` when `value` has exactly `count` consumers.
const ir::Node* ProgramBuilder::consumer_op(const std::string& value, const std::string& op, std::size_t count,
                                            int* index) const {
  if (is_output_.count(value)) return nullptr;
  auto it = consumers_.find(value);
  if (it == consumers_.end() || it->second.size() != count) return nullptr;
  for (int c : it->second) {
    if (fused_[std::size_t(c)]) return nullptr;
    const ir::Node& node = graph_.nodes[std::size_t(c)];
    if (node.op_type == op) {
      if (index) *index = c;
      return &node;
    }
  }
  return nullptr;
}

// The other operand of a two-input node, given one of them.
static const std::string& other_input(const ir::Node& node, const std::string& one) {
  return node.input(0) == one ? node.input(1) : node.input(0);
}

std::optional<ProgramBuilder::Pattern> ProgramBuilder::match_gelu(const std::string& x) const {
  Pattern p;
  int i_div = -1, i_half = -1, i_erf = -1, i_add = -1, i_mul = -1;
  const ir::Node* div = consumer_op(x, "Div", 2, &i_div);
  const ir::Node* half = consumer_op(x, "Mul", 2, &i_half);
  if (!div || !half || div->inputs.size() != 2 || div->input(0) != x) return std::nullopt;
  const auto c = scalar_value(constant_of(div->input(1)));
  const auto h = scalar_value(constant_of(other_input(*half, x)));
  if (!c || std::abs(*c - std::sqrt(2.f)) > 1e-3f || !h || *h != 0.5f) return std::nullopt;
  const ir::Node* erf = consumer_op(div->outputs[0], "Erf", 1, &i_erf);
  if (!erf) return std::nullopt;
  const ir::Node* add = consumer_op(erf->outputs[0], "Add", 1, &i_add);
  if (!add || scalar_value(constant_of(other_input(*add, erf->outputs[0]))) != 1.f) return std::nullopt;
  const ir::Node* mul = consumer_op(add->outputs[0], "Mul", 1, &i_mul);
  int i_mul2 = -1;
  if (!mul || other_input(*mul, add->outputs[0]) != half->outputs[0] ||
      !consumer_op(half->outputs[0], "Mul", 1, &i_mul2) || i_mul2 != i_mul)
    return std::nullopt;
  p.nodes = {i_div, i_erf, i_add, i_half, i_mul};
  p.output = mul->outputs[0];
  return p;
}

std::optional<ProgramBuilder::Pattern> ProgramBuilder::match_layer_norm(int n, float& eps, const Tensor*& gamma,
                                                                        const Tensor*& beta) const {
  const ir::Node& mean = graph_.nodes[std::size_t(n)];
  const std::string& x = mean.input(0);
  if (!is_f32_static(x) || !reduces_last_axis(mean, shape_of(x).size())) return std::nullopt;
  int i_sub = -1, i_pow = -1, i_var = -1, i_eps = -1, i_sqrt = -1, i_div = -1;
  const ir::Node* sub = consumer_op(mean.outputs[0], "Sub", 1, &i_sub);
  if (!sub || sub->input(0) != x || sub->input(1) != mean.outputs[0]) return std::nullopt;
  const std::string& d = sub->outputs[0];
  const ir::Node* pow = consumer_op(d, "Pow", 2, &i_pow);
  const ir::Node* div = consumer_op(d, "Div", 2, &i_div);
  if (!pow || !div || pow->input(0) != d || scalar_value(constant_of(pow->input(1))) != 2.f || div->input(0) != d)
    return std::nullopt;
  const ir::Node* var = consumer_op(pow->outputs[0], "ReduceMean", 1, &i_var);
  if (!var || !reduces_last_axis(*var, shape_of(x).size())) return std::nullopt;
  const ir::Node* add = consumer_op(var->outputs[0], "Add", 1, &i_eps);
  const auto e = add ? scalar_value(constant_of(other_input(*add, var->outputs[0]))) : std::nullopt;
  if (!e) return std::nullopt;
  const ir::Node* sqrt = consumer_op(add->outputs[0], "Sqrt", 1, &i_sqrt);
  if (!sqrt || div->input(1) != sqrt->outputs[0]) return std::nullopt;
  Pattern p;
  p.nodes = {n, i_sub, i_pow, i_var, i_eps, i_sqrt, i_div};
  p.output = div->outputs[0];
  eps = *e;
  gamma = beta = nullptr;
  const std::int64_t width = shape_of(x).back();
  auto per_column = [&](const Tensor* t) {
    return t && t->element_type() == ElementType::f32 && std::int64_t(t->size()) == width && t->shape().back() == width;
  };
  int i_mul = -1, i_shift = -1;
  if (const ir::Node* mul = consumer_op(p.output, "Mul", 1, &i_mul); mul && per_column(constant_of(other_input(*mul, p.output)))) {
    gamma = constant_of(other_input(*mul, p.output));
    p.nodes.push_back(i_mul);
    p.output = mul->outputs[0];
    if (const ir::Node* shift = consumer_op(p.output, "Add", 1, &i_shift);
        shift && per_column(constant_of(other_input(*shift, p.output)))) {
      beta = constant_of(other_input(*shift, p.output));
      p.nodes.push_back(i_shift);
      p.output = shift->outputs[0];
    }
  }
  return p;
}

bool ProgramBuilder::lower_layer_norm_pattern(int n) {
  float eps = 0;
  const Tensor* gamma = nullptr;
  const Tensor* beta = nullptr;
  auto p = match_layer_norm(n, eps, gamma, beta);
  if (!p) return false;
  const std::string& x = graph_.nodes[std::size_t(n)].input(0);
  const Shape shape = shape_of(x);
  const std::int64_t inner = shape.back();
  const std::int64_t outer = shape_size(shape) / std::max<std::int64_t>(inner, 1);
  const auto desc = plain_desc({outer, inner});
  auto flags = dnnl::normalization_flags::none;
  if (gamma) flags |= dnnl::normalization_flags::use_scale;
  if (beta) flags |= dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, desc, eps, flags},
                                                       attr_with(), cpu_engine());
  std::string labels;
  for (int i : p->nodes) {
    fused_[std::size_t(i)] = true;
    if (i != n) labels.append("+").append(node_label(i));
  }
  BufferRef src = plain_ref(x);
  src.desc = desc;
  Value& out = values_[p->output];
  out.type = ElementType::f32;
  out.shape = shape;
  define_arena(p->output, plain_desc(shape));
  BufferRef dst = current_ref(p->output);
  dst.desc = desc;
  std::vector<std::pair<int, BufferRef>> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  const auto vec = plain_desc({inner});
  if (gamma) args.emplace_back(DNNL_ARG_SCALE, BufferRef{BufferRef::Kind::constant, constant_memory(*gamma, vec, vec), vec});
  if (beta) args.emplace_back(DNNL_ARG_SHIFT, BufferRef{BufferRef::Kind::constant, constant_memory(*beta, vec, vec), vec});
  push_primitive("layer_normalization " + node_label(n) + labels + " [" + pd.impl_info_str() + "]",
                 dnnl::layer_normalization_forward(pd), std::move(args), pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_gelu_pattern(int n) {
  const ir::Node& div = graph_.nodes[std::size_t(n)];
  if (div.inputs.size() != 2) return false;
  const std::string& x = div.input(0);
  if (!is_f32_static(x)) return false;
  auto p = match_gelu(x);
  if (!p || p->nodes.front() != n) return false;
  for (int i : p->nodes)
    if (i < n) return false;  // part of it already ran on its own
  const auto src_desc = current_desc(x);
  dnnl::eltwise_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_gelu_erf, src_desc, 0.f, 0.f}, attr_with(),
      cpu_engine());
  std::string labels;
  for (int i : p->nodes) {
    fused_[std::size_t(i)] = true;
    if (i != n) labels.append("+").append(node_label(i));
  }
  Value& out = values_[p->output];
  out.type = ElementType::f32;
  out.shape = shape_of(x);
  const BufferRef src = ref_as(x, pd.src_desc());
  const BufferRef dst = define_arena(p->output, pd.dst_desc());
  push_primitive("eltwise gelu_erf " + node_label(n) + labels + " [" + pd.impl_info_str() + "]",
                 dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return true;
}

}  // namespace autosched::cpu
