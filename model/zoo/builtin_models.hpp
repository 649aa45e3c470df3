#pragma once
// The builtin model zoo: architectures with fixed-seed random weights
// (He-normal conv/gemm weights, BN with unit variance), so every machine
// builds the same model bit for bit without downloading anything.
#include <memory>
#include <string>
#include <vector>

#include "autosched/plugin/graph.hpp"

namespace autosched::zoo {

// "mlp", "resnet50", "mobilenetv2", "bert_tiny"
std::vector<std::string> builtin_names();
// Builds and finalizes; throws Error(not_found) naming the valid builtins.
std::shared_ptr<ir::Graph> build(const std::string& name);

}  // namespace autosched::zoo
