// Convolution, GEMM and pooling of the OCL device. Conv with group 1 is
// im2col (skipped for 1x1/stride 1) + CLBlast GEMM + a bias/activation
// epilogue; grouped and depthwise Conv use a direct kernel. A following
// BatchNormalization is folded into the weights at compile time and a
// following Relu/Clip/LeakyRelu/Sigmoid is fused into the epilogue.
#include <algorithm>
#include <cmath>
#include <limits>

#include "devices/opencl/ocl_lowering.hpp"

namespace autosched::ocl {

namespace {

struct ConvGeometry {
  std::int64_t N, C, H, W, K, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, G;
};

// 1-D convolution/pooling is run as 2-D with H = 1.
Shape as_2d(const Shape& s) {
  if (s.size() == 3) return {s[0], s[1], 1, s[2]};
  return s;
}

// Begin pads from pads / auto_pad, given the known output size.
std::int64_t begin_pad(const ir::Node& node, std::size_t d, std::size_t spatial, std::int64_t in, std::int64_t out,
                       std::int64_t k, std::int64_t s, std::int64_t dil) {
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "VALID") return 0;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (k - 1) * dil + 1 - in);
    return auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  }
  const auto pads = node.get_ints("pads", std::vector<std::int64_t>(2 * spatial, 0));
  return pads.at(d);
}

ConvGeometry geometry(const ir::Node& node, const Shape& x4, const Shape& y4, std::int64_t kh, std::int64_t kw,
                      std::size_t spatial) {
  ConvGeometry g{};
  g.N = x4[0], g.C = x4[1], g.H = x4[2], g.W = x4[3];
  g.K = y4[1], g.OH = y4[2], g.OW = y4[3];
  g.KH = kh, g.KW = kw;
  const auto strides = node.get_ints("strides", std::vector<std::int64_t>(spatial, 1));
  const auto dil = node.get_ints("dilations", std::vector<std::int64_t>(spatial, 1));
  const std::size_t o = spatial == 1 ? 1 : 0;  // index shift for 1-D (H is the fake dim)
  g.SH = spatial == 1 ? 1 : strides[0];
  g.SW = strides[1 - o];
  g.DH = spatial == 1 ? 1 : dil[0];
  g.DW = dil[1 - o];
  g.PT = spatial == 1 ? 0 : begin_pad(node, 0, spatial, g.H, g.OH, g.KH, g.SH, g.DH);
  g.PL = begin_pad(node, 1 - o, spatial, g.W, g.OW, g.KW, g.SW, g.DW);
  g.G = node.get_int("group", 1);
  return g;
}

std::string check_spatial(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = require_f32(facts, node.input(0)); !why.empty()) return why;
  const auto rank = facts.shape(node.input(0)).size();
  if (rank != 3 && rank != 4) return "only 1-D and 2-D spatial inputs are supported";
  return {};
}

// A single-reader activation after `value` that the epilogue can apply.
struct FusedActivation {
  UnaryOp op = UnaryOp::identity;
  double p0 = 0, p1 = 0;
  const ir::Node* node = nullptr;
};

FusedActivation fusable_activation(const GraphFacts& facts, const std::string& value) {
  FusedActivation act;
  const ir::Node* next = facts.single_reader(value);
  if (!next || facts.is_folded(*next) || next->input(0) != value) return act;
  if (next->op_type == "Relu") act = {UnaryOp::relu, 0, 0, next};
  else if (next->op_type == "Sigmoid") act = {UnaryOp::sigmoid, 0, 0, next};
  else if (next->op_type == "LeakyRelu") act = {UnaryOp::leaky_relu, next->get_float("alpha", 0.01), 0, next};
  else if (next->op_type == "Clip") {
    double lo = next->get_float("min", -std::numeric_limits<float>::infinity());
    double hi = next->get_float("max", std::numeric_limits<float>::infinity());
    for (std::size_t i = 1; i < 3; ++i) {
      if (!next->has_input(i)) continue;
      const Tensor* t = facts.constant(next->input(i));
      if (!t || t->element_type() != ElementType::f32) return {};
      (i == 1 ? lo : hi) = *t->data<float>();
    }
    act = {UnaryOp::clip, lo, hi, next};
  }
  return act;
}

std::string check_conv(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = check_spatial(node, facts); !why.empty()) return why;
  if (auto why = require_constant(facts, node.input(1), "Conv weight"); !why.empty()) return why;
  if (node.has_input(2))
    if (auto why = require_constant(facts, node.input(2), "Conv bias"); !why.empty()) return why;
  if (facts.constant(node.input(1))->element_type() != ElementType::f32) return "weights must be f32";
  return {};
}

void lower_conv(Lowering& l, const ir::Node& node) {
  const auto& facts = l.facts();
  const Shape& xs = l.shape(node.input(0));
  const std::size_t spatial = xs.size() - 2;
  Tensor w = facts.constant(node.input(1))->clone();
  const Shape ws = as_2d(w.shape());
  std::string out = node.outputs[0];
  std::string label = "Conv " + node.name;
  const ConvGeometry g = geometry(node, as_2d(xs), as_2d(l.shape(out)), ws[2], ws[3], spatial);
  const std::int64_t cpg = g.C / g.G, kernel_size = cpg * g.KH * g.KW;

  Tensor bias(ElementType::f32, {g.K});
  bool has_bias = node.has_input(2);
  if (has_bias) std::copy_n(facts.constant(node.input(2))->data<float>(), g.K, bias.data<float>());

  // Fold a following inference BatchNormalization into weights and bias.
  if (const ir::Node* bn = facts.single_reader(out);
      bn && bn->op_type == "BatchNormalization" && bn->input(0) == out && !facts.is_folded(*bn) &&
      why_unsupported(*bn, facts).empty()) {
    const float* gamma = facts.constant(bn->input(1))->data<float>();
    const float* beta = facts.constant(bn->input(2))->data<float>();
    const float* mean = facts.constant(bn->input(3))->data<float>();
    const float* var = facts.constant(bn->input(4))->data<float>();
    const double eps = bn->get_float("epsilon", 1e-5);
    for (std::int64_t k = 0; k < g.K; ++k) {
      const double s = double(gamma[k]) / std::sqrt(double(var[k]) + eps);
      float* wk = w.data<float>() + k * kernel_size;
      for (std::int64_t i = 0; i < kernel_size; ++i) wk[i] = float(double(wk[i]) * s);
      bias.data<float>()[k] = float((double(bias.data<float>()[k]) - double(mean[k])) * s + double(beta[k]));
    }
    has_bias = true;
    l.mark_fused(*bn);
    out = bn->outputs[0];
    label += "+" + bn->name;
  }
  const FusedActivation act = fusable_activation(facts, out);
  if (act.node) {
    l.mark_fused(*act.node);
    out = act.node->outputs[0];
    label += "+" + act.node->name;
  }

  const ValueRef x = l.value(node.input(0));
  const ValueRef weights = l.upload(w);
  const ValueRef bias_ref = l.upload(bias);
  const ValueRef y = l.define(out);
  const std::size_t out_size = std::size_t(g.N * g.K * g.OH * g.OW);
  if (g.G != 1) {
    const int m = l.meta({g.N, g.C, g.H, g.W, g.K, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.G});
    l.launch(label + " [direct]", KernelId::conv2d_direct, out_size,
             {arg(x), arg(weights), arg(bias_ref), arg(y), arg(meta_buffer()), arg_i(m), arg_i(has_bias ? 1 : 0),
              arg_i(int(act.op)), arg_f(act.p0), arg_f(act.p1)});
    return;
  }
  const bool pointwise = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
                         g.OH == g.H && g.OW == g.W;
  const std::int64_t hw = g.OH * g.OW;
  const int m = l.meta({g.C, g.H, g.W, g.KH, g.KW, g.OH, g.OW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW});
  const ValueRef col = pointwise ? x : l.scratch(std::size_t(kernel_size * hw) * sizeof(float));
  for (std::int64_t n = 0; n < g.N; ++n) {
    if (!pointwise)
      l.launch(label + " [im2col]", KernelId::im2col, std::size_t(kernel_size * hw),
               {arg(x), arg_i(n * g.C * g.H * g.W), arg(col), arg(meta_buffer()), arg_i(m)});
    GemmCall call;
    call.m = std::size_t(g.K), call.n = std::size_t(hw), call.k = std::size_t(kernel_size);
    call.lda = call.k, call.ldb = call.n, call.ldc = call.n;
    call.a = weights, call.b = col, call.c = y;
    call.b_offsets = {pointwise ? std::size_t(n * g.C * hw) : 0};
    call.c_offsets = {std::size_t(n * g.K * hw)};
    l.gemm(label + " [gemm]", call);
  }
  if (has_bias || act.node)
    l.launch(label + " [epilogue]", KernelId::channel_affine, out_size,
             {arg(y), arg(y), arg(bias_ref), arg(bias_ref), arg_i(g.K), arg_i(hw), arg_i(0), arg_i(int(act.op)),
              arg_f(act.p0), arg_f(act.p1)});
}

std::string check_pool(const ir::Node& node, const GraphFacts& facts) {
  if (auto why = check_spatial(node, facts); !why.empty()) return why;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return "the Indices output is not supported";
  if (node.op_type == "AveragePool" && node.get_int("ceil_mode", 0) != 0)
    return "AveragePool with ceil_mode=1 is not supported";
  if (node.get_int("storage_order", 0) != 0) return "storage_order=1 is not supported";
  return {};
}

void lower_pool(Lowering& l, const ir::Node& node) {
  const Shape& xs = l.shape(node.input(0));
  const std::size_t spatial = xs.size() - 2;
  const auto kernel = node.get_ints("kernel_shape");
  const std::int64_t kh = spatial == 1 ? 1 : kernel.at(0), kw = kernel.at(spatial - 1);
  const ConvGeometry g = geometry(node, as_2d(xs), as_2d(l.shape(node.outputs[0])), kh, kw, spatial);
  const int mode = node.op_type == "MaxPool" ? 0 : (node.get_int("count_include_pad", 0) != 0 ? 2 : 1);
  const int m = l.meta({g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW});
  const ValueRef x = l.value(node.input(0));
  const ValueRef y = l.define(node.outputs[0]);
  l.launch(node.op_type + " " + node.name, KernelId::pool2d, std::size_t(g.N * g.C * g.OH * g.OW),
           {arg(x), arg(y), arg(meta_buffer()), arg_i(m), arg_i(mode)});
}

std::string check_gemm(const ir::Node& node, const GraphFacts& facts) {
  for (std::size_t i = 0; i < node.inputs.size(); ++i)
    if (node.has_input(i))
      if (auto why = require_f32(facts, node.input(i)); !why.empty()) return why;
  if (node.op_type == "Gemm") return {};
  if (facts.shape(node.input(0)).empty() || facts.shape(node.input(1)).empty()) return "MatMul of a scalar";
  return {};
}

// Gemm: Y = alpha·op(A)·op(B) + beta·C with C broadcast to [M, N] first.
void lower_gemm(Lowering& l, const ir::Node& node) {
  const Shape& as = l.shape(node.input(0));
  const Shape& bs = l.shape(node.input(1));
  const bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
  GemmCall call;
  call.trans_a = ta, call.trans_b = tb;
  call.m = std::size_t(ta ? as[1] : as[0]), call.k = std::size_t(ta ? as[0] : as[1]);
  call.n = std::size_t(tb ? bs[0] : bs[1]);
  call.lda = std::size_t(as[1]), call.ldb = std::size_t(bs[1]), call.ldc = call.n;
  call.alpha = float(node.get_float("alpha", 1.0));
  call.a = l.value(node.input(0)), call.b = l.value(node.input(1));
  const ValueRef y = l.define(node.outputs[0]);
  call.c = y;
  if (node.has_input(2) && node.get_float("beta", 1.0) != 0.0) {
    call.beta = float(node.get_float("beta", 1.0));
    const Shape& cs = l.shape(node.input(2));
    const Shape out = {std::int64_t(call.m), std::int64_t(call.n)};
    std::vector<std::int64_t> dims = out;
    std::vector<std::int64_t> src(2, 0);
    const std::size_t off = 2 - cs.size();
    const auto own = contiguous_strides(cs);
    for (std::size_t i = 0; i < cs.size(); ++i) src[off + i] = cs[i] == 1 ? 0 : own[i];
    std::vector<std::vector<std::int64_t>> strides = {src, contiguous_strides(out)};
    coalesce(dims, strides);
    std::vector<std::int64_t> meta = dims;
    for (const auto& s : strides) meta.insert(meta.end(), s.begin(), s.end());
    l.launch("Gemm " + node.name + " [bias]", KernelId::strided_copy, call.m * call.n,
             {arg(l.value(node.input(2))), arg_i(0), arg(y), arg_i(0), arg(meta_buffer()), arg_i(l.meta(meta)),
              arg_i(std::int64_t(dims.size()))});
  }
  l.gemm("Gemm " + node.name, call);
}

// MatMul with numpy semantics: batch dimensions broadcast; a 2-D B (weights)
// folds A's batch into M so one GEMM does it all.
void lower_matmul(Lowering& l, const ir::Node& node) {
  Shape as = l.shape(node.input(0)), bs = l.shape(node.input(1));
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const std::size_t M = std::size_t(as[as.size() - 2]), K = std::size_t(as.back()), N = std::size_t(bs.back());
  GemmCall call;
  call.m = M, call.n = N, call.k = K, call.lda = K, call.ldb = N, call.ldc = N;
  call.a = l.value(node.input(0)), call.b = l.value(node.input(1));
  call.c = l.define(node.outputs[0]);
  if (bs.size() == 2) {
    call.m = M * std::size_t(product(as, 0, as.size() - 2));
  } else {
    const std::size_t rank = std::max(as.size(), bs.size());
    Shape batch(rank - 2, 1), ab(rank - 2, 1), bb(rank - 2, 1);
    for (std::size_t i = 0; i + 2 < as.size(); ++i) ab[rank - as.size() + i] = as[i];
    for (std::size_t i = 0; i + 2 < bs.size(); ++i) bb[rank - bs.size() + i] = bs[i];
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = std::max(ab[i], bb[i]);
    const auto a_st = contiguous_strides(ab), b_st = contiguous_strides(bb);
    const std::int64_t count = shape_size(batch);
    call.a_offsets.clear(), call.b_offsets.clear(), call.c_offsets.clear();
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t rem = i, ai = 0, bi = 0;
      for (std::size_t d = batch.size(); d-- > 0;) {
        const std::int64_t c = rem % batch[d];
        rem /= batch[d];
        if (ab[d] != 1) ai += c * a_st[d];
        if (bb[d] != 1) bi += c * b_st[d];
      }
      call.a_offsets.push_back(std::size_t(ai) * M * K);
      call.b_offsets.push_back(std::size_t(bi) * K * N);
      call.c_offsets.push_back(std::size_t(i) * M * N);
    }
  }
  l.gemm("MatMul " + node.name, std::move(call));
}

}  // namespace

bool may_use_blas(const ir::Graph& graph) {
  for (const auto& node : graph.nodes) {
    const bool blas = node.op_type == "Gemm" || node.op_type == "MatMul" ||
                      (node.op_type == "Conv" && node.get_int("group", 1) == 1);
    if (blas && !std::all_of(node.inputs.begin(), node.inputs.end(),
                             [&](const std::string& v) { return v.empty() || graph.is_constant(v); }))
      return true;
  }
  return false;
}

void add_nn_lowerings(LoweringTable& table) {
  table["Conv"] = {check_conv, lower_conv};
  table["MaxPool"] = {check_pool, lower_pool};
  table["AveragePool"] = {check_pool, lower_pool};
  table["Gemm"] = {check_gemm, lower_gemm};
  table["MatMul"] = {check_gemm, lower_matmul};
}

}  // namespace autosched::ocl
