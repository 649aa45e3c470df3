// builtin:mobilenetv2 — MobileNetV2 1.0 @ 224 in the torchvision layout:
// inverted residual blocks (1x1 expand → 3x3 depthwise (group = channels) →
// 1x1 linear projection), BN after every conv, Relu6 written as Clip with
// constant min/max inputs 0 and 6.
//   input "input" [1,3,224,224] f32 → output "output" [1,1000] logits (no softmax).
// ≈ 300 MMAC (≈ 0.60 GFLOP).
//
// Weights are He-normal; BN has mean 0 / var 1 and gamma ≈ 1, except the
// projection BN of blocks with a residual connection (gamma ≈ 0.2), which
// keeps the residual stream from growing block after block.
#include "model/zoo/architectures.hpp"
#include "model/zoo/graph_builder.hpp"

namespace autosched::zoo {

namespace {
constexpr float kResidualGamma = 0.2f;

std::string inverted_residual(GraphBuilder& b, const std::string& x, const std::string& prefix,
                              std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride,
                              std::int64_t expansion) {
  const std::int64_t hidden = in_channels * expansion;
  const bool residual = stride == 1 && in_channels == out_channels;
  std::string y = x;
  if (expansion != 1) y = b.conv_bn(y, prefix + ".expand", in_channels, hidden, 1, 1, 1, Activation::relu6);
  y = b.conv_bn(y, prefix + ".depthwise", hidden, hidden, 3, stride, hidden, Activation::relu6);
  y = b.conv_bn(y, prefix + ".project", hidden, out_channels, 1, 1, 1, Activation::none,
                residual ? kResidualGamma : 1.0f);
  return residual ? b.add_node("Add", {x, y}, {}, prefix + ".add") : y;
}
}  // namespace

std::shared_ptr<ir::Graph> build_mobilenetv2() {
  GraphBuilder b("mobilenetv2", 0x6d6f6269u);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.conv_bn(x, "features.0", 3, 32, 3, 2, 1, Activation::relu6);

  struct Setting {
    std::int64_t expansion, channels, blocks, stride;
  };
  constexpr Setting kSettings[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                                   {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::int64_t channels = 32;
  int feature = 1;
  for (const Setting& s : kSettings) {
    for (std::int64_t i = 0; i < s.blocks; ++i, ++feature) {
      x = inverted_residual(b, x, "features." + std::to_string(feature), channels, s.channels,
                            i == 0 ? s.stride : 1, s.expansion);
      channels = s.channels;
    }
  }
  constexpr std::int64_t kLastChannels = 1280;
  x = b.conv_bn(x, "features." + std::to_string(feature), channels, kLastChannels, 1, 1, 1, Activation::relu6);

  x = b.add_node("GlobalAveragePool", {x}, {}, "avgpool");
  x = b.add_node("Flatten", {x}, {{"axis", std::int64_t{1}}}, "flatten");
  b.add_output(b.gemm(x, "classifier", kLastChannels, 1000, "output"));
  return b.finish();
}

}  // namespace autosched::zoo
