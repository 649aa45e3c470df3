#pragma once
// The reference operator set: for every supported op, shape/type inference
// and an exact evaluation on concrete tensors. This is the numerical oracle
// every device is checked against, so kernels are plain loops (f32 math
// accumulating in f64 where sums are long), written for clarity, not speed;
// tbb::parallel_for over the outer loop is fine where it keeps results exact.
//
// Ops register themselves with AUTOSCHED_REGISTER_OP from their .cpp file.
#include <functional>
#include <string>
#include <vector>

#include "autosched/plugin/graph.hpp"

namespace autosched::reference {

// Shape/type inference for one node. `inputs[i]` describes node input i
// (element_type undefined for an absent optional input); `constants[i]` is the
// value when input i is a constant (initializer) or nullptr. Returns one
// ValueInfo per node output (dynamic dims where unknown). Throws Error
// (invalid_argument) naming the node when inputs are inconsistent.
using InferFn = std::function<std::vector<ir::ValueInfo>(
    const ir::Node& node, const std::vector<ir::ValueInfo>& inputs,
    const std::vector<const Tensor*>& constants)>;

// Evaluates one node. `inputs[i]` is node input i (empty Tensor when absent).
// Returns one tensor per node output (owning, freshly allocated). Throws Error.
using EvaluateFn = std::function<std::vector<Tensor>(const ir::Node& node,
                                                     const std::vector<Tensor>& inputs)>;

struct OpDefinition {
  std::string op_type;
  InferFn infer;
  EvaluateFn evaluate;
};

bool register_op(OpDefinition def);
// nullptr when the op is not supported.
const OpDefinition* find_op(const std::string& op_type);
bool is_supported(const std::string& op_type);
std::vector<std::string> supported_ops();  // sorted

// Infers every node output; throws Error(unsupported) naming op, node and
// opset when the op is unknown.
std::vector<ir::ValueInfo> infer_node(const ir::Node& node, const std::vector<ir::ValueInfo>& inputs,
                                      const std::vector<const Tensor*>& constants, std::int64_t opset);
std::vector<Tensor> evaluate_node(const ir::Node& node, const std::vector<Tensor>& inputs);

}  // namespace autosched::reference

#define AUTOSCHED_OP_CONCAT_INNER(a, b) a##b
#define AUTOSCHED_OP_CONCAT(a, b) AUTOSCHED_OP_CONCAT_INNER(a, b)
#define AUTOSCHED_REGISTER_OP(...)                                                   \
  [[maybe_unused]] static const bool AUTOSCHED_OP_CONCAT(autosched_op_registered_, __LINE__) = \
      ::autosched::reference::register_op(__VA_ARGS__)
