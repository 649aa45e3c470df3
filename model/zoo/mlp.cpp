// builtin:mlp — a 3-layer perceptron for MNIST-sized inputs.
//   input "input" [1,784] f32 → Gemm 784→1024 + Relu → Gemm 1024→1024 + Relu
//   → Gemm 1024→10 → Softmax(axis=-1) → output "output" [1,10] (probabilities).
// ≈ 1.86 MMAC (3.7 MFLOP).
#include "model/zoo/architectures.hpp"
#include "model/zoo/graph_builder.hpp"

namespace autosched::zoo {

std::shared_ptr<ir::Graph> build_mlp() {
  GraphBuilder b("mlp", 0x6d6c70u);
  std::string x = b.add_input("input", {1, 784});
  x = b.add_node("Relu", {b.gemm(x, "fc1", 784, 1024)}, {}, "relu1");
  x = b.add_node("Relu", {b.gemm(x, "fc2", 1024, 1024)}, {}, "relu2");
  x = b.gemm(x, "fc3", 1024, 10);
  b.add_output(b.add_node("Softmax", {x}, {{"axis", std::int64_t{-1}}}, "output"));
  return b.finish();
}

}  // namespace autosched::zoo
