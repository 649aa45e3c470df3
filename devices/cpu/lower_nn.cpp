// Lowering of the compute-heavy nodes: Conv (BatchNormalization folded into
// the weights at build time, element-wise and residual-Add consumers as
// post-ops), Gemm / MatMul with constant weights (inner product with
// pre-packed weights and fused bias), MatMul of two activations (matmul) and
// pooling. Weights and activations let oneDNN choose the layout
// (format_tag::any); weights are reordered once here, straight from the
// model's tensors (transposes and scales happen in the reorder, so compiling
// allocates no full-size copies of the weights).
#include <cmath>
#include <numeric>

#include "devices/cpu/program_builder.hpp"

namespace autosched::cpu {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;

namespace {

dims to_dims(const Shape& s) { return dims(s.begin(), s.end()); }

// Explicit begin/end pads of a windowed op (Conv / pooling) for ONNX auto_pad.
bool window_pads(const ir::Node& node, const Shape& in, const Shape& out, const std::vector<std::int64_t>& kernel,
                 const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations, dims& pad_l,
                 dims& pad_r) {
  const std::size_t spatial = kernel.size();
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  pad_l.assign(spatial, 0);
  pad_r.assign(spatial, 0);
  if (auto_pad == "NOTSET" || auto_pad.empty()) {
    const auto pads = node.get_ints("pads", std::vector<std::int64_t>(2 * spatial, 0));
    if (pads.size() != 2 * spatial) return false;
    for (std::size_t i = 0; i < spatial; ++i) pad_l[i] = pads[i], pad_r[i] = pads[i + spatial];
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (std::size_t i = 0; i < spatial; ++i) {
      const std::int64_t total =
          std::max<std::int64_t>(0, (out[i + 2] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in[i + 2]);
      pad_l[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pad_r[i] = total - pad_l[i];
    }
  } else if (auto_pad != "VALID") {
    return false;
  }
  return true;
}

const ir::Node* batch_norm_after(const ir::Graph& graph, int consumer) {
  if (consumer < 0) return nullptr;
  const ir::Node& bn = graph.nodes[std::size_t(consumer)];
  if (bn.op_type != "BatchNormalization" || bn.inputs.size() != 5 || bn.get_int("training_mode", 0) != 0)
    return nullptr;
  for (std::size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty()) return nullptr;
  return &bn;
}

}  // namespace

bool ProgramBuilder::lower_conv(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  const Tensor* w = constant_of(node.input(1));
  const Tensor* b = node.has_input(2) ? constant_of(node.input(2)) : nullptr;
  if (!is_f32_static(x) || !is_f32_static(y) || !w || w->element_type() != ElementType::f32) return false;
  if (node.has_input(2) && (!b || b->element_type() != ElementType::f32)) return false;
  const Shape& xs = shape_of(x);
  const Shape& ys = shape_of(y);
  const std::size_t spatial = xs.size() - 2;
  if (xs.size() < 3 || xs.size() > 5 || w->shape().size() != xs.size()) return false;
  const std::int64_t group = node.get_int("group", 1);
  const std::int64_t out_channels = w->shape()[0];
  if (group < 1 || out_channels % group != 0) return false;
  const std::vector<std::int64_t> kernel(w->shape().begin() + 2, w->shape().end());
  const auto strides = node.get_ints("strides", std::vector<std::int64_t>(spatial, 1));
  const auto dilations = node.get_ints("dilations", std::vector<std::int64_t>(spatial, 1));
  if (strides.size() != spatial || dilations.size() != spatial) return false;
  dims pad_l, pad_r;
  if (!window_pads(node, xs, ys, kernel, strides, dilations, pad_l, pad_r)) return false;

  // Bias in f32, with a following BatchNormalization folded in; the weights' per-channel BN scale is
  // applied by the reorder that packs them (no copy of the weights).
  std::vector<float> scales;  // empty: no BatchNormalization
  std::vector<float> bias(std::size_t(out_channels), 0.f);
  if (b) std::copy(b->data<float>(), b->data<float>() + b->size(), bias.begin());
  std::string produced = y;
  std::string labels;
  std::vector<int> bn_fused;
  const int consumer = single_consumer(y);
  if (const ir::Node* bn = batch_norm_after(graph_, consumer)) {
    const Tensor* p[4];
    bool ok = true;
    for (int k = 0; k < 4; ++k) {
      p[k] = constant_of(bn->input(std::size_t(k) + 1));
      ok = ok && p[k] && p[k]->element_type() == ElementType::f32 && std::int64_t(p[k]->size()) == out_channels;
    }
    if (ok) {
      const float eps = float(bn->get_float("epsilon", 1e-5));
      scales.resize(std::size_t(out_channels));
      for (std::int64_t o = 0; o < out_channels; ++o) {
        const float s = p[0]->data<float>()[o] / std::sqrt(p[3]->data<float>()[o] + eps);
        scales[std::size_t(o)] = s;
        bias[std::size_t(o)] = (bias[std::size_t(o)] - p[2]->data<float>()[o]) * s + p[1]->data<float>()[o];
      }
      bn_fused.push_back(consumer);
      fused_[std::size_t(consumer)] = true;  // so the post-op walk starts after it
      produced = bn->outputs[0];
      values_[produced].type = ElementType::f32;
      values_[produced].shape = ys;
      labels = "+" + node_label(consumer);
    }
  }
  PostOps fused = collect_post_ops(produced, true);

  // bf16: activations stay bf16 from convolution to convolution (no conversion per layer);
  // consumers that need f32 (softmax, layer norm, fallback, outputs) get a reorder.
  const dt act = bf16() ? dt::bf16 : dt::f32;
  dims wdims = to_dims(w->shape());
  if (group > 1) {
    wdims[0] = out_channels / group;
    wdims.insert(wdims.begin(), group);
  }
  dims dil(spatial);
  for (std::size_t i = 0; i < spatial; ++i) dil[i] = dilations[i] - 1;
  const dnnl::memory::desc bias_desc({out_channels}, dt::f32, tag::a);
  // f32 2-D activations with a multiple of 16 channels stay in oneDNN's 16-channel blocked layout:
  // with tag::any oneDNN picks channels-last brgemm kernels, which at batch 1 ran slower here
  // (side by side: resnet50 LATENCY p50 -10 %, THROUGHPUT +7 %; mobilenetv2 -3.5 % / +8 %), and
  // the Winograd kernels want the blocked layout anyway. bf16 keeps tag::any (AMX kernels).
  auto activation_tag = [&](std::int64_t channels) {
    return !bf16() && xs.size() == 4 && channels % 16 == 0 ? tag::nChw16c : tag::any;
  };
  auto describe = [&](dnnl::algorithm algorithm) {
    return dnnl::convolution_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, algorithm, dnnl::memory::desc(to_dims(xs), act, activation_tag(xs[1])),
         dnnl::memory::desc(wdims, act, tag::any), bias_desc, dnnl::memory::desc(to_dims(ys), act, activation_tag(ys[1])),
         to_dims(strides), dil, pad_l, pad_r},
        attr_with(&fused.ops), cpu_engine());
  };
  // Winograd's blocked layout differs from the direct kernels' (a reorder on each side), and a fused
  // residual could then no longer be overwritten in place: only convolutions without one.
  const bool winograd_shape = !bf16() && group == 1 && spatial == 2 && wdims[2] == 3 && wdims[3] == 3 &&
                              strides[0] == 1 && strides[1] == 1 && dilations[0] == 1 && dilations[1] == 1 &&
                              fused.sum_operand.empty();
  dnnl::convolution_forward::primitive_desc pd;
  auto algorithm = dnnl::algorithm::convolution_direct;
  try {
    if (winograd_shape && options_.convolution == ConvAlgorithm::automatic) {
      try {
        pd = describe(dnnl::algorithm::convolution_winograd);
        algorithm = dnnl::algorithm::convolution_winograd;
      } catch (const dnnl::error&) {
        // oneDNN has no Winograd kernel for this shape or ISA: direct below.
      }
    }
    if (algorithm == dnnl::algorithm::convolution_direct) pd = describe(algorithm);
  } catch (const dnnl::error&) {
    for (int c : bn_fused) fused_[std::size_t(c)] = false;
    return false;
  }
  // Output channels are dimension 0, or dimensions 0 and 1 (group, channel in group) when grouped:
  // either way the scale index is the channel's ONNX index.
  const auto weights_source = plain_desc(Shape(wdims.begin(), wdims.end()));
  const int scale_mask = group > 1 ? 0b11 : 0b1;
  prefer_pooled_weights(pd, [&] { return describe(algorithm); }, w->data(), weights_source, scales, scale_mask);
  const int wmem = constant_memory(w->data(), weights_source, pd.weights_desc(), scales, scale_mask);
  const int bmem = constant_memory(bias.data(), bias_desc, pd.bias_desc());
  std::vector<std::pair<int, BufferRef>> args = {
      {DNNL_ARG_SRC, ref_as(x, pd.src_desc())},
      {DNNL_ARG_WEIGHTS, BufferRef{BufferRef::Kind::constant, wmem, pd.weights_desc()}},
      {DNNL_ARG_BIAS, BufferRef{BufferRef::Kind::constant, bmem, pd.bias_desc()}}};
  finish_fused(fused, produced);
  if (!fused.sum_operand.empty()) {
    // sum post-op: dst must hold the residual before the convolution runs.
    // In place when nothing reads the residual after this step (a ResNet block's input is read by the
    // block's first convolution, which ran before); otherwise a copy.
    const std::string& residual = fused.sum_operand;
    if (can_overwrite(residual, n, fused.nodes, pd.dst_desc())) {
      const Value& r = value(residual);
      Value& out = value(fused.output);
      out.buffer = r.buffer;
      out.desc = r.desc;
      args.emplace_back(DNNL_ARG_DST, BufferRef{BufferRef::Kind::arena, r.buffer, r.desc});
    } else {
      const BufferRef src = current_ref(residual);
      const BufferRef dst = define_arena(fused.output, pd.dst_desc());
      push_reorder(src, dst, residual + " (residual)");
      args.emplace_back(DNNL_ARG_DST, dst);
    }
  } else {
    args.emplace_back(DNNL_ARG_DST, define_arena(fused.output, pd.dst_desc()));
  }
  push_primitive("convolution " + node_label(n) + labels + fused.labels + " [" + pd.impl_info_str() + "]",
                 dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_dense(int n, const std::string& a, std::int64_t rows, std::int64_t k, std::int64_t cols,
                                 const Tensor& weights, const dnnl::memory::desc& weights_nk, float alpha,
                                 std::vector<float> bias, const std::string& out, const std::vector<int>& extra_fused,
                                 const std::string& extra_labels) {
  PostOps fused = collect_post_ops(out, true);
  const dt act = bf16() ? dt::bf16 : dt::f32;
  const dnnl::memory::desc bias_desc({cols}, dt::f32, tag::a);
  const auto dst_desc = plain_desc({rows, cols});
  auto describe = [&] {
    return dnnl::inner_product_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, dnnl::memory::desc({rows, k}, act, tag::any),
         dnnl::memory::desc({cols, k}, act, tag::any), bias_desc, dst_desc},
        attr_with(&fused.ops), cpu_engine());
  };
  dnnl::inner_product_forward::primitive_desc pd;
  try {
    pd = describe();
  } catch (const dnnl::error&) {
    for (int c : extra_fused) fused_[std::size_t(c)] = false;
    return false;
  }
  const auto weight_scales = alpha == 1.f ? std::vector<float>{} : std::vector<float>{alpha};
  prefer_pooled_weights(pd, describe, weights.data(), weights_nk, weight_scales, 0);
  const int wmem = constant_memory(weights.data(), weights_nk, pd.weights_desc(), weight_scales, 0);
  const int bmem = constant_memory(bias.data(), bias_desc, pd.bias_desc());
  // The source as its 2-D plain view [rows, k] in the primitive's data type (one conversion at
  // most), converted further when the primitive wants a blocked layout.
  BufferRef src = ref_as(a, plain_desc(shape_of(a), act));
  src.desc = plain_desc({rows, k}, act);
  if (pd.src_desc() != src.desc) {
    program_->buffers.push_back(ArenaBuffer{pd.src_desc().get_size(), 0, INT32_MAX, -1});
    const BufferRef converted{BufferRef::Kind::arena, int(program_->buffers.size() - 1), pd.src_desc()};
    push_reorder(src, converted, a);
    src = converted;
  }
  finish_fused(fused, out);
  const Shape out_shape = shape_of(out);
  BufferRef dst;
  if (!fused.sum_operand.empty() && can_overwrite(fused.sum_operand, n, fused.nodes, plain_desc(out_shape))) {
    const Value& r = value(fused.sum_operand);  // in place, as for convolutions
    Value& v = value(fused.output);
    v.buffer = r.buffer;
    v.desc = r.desc;
    dst = BufferRef{BufferRef::Kind::arena, r.buffer, r.desc};
  } else {
    dst = define_arena(fused.output, plain_desc(out_shape));
    if (!fused.sum_operand.empty()) push_reorder(current_ref(fused.sum_operand), dst, fused.sum_operand + " (residual)");
  }
  dst.desc = dst_desc;
  push_primitive("inner_product " + node_label(n) + extra_labels + fused.labels + " [" + pd.impl_info_str() + "]",
                 dnnl::inner_product_forward(pd),
                 {{DNNL_ARG_SRC, src},
                  {DNNL_ARG_WEIGHTS, BufferRef{BufferRef::Kind::constant, wmem, pd.weights_desc()}},
                  {DNNL_ARG_BIAS, BufferRef{BufferRef::Kind::constant, bmem, pd.bias_desc()}},
                  {DNNL_ARG_DST, dst}},
                 pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_gemm(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& a = node.input(0);
  const std::string& y = node.outputs.at(0);
  const Tensor* b = constant_of(node.input(1));
  const Tensor* c = node.has_input(2) ? constant_of(node.input(2)) : nullptr;
  if (!is_f32_static(a) || !is_f32_static(y) || !b || b->element_type() != ElementType::f32) return false;
  if (node.has_input(2) && (!c || c->element_type() != ElementType::f32)) return false;
  if (node.get_int("transA", 0) != 0 || shape_of(a).size() != 2 || b->shape().size() != 2) return false;
  const std::int64_t m = shape_of(a)[0], k = shape_of(a)[1], cols = shape_of(y)[1];
  const bool trans_b = node.get_int("transB", 0) != 0;
  const float alpha = float(node.get_float("alpha", 1.0)), beta = float(node.get_float("beta", 1.0));
  // B as [cols, k]: itself with transB, otherwise its transpose read through strides.
  const dnnl::memory::desc weights_nk({cols, k}, dt::f32, trans_b ? dims{k, 1} : dims{1, cols});
  std::vector<float> bias(std::size_t(cols), 0.f);
  if (c) {
    const Shape& cs = c->shape();
    const bool per_column = c->size() == 1 || (std::int64_t(c->size()) == cols && cs.back() == cols);
    if (!per_column) return false;  // a bias varying along rows: the reference handles it
    for (std::int64_t o = 0; o < cols; ++o) bias[std::size_t(o)] = beta * c->data<float>()[c->size() == 1 ? 0 : o];
  }
  return lower_dense(n, a, m, k, cols, *b, weights_nk, alpha, std::move(bias), y, {}, "");
}

bool ProgramBuilder::lower_matmul(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& a = node.input(0);
  const std::string& bn = node.input(1);
  const std::string& y = node.outputs.at(0);
  if (!is_f32_static(a) || !is_f32_static(bn) || !is_f32_static(y)) return false;
  const Shape& as = shape_of(a);
  const Shape& bs = shape_of(bn);
  const Shape& ys = shape_of(y);
  if (as.size() < 2 || bs.size() < 2) return false;
  const Tensor* b = constant_of(bn);
  if (b && bs.size() == 2) {  // activations x constant weights: inner product on [rows, k]
    const std::int64_t k = as.back(), cols = bs[1];
    const std::int64_t rows = shape_size(as) / std::max<std::int64_t>(k, 1);
    const dnnl::memory::desc weights_nk({cols, k}, dt::f32, dims{1, cols});  // B [k, cols] transposed
    // A following Add of a constant bias over the last axis becomes the primitive's bias.
    std::vector<float> bias(std::size_t(cols), 0.f);
    std::string out = y;
    std::vector<int> extra;
    std::string labels;
    const int consumer = single_consumer(y);
    if (consumer >= 0) {
      const ir::Node& add = graph_.nodes[std::size_t(consumer)];
      const std::string other = add.op_type == "Add" && add.inputs.size() == 2
                                    ? (add.input(0) == y ? add.input(1) : add.input(0)) : std::string();
      const Tensor* c = other.empty() ? nullptr : constant_of(other);
      if (c && c->element_type() == ElementType::f32 && std::int64_t(c->size()) == cols && c->shape().size() <= ys.size() &&
          c->shape().back() == cols && add.input(0) != add.input(1)) {
        std::copy(c->data<float>(), c->data<float>() + cols, bias.begin());
        extra.push_back(consumer);
        fused_[std::size_t(consumer)] = true;
        out = add.outputs[0];
        values_[out].type = ElementType::f32;
        values_[out].shape = ys;
        labels = "+" + node_label(consumer);
      }
    }
    return lower_dense(n, a, rows, k, cols, *b, weights_nk, 1.f, std::move(bias), out, extra, labels);
  }
  // Two activations (attention scores / context): batched matmul over plain layouts. A
  // transposed view (lower_transpose) is read through its strides, and an output read only by
  // a Transpose is written through permuted strides: attention needs no transpose steps.
  const std::size_t rank = ys.size();
  auto extend = [&](Shape s) {
    s.insert(s.begin(), rank - s.size(), 1);
    return s;
  };
  const Shape ae = extend(as), be = extend(bs);
  const dt act = bf16() ? dt::bf16 : dt::f32;
  bool strided = true;  // false: plain operands and output only
  auto operand_desc = [&](const std::string& name, const Shape& s) {
    const Value& v = value(name);
    if (strided && v.transposed && s.size() == rank && v.desc.data_type() == act) return v.desc;
    return plain_desc(extend(s), act);
  };
  PostOps fused = collect_post_ops(y, false);
  const int t = fused.nodes.empty() ? single_consumer(y) : -1;
  bool to_transpose = t >= 0 && !fused_[std::size_t(t)] && graph_.nodes[std::size_t(t)].op_type == "Transpose" &&
                      !transpose_perm(graph_.nodes[std::size_t(t)], rank).empty() &&
                      !is_output_.count(graph_.nodes[std::size_t(t)].outputs.at(0));
  auto make_pd = [&] {
    const dnnl::memory::desc dst_desc =
        to_transpose ? permuted_desc(ys, transpose_perm(graph_.nodes[std::size_t(t)], rank), dt::f32) : plain_desc(ys);
    return dnnl::matmul::primitive_desc({operand_desc(a, as), operand_desc(bn, bs), dst_desc}, attr_with(&fused.ops),
                                        cpu_engine());
  };
  dnnl::matmul::primitive_desc pd = make_pd();
  if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {  // strides oneDNN has no fast kernel for
    strided = to_transpose = false;
    pd = make_pd();
  }
  auto operand = [&](const std::string& name, const Shape& s, const dnnl::memory::desc& wanted) {
    const Value& v = value(name);
    if (strided && v.transposed && v.desc == wanted) return BufferRef{BufferRef::Kind::arena, v.buffer, wanted};
    BufferRef r = ref_as(name, plain_desc(s, act));
    r.desc = wanted;
    return r;
  };
  const BufferRef src = operand(a, as, pd.src_desc());
  const BufferRef wei = operand(bn, bs, pd.weights_desc());
  finish_fused(fused, y);
  BufferRef dst;
  std::string labels = fused.labels;
  if (to_transpose) {
    transposed_dst(t, ys, dt::f32);
    dst = current_ref(graph_.nodes[std::size_t(t)].outputs[0]);
    dst.desc = pd.dst_desc();
    labels.append("+").append(node_label(t));
  } else {
    dst = define_arena(fused.output, pd.dst_desc());
  }
  push_primitive("matmul " + node_label(n) + labels + " [" + pd.impl_info_str() + "]", dnnl::matmul(pd),
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return true;
}

bool ProgramBuilder::lower_pool(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  const std::string& x = node.input(0);
  const std::string& y = node.outputs.at(0);
  for (std::size_t k = 1; k < node.outputs.size(); ++k)
    if (!node.outputs[k].empty()) return false;  // MaxPool indices: reference
  if (!is_f32_static(x) || !is_f32_static(y)) return false;
  const Shape& xs = shape_of(x);
  const Shape& ys = shape_of(y);
  if (xs.size() < 3 || xs.size() > 5) return false;
  const std::size_t spatial = xs.size() - 2;
  const bool global = node.op_type.rfind("Global", 0) == 0;
  const bool max = node.op_type.find("Max") != std::string::npos;
  std::vector<std::int64_t> kernel(xs.begin() + 2, xs.end()), strides(spatial, 1);
  dims pad_l(spatial, 0), pad_r(spatial, 0);
  dnnl::algorithm alg = max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  if (!global) {
    kernel = node.get_ints("kernel_shape");
    strides = node.get_ints("strides", std::vector<std::int64_t>(spatial, 1));
    const auto dilations = node.get_ints("dilations", std::vector<std::int64_t>(spatial, 1));
    if (kernel.size() != spatial || strides.size() != spatial || node.get_int("storage_order", 0) != 0) return false;
    for (auto d : dilations)
      if (d != 1) return false;
    if (!window_pads(node, xs, ys, kernel, strides, dilations, pad_l, pad_r)) return false;
    const bool include_pad = !max && node.get_int("count_include_pad", 0) != 0;
    if (include_pad) alg = dnnl::algorithm::pooling_avg_include_padding;
    for (std::size_t i = 0; i < spatial; ++i) {
      // ceil_mode: the last window may hang over the end; extend the right pad to cover it.
      const std::int64_t needed = (ys[i + 2] - 1) * strides[i] + kernel[i] - xs[i + 2] - pad_l[i];
      if (needed > pad_r[i]) {
        if (include_pad) return false;
        pad_r[i] = needed;
      }
    }
  }
  const auto src_desc = current_desc(x);
  dnnl::pooling_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, alg, src_desc,
       dnnl::memory::desc(to_dims(ys), src_desc.data_type(), tag::any),
       to_dims(strides), to_dims(kernel), pad_l, pad_r},
      attr_with(), cpu_engine());
  const BufferRef src = ref_as(x, pd.src_desc());
  const BufferRef dst = define_arena(y, pd.dst_desc());
  push_primitive("pooling " + node_label(n) + " [" + pd.impl_info_str() + "]", dnnl::pooling_forward(pd),
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, pd.scratchpad_desc());
  return true;
}

}  // namespace autosched::cpu
