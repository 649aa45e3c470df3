// Element-wise, normalisation and reduction ops of the OCL device:
// unary activations, broadcasting binary ops, BatchNormalization (alone; after
// a Conv it is folded into the weights), Softmax/LogSoftmax,
// LayerNormalization, Reduce* and global pooling.
#include <cmath>
#include <limits>

#include "devices/opencl/ocl_lowering.hpp"

namespace autosched::ocl {

namespace {

std::string check_inputs_f32(const ir::Node& node, const GraphFacts& facts, std::size_t count) {
  for (std::size_t i = 0; i < count && i < node.inputs.size(); ++i)
    if (node.has_input(i))
      if (auto why = require_f32(facts, node.input(i)); !why.empty()) return why;
  return {};
}

struct UnaryDef {
  UnaryOp op;
  const char* p0_attr;
  double p0;
  const char* p1_attr;
  double p1;
};

const std::map<std::string, UnaryDef>& unary_ops() {
  static const std::map<std::string, UnaryDef> ops = {
      {"Relu", {UnaryOp::relu, nullptr, 0, nullptr, 0}},
      {"Sigmoid", {UnaryOp::sigmoid, nullptr, 0, nullptr, 0}},
      {"Tanh", {UnaryOp::tanh, nullptr, 0, nullptr, 0}},
      {"Erf", {UnaryOp::erf, nullptr, 0, nullptr, 0}},
      {"Sqrt", {UnaryOp::sqrt, nullptr, 0, nullptr, 0}},
      {"Exp", {UnaryOp::exp, nullptr, 0, nullptr, 0}},
      {"Log", {UnaryOp::log, nullptr, 0, nullptr, 0}},
      {"Abs", {UnaryOp::abs, nullptr, 0, nullptr, 0}},
      {"Neg", {UnaryOp::neg, nullptr, 0, nullptr, 0}},
      {"Reciprocal", {UnaryOp::reciprocal, nullptr, 0, nullptr, 0}},
      {"Floor", {UnaryOp::floor, nullptr, 0, nullptr, 0}},
      {"Ceil", {UnaryOp::ceil, nullptr, 0, nullptr, 0}},
      {"Sin", {UnaryOp::sin, nullptr, 0, nullptr, 0}},
      {"Cos", {UnaryOp::cos, nullptr, 0, nullptr, 0}},
      {"Sign", {UnaryOp::sign, nullptr, 0, nullptr, 0}},
      {"Softsign", {UnaryOp::softsign, nullptr, 0, nullptr, 0}},
      {"Softplus", {UnaryOp::softplus, nullptr, 0, nullptr, 0}},
      {"HardSwish", {UnaryOp::hard_swish, nullptr, 0, nullptr, 0}},
      {"LeakyRelu", {UnaryOp::leaky_relu, "alpha", 0.01, nullptr, 0}},
      {"HardSigmoid", {UnaryOp::hard_sigmoid, "alpha", 0.2, "beta", 0.5}},
      {"Elu", {UnaryOp::elu, "alpha", 1.0, nullptr, 0}},
      {"Selu", {UnaryOp::selu, "alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875}},
  };
  return ops;
}

// Clip bounds from inputs (opset >= 11) or attributes; both optional.
std::pair<double, double> clip_bounds(const ir::Node& node, const GraphFacts& facts) {
  double lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (node.has("min")) lo = node.get_float("min", lo);
  if (node.has("max")) hi = node.get_float("max", hi);
  if (node.has_input(1)) lo = *facts.constant(node.input(1))->data<float>();
  if (node.has_input(2)) hi = *facts.constant(node.input(2))->data<float>();
  return {lo, hi};
}

std::string check_clip(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = check_inputs_f32(node, facts, 3); !why.empty()) return why;
  for (std::size_t i = 1; i < 3; ++i)
    if (node.has_input(i))
      if (auto why = require_constant(facts, node.input(i), "Clip bound"); !why.empty()) return why;
  return {};
}

void lower_unary(Lowering& l, const ir::Node& node, UnaryOp op, double p0, double p1) {
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch(node.op_type + " " + node.name, KernelId::unary, std::size_t(shape_size(l.shape(node.outputs[0]))),
           {arg(x), arg(y), arg_i(int(op)), arg_f(p0), arg_f(p1)});
}

std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> st(out.size(), 0);
  const auto own = contiguous_strides(in);
  const std::size_t off = out.size() - in.size();
  for (std::size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : own[i];
  return st;
}

std::string check_binary(const ir::Node& node, const GraphFacts& facts) {
  if (node.inputs.size() != 2 && !(node.inputs.size() == 1 && node.op_type != "Pow" && node.op_type != "PRelu"))
    return "only 1 or 2 inputs are supported";
  return check_inputs_f32(node, facts, 2);
}

void lower_binary(Lowering& l, const ir::Node& node, BinaryOp op) {
  const std::string label = node.op_type + " " + node.name;
  if (node.inputs.size() == 1) {  // variadic Max/Min/Sum of one input: a copy
    lower_unary(l, node, UnaryOp::identity, 0, 0);
    return;
  }
  const Shape& out = l.shape(node.outputs[0]);
  std::vector<std::int64_t> dims(out.begin(), out.end());
  std::vector<std::vector<std::int64_t>> strides = {broadcast_strides(l.shape(node.input(0)), out),
                                                    broadcast_strides(l.shape(node.input(1)), out)};
  coalesce(dims, strides);
  std::vector<std::int64_t> meta = dims;
  for (const auto& s : strides) meta.insert(meta.end(), s.begin(), s.end());
  const ValueRef a = l.value(node.input(0)), b = l.value(node.input(1));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch(label, KernelId::binary, std::size_t(shape_size(out)),
           {arg(a), arg(b), arg(y), arg(meta_buffer()), arg_i(l.meta(meta)), arg_i(std::int64_t(dims.size())),
            arg_i(int(op))});
}

std::string check_batchnorm(const ir::Node& node, const GraphFacts& facts) {
  if (node.get_int("training_mode", 0) != 0) return "training_mode=1 is not supported";
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return "only the first output is supported";
  if (node.inputs.size() != 5) return "BatchNormalization needs 5 inputs";
  for (std::size_t i = 1; i < 5; ++i)
    if (auto why = require_constant(facts, node.input(i), "BatchNormalization parameter"); !why.empty()) return why;
  if (facts.shape(node.input(0)).size() < 2) return "input rank must be at least 2";
  return check_inputs_f32(node, facts, 5);
}

void lower_batchnorm(Lowering& l, const ir::Node& node) {
  const Shape& x = l.shape(node.input(0));
  const auto C = x[1];
  const auto& f = l.facts();
  const float* gamma = f.constant(node.input(1))->data<float>();
  const float* beta = f.constant(node.input(2))->data<float>();
  const float* mean = f.constant(node.input(3))->data<float>();
  const float* var = f.constant(node.input(4))->data<float>();
  const double eps = node.get_float("epsilon", 1e-5);
  Tensor scale(ElementType::f32, {C}), shift(ElementType::f32, {C});
  for (std::int64_t c = 0; c < C; ++c) {
    const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
    scale.data<float>()[c] = float(s);
    shift.data<float>()[c] = float(double(beta[c]) - double(mean[c]) * s);
  }
  const ValueRef in = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch("BatchNormalization " + node.name, KernelId::channel_affine, std::size_t(shape_size(x)),
           {arg(in), arg(y), arg(l.upload(scale)), arg(l.upload(shift)), arg_i(C), arg_i(product(x, 2, x.size())),
            arg_i(1), arg_i(int(UnaryOp::identity)), arg_f(0), arg_f(0)});
}

void lower_softmax(Lowering& l, const ir::Node& node) {
  const Shape& x = l.shape(node.input(0));
  const auto rank = std::int64_t(x.size());
  const bool legacy = l.facts().graph().opset < 13;
  std::int64_t axis = node.get_int("axis", legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  const auto a = std::size_t(std::clamp<std::int64_t>(axis, 0, std::max<std::int64_t>(rank - 1, 0)));
  const std::int64_t outer = product(x, 0, a);
  const std::int64_t len = legacy ? product(x, a, x.size()) : (x.empty() ? 1 : x[a]);
  const std::int64_t inner = legacy ? 1 : product(x, a + 1, x.size());
  const ValueRef in = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch(node.op_type + " " + node.name, KernelId::softmax, std::size_t(outer * inner),
           {arg(in), arg(y), arg_i(len), arg_i(inner), arg_i(node.op_type == "LogSoftmax" ? 1 : 0)});
}

// Reduction axes (sorted, normalised) or "" + reason when not contiguous.
std::pair<std::vector<std::int64_t>, std::string> reduce_axes(const ir::Node& node, const GraphFacts& facts) {
  const auto rank = std::int64_t(facts.shape(node.input(0)).size());
  std::vector<std::int64_t> axes = node.get_ints("axes", {});
  if (node.has_input(1)) {
    const Tensor* t = facts.constant(node.input(1));
    if (!t) return {{}, "reduction axes must be a constant"};
    axes.assign(t->data<std::int64_t>(), t->data<std::int64_t>() + t->size());
  }
  if (axes.empty()) {
    if (node.get_int("noop_with_empty_axes", 0) != 0) return {{}, {}};
    for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (auto& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  for (std::size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1) return {{}, "only contiguous reduction axes are supported"};
  return {axes, {}};
}

const std::map<std::string, ReduceOp>& reduce_ops() {
  static const std::map<std::string, ReduceOp> ops = {
      {"ReduceSum", ReduceOp::sum},       {"ReduceMean", ReduceOp::mean},
      {"ReduceMax", ReduceOp::max},       {"ReduceMin", ReduceOp::min},
      {"ReduceProd", ReduceOp::prod},     {"ReduceSumSquare", ReduceOp::sum_square},
      {"ReduceL1", ReduceOp::l1},         {"ReduceL2", ReduceOp::l2},
      {"ReduceLogSum", ReduceOp::log_sum}, {"ReduceLogSumExp", ReduceOp::log_sum_exp},
      {"GlobalAveragePool", ReduceOp::mean}, {"GlobalMaxPool", ReduceOp::max},
  };
  return ops;
}

void lower_reduce(Lowering& l, const ir::Node& node) {
  const Shape& x = l.shape(node.input(0));
  std::size_t first = 2, last = x.size();  // global pooling: every spatial dimension
  if (node.op_type.rfind("Reduce", 0) == 0) {
    const auto axes = reduce_axes(node, l.facts()).first;
    if (axes.empty()) {  // noop_with_empty_axes
      lower_unary(l, node, UnaryOp::identity, 0, 0);
      return;
    }
    first = std::size_t(axes.front());
    last = std::size_t(axes.back()) + 1;
  }
  const std::int64_t outer = product(x, 0, first), red = product(x, first, last), inner = product(x, last, x.size());
  const ValueRef in = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch(node.op_type + " " + node.name, KernelId::reduce, std::size_t(outer * inner),
           {arg(in), arg(y), arg_i(red), arg_i(inner), arg_i(int(reduce_ops().at(node.op_type)))});
}

std::string check_layer_norm(const ir::Node& node, const GraphFacts& facts) {
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return "the Mean / InvStdDev outputs are not supported";
  if (auto why = check_inputs_f32(node, facts, 3); !why.empty()) return why;
  const Shape& x = facts.shape(node.input(0));
  std::int64_t axis = node.get_int("axis", -1);
  if (axis < 0) axis += std::int64_t(x.size());
  const std::int64_t len = product(x, std::size_t(axis), x.size());
  for (std::size_t i = 1; i < 3; ++i)
    if (node.has_input(i) && shape_size(facts.shape(node.input(i))) != len)
      return "scale and bias must have the normalised shape (no broadcasting)";
  return {};
}

void lower_layer_norm(Lowering& l, const ir::Node& node) {
  const Shape& x = l.shape(node.input(0));
  std::int64_t axis = node.get_int("axis", -1);
  if (axis < 0) axis += std::int64_t(x.size());
  const std::int64_t len = product(x, std::size_t(axis), x.size());
  const ValueRef in = l.value(node.input(0)), scale = l.value(node.input(1));
  const ValueRef bias = node.has_input(2) ? l.value(node.input(2)) : scale;
  const ValueRef y = l.define(node.outputs[0]);
  l.launch("LayerNormalization " + node.name, KernelId::layer_norm, std::size_t(product(x, 0, std::size_t(axis))),
           {arg(in), arg(scale), arg(bias), arg(y), arg_i(len), arg_f(node.get_float("epsilon", 1e-5)),
            arg_i(node.has_input(2) ? 1 : 0)});
}

}  // namespace

void add_elementwise_lowerings(LoweringTable& table) {
  for (const auto& [name, def] : unary_ops()) {
    const UnaryDef d = def;
    table[name] = {[](const ir::Node& node, const GraphFacts& facts) { return check_inputs_f32(node, facts, 1); },
                   [d](Lowering& l, const ir::Node& node) {
                     lower_unary(l, node, d.op, d.p0_attr ? node.get_float(d.p0_attr, d.p0) : d.p0,
                                 d.p1_attr ? node.get_float(d.p1_attr, d.p1) : d.p1);
                   }};
  }
  table["Clip"] = {check_clip, [](Lowering& l, const ir::Node& node) {
                     const auto [lo, hi] = clip_bounds(node, l.facts());
                     lower_unary(l, node, UnaryOp::clip, lo, hi);
                   }};
  const std::pair<const char*, BinaryOp> binary[] = {
      {"Add", BinaryOp::add}, {"Sub", BinaryOp::sub}, {"Mul", BinaryOp::mul}, {"Div", BinaryOp::div},
      {"Pow", BinaryOp::pow}, {"Max", BinaryOp::max}, {"Min", BinaryOp::min}, {"Sum", BinaryOp::add},
      {"PRelu", BinaryOp::prelu}};
  for (const auto& [name, op] : binary) {
    const BinaryOp o = op;
    table[name] = {check_binary, [o](Lowering& l, const ir::Node& node) { lower_binary(l, node, o); }};
  }
  table["BatchNormalization"] = {check_batchnorm, lower_batchnorm};
  const auto check_softmax = [](const ir::Node& node, const GraphFacts& facts) {
    return check_inputs_f32(node, facts, 1);
  };
  table["Softmax"] = {check_softmax, lower_softmax};
  table["LogSoftmax"] = {check_softmax, lower_softmax};
  for (const auto& [name, op] : reduce_ops()) {
    (void)op;
    table[name] = {[](const ir::Node& node, const GraphFacts& facts) {
                     if (auto why = check_inputs_f32(node, facts, 1); !why.empty()) return why;
                     if (node.op_type.rfind("Global", 0) == 0)
                       return facts.shape(node.input(0)).size() < 3 ? std::string("input rank must be >= 3")
                                                                     : std::string();
                     return reduce_axes(node, facts).second;
                   },
                   lower_reduce};
  }
  table["LayerNormalization"] = {check_layer_norm, lower_layer_norm};
}

}  // namespace autosched::ocl
