// builtin:bert_tiny — a 2-layer BERT encoder (hidden 128, 2 heads of 64,
// intermediate 512, post-LayerNorm as in BERT), written with plain ONNX ops
// the way exporters emit it:
//   attention: MatMul+Add projections, Reshape [1,128,2,64] / Transpose,
//              MatMul(Q, Kᵀ) / sqrt(64), Softmax(-1), MatMul(·, V), back to [1,128,128];
//   LayerNorm: ReduceMean, Sub, Pow(2), ReduceMean, Add eps, Sqrt, Div, Mul γ, Add β;
//   Gelu:      x · 0.5 · (1 + Erf(x / sqrt(2))).
//   input "input" [1,128,128] f32 (token embeddings) → output "output" [1,128,128].
// ≈ 58.7 MMAC (≈ 0.117 GFLOP). No attention mask (every token attends to all).
//
// Projection weights are N(0, 1/fan_in) (He-normal for the Gelu input
// projection), biases 0.01·N(0,1), LayerNorm γ ≈ 1, β ≈ 0.
#include <cmath>

#include "model/zoo/architectures.hpp"
#include "model/zoo/graph_builder.hpp"

namespace autosched::zoo {

namespace {
constexpr std::int64_t kSeq = 128;
constexpr std::int64_t kHidden = 128;
constexpr std::int64_t kHeads = 2;
constexpr std::int64_t kHeadDim = kHidden / kHeads;
constexpr std::int64_t kIntermediate = 512;
constexpr std::int64_t kLayers = 2;
constexpr float kLayerNormEps = 1e-12f;

using Ints = std::vector<std::int64_t>;

// Constants shared by every layer.
struct Constants {
  std::string two, eps, half, one, sqrt2, sqrt_head_dim, split_heads, merge_heads;
};

// y = x · W + b, W: [in, out].
std::string linear(GraphBuilder& b, const std::string& x, const std::string& prefix, std::int64_t in,
                   std::int64_t out, double stddev) {
  const std::string w = b.add_normal(prefix + ".weight", {in, out}, stddev);
  const std::string bias = b.add_normal(prefix + ".bias", {out}, 0.01);
  const std::string y = b.add_node("MatMul", {x, w}, {}, prefix + ".matmul");
  return b.add_node("Add", {y, bias}, {}, prefix + ".add");
}

// The final Add is named `node_name` (default "<prefix>.add").
std::string layer_norm(GraphBuilder& b, const Constants& k, const std::string& x, const std::string& prefix,
                       const std::string& node_name = {}) {
  const GraphBuilder::Attributes reduce_last{{"axes", Ints{-1}}, {"keepdims", std::int64_t{1}}};
  const std::string mean = b.add_node("ReduceMean", {x}, reduce_last, prefix + ".mean");
  const std::string centered = b.add_node("Sub", {x, mean}, {}, prefix + ".sub");
  const std::string square = b.add_node("Pow", {centered, k.two}, {}, prefix + ".pow");
  const std::string var = b.add_node("ReduceMean", {square}, reduce_last, prefix + ".var");
  const std::string var_eps = b.add_node("Add", {var, k.eps}, {}, prefix + ".add_eps");
  const std::string stddev = b.add_node("Sqrt", {var_eps}, {}, prefix + ".sqrt");
  const std::string normed = b.add_node("Div", {centered, stddev}, {}, prefix + ".div");
  const std::string gamma = b.add_normal(prefix + ".weight", {kHidden}, 0.05, 1.0);
  const std::string beta = b.add_normal(prefix + ".bias", {kHidden}, 0.01);
  const std::string scaled = b.add_node("Mul", {normed, gamma}, {}, prefix + ".mul");
  return b.add_node("Add", {scaled, beta}, {}, node_name.empty() ? prefix + ".add" : node_name);
}

std::string gelu(GraphBuilder& b, const Constants& k, const std::string& x, const std::string& prefix) {
  const std::string scaled = b.add_node("Div", {x, k.sqrt2}, {}, prefix + ".div");
  const std::string erf = b.add_node("Erf", {scaled}, {}, prefix + ".erf");
  const std::string one_plus = b.add_node("Add", {erf, k.one}, {}, prefix + ".add");
  const std::string half_x = b.add_node("Mul", {x, k.half}, {}, prefix + ".mul_half");
  return b.add_node("Mul", {half_x, one_plus}, {}, prefix + ".mul");
}

// [1,S,H] → [1,heads,S,head_dim] (or [1,heads,head_dim,S] when `transpose_last`).
std::string split_heads(GraphBuilder& b, const Constants& k, const std::string& x, const std::string& prefix,
                        bool transpose_last) {
  const std::string r = b.add_node("Reshape", {x, k.split_heads}, {}, prefix + ".reshape");
  const Ints perm = transpose_last ? Ints{0, 2, 3, 1} : Ints{0, 2, 1, 3};
  return b.add_node("Transpose", {r}, {{"perm", perm}}, prefix + ".transpose");
}

// `output_name` names the layer's last node (empty: the default name).
std::string encoder_layer(GraphBuilder& b, const Constants& k, const std::string& x, const std::string& prefix,
                          const std::string& output_name) {
  const double proj_std = 1.0 / std::sqrt(double(kHidden));
  const std::string a = prefix + ".attention";
  const std::string q = split_heads(b, k, linear(b, x, a + ".query", kHidden, kHidden, proj_std), a + ".q", false);
  const std::string kt = split_heads(b, k, linear(b, x, a + ".key", kHidden, kHidden, proj_std), a + ".k", true);
  const std::string v = split_heads(b, k, linear(b, x, a + ".value", kHidden, kHidden, proj_std), a + ".v", false);

  std::string scores = b.add_node("MatMul", {q, kt}, {}, a + ".scores");
  scores = b.add_node("Div", {scores, k.sqrt_head_dim}, {}, a + ".scale");
  const std::string probs = b.add_node("Softmax", {scores}, {{"axis", std::int64_t{-1}}}, a + ".softmax");
  std::string context = b.add_node("MatMul", {probs, v}, {}, a + ".context");
  context = b.add_node("Transpose", {context}, {{"perm", Ints{0, 2, 1, 3}}}, a + ".context.transpose");
  context = b.add_node("Reshape", {context, k.merge_heads}, {}, a + ".context.reshape");

  std::string attn_out = linear(b, context, a + ".output", kHidden, kHidden, proj_std);
  attn_out = b.add_node("Add", {attn_out, x}, {}, a + ".residual");
  attn_out = layer_norm(b, k, attn_out, a + ".layernorm");

  const std::string f = prefix + ".ffn";
  std::string h = linear(b, attn_out, f + ".intermediate", kHidden, kIntermediate, std::sqrt(2.0 / double(kHidden)));
  h = gelu(b, k, h, f + ".gelu");
  h = linear(b, h, f + ".output", kIntermediate, kHidden, 1.0 / std::sqrt(double(kIntermediate)));
  h = b.add_node("Add", {h, attn_out}, {}, f + ".residual");
  return layer_norm(b, k, h, f + ".layernorm", output_name);
}
}  // namespace

std::shared_ptr<ir::Graph> build_bert_tiny() {
  GraphBuilder b("bert_tiny", 0x62657274u);
  Constants k;
  k.two = b.add_scalar("const.two", 2.0f);
  k.eps = b.add_scalar("const.layernorm_eps", kLayerNormEps);
  k.half = b.add_scalar("const.half", 0.5f);
  k.one = b.add_scalar("const.one", 1.0f);
  k.sqrt2 = b.add_scalar("const.sqrt2", float(std::sqrt(2.0)));
  k.sqrt_head_dim = b.add_scalar("const.sqrt_head_dim", float(std::sqrt(double(kHeadDim))));
  k.split_heads = b.add_i64("const.split_heads_shape", {1, kSeq, kHeads, kHeadDim});
  k.merge_heads = b.add_i64("const.merge_heads_shape", {1, kSeq, kHidden});

  std::string x = b.add_input("input", {1, kSeq, kHidden});
  for (std::int64_t i = 0; i < kLayers; ++i)
    x = encoder_layer(b, k, x, "layer" + std::to_string(i), i + 1 == kLayers ? "output" : "");
  b.add_output(x);
  return b.finish();
}

}  // namespace autosched::zoo
