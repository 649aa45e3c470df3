// builtin:resnet50 — ResNet-50 in the torchvision layout (v1.5: the bottleneck
// stride sits on the 3x3 conv; the projection shortcut is conv1x1 + BN).
//   input "input" [1,3,224,224] f32 → output "output" [1,1000] logits (no softmax).
// Convs and the fc: ≈ 4.09 GMAC (≈ 8.2 GFLOP at 2 flops per multiply-add).
//
// Weights are He-normal; BN has mean 0 / var 1 and gamma ≈ 1, except the last
// BN of every bottleneck whose gamma is ≈ 0.2 (the "zero-init residual" trick,
// softened), which keeps activations O(1) through the 16 residual blocks.
#include "model/zoo/architectures.hpp"
#include "model/zoo/graph_builder.hpp"

namespace autosched::zoo {

namespace {
constexpr float kResidualGamma = 0.2f;
constexpr std::int64_t kExpansion = 4;

std::string bottleneck(GraphBuilder& b, const std::string& x, const std::string& prefix, std::int64_t in_channels,
                       std::int64_t width, std::int64_t stride) {
  const std::int64_t out_channels = width * kExpansion;
  std::string y = b.conv_bn(x, prefix + ".1", in_channels, width, 1, 1, 1, Activation::relu);
  y = b.conv_bn(y, prefix + ".2", width, width, 3, stride, 1, Activation::relu);
  y = b.conv_bn(y, prefix + ".3", width, out_channels, 1, 1, 1, Activation::none, kResidualGamma);
  std::string shortcut = x;
  if (stride != 1 || in_channels != out_channels)
    shortcut = b.conv_bn(x, prefix + ".downsample", in_channels, out_channels, 1, stride, 1, Activation::none);
  const std::string sum = b.add_node("Add", {y, shortcut}, {}, prefix + ".add");
  return b.add_node("Relu", {sum}, {}, prefix + ".relu");
}
}  // namespace

std::shared_ptr<ir::Graph> build_resnet50() {
  GraphBuilder b("resnet50", 0x7265736eu);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.conv_bn(x, "stem", 3, 64, 7, 2, 1, Activation::relu);
  x = b.add_node("MaxPool", {x},
                 {{"kernel_shape", std::vector<std::int64_t>{3, 3}},
                  {"strides", std::vector<std::int64_t>{2, 2}},
                  {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}},
                 "stem.maxpool");

  struct Stage {
    std::int64_t width, blocks, stride;
  };
  constexpr Stage kStages[] = {{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}};
  std::int64_t channels = 64;
  int stage_index = 1;
  for (const Stage& stage : kStages) {
    for (std::int64_t i = 0; i < stage.blocks; ++i) {
      const std::string prefix = "layer" + std::to_string(stage_index) + "." + std::to_string(i);
      x = bottleneck(b, x, prefix, channels, stage.width, i == 0 ? stage.stride : 1);
      channels = stage.width * kExpansion;
    }
    ++stage_index;
  }

  x = b.add_node("GlobalAveragePool", {x}, {}, "avgpool");
  x = b.add_node("Flatten", {x}, {{"axis", std::int64_t{1}}}, "flatten");
  b.add_output(b.gemm(x, "fc", channels, 1000, "output"));
  return b.finish();
}

}  // namespace autosched::zoo
