#include "devices/cpu/batching.hpp"

#include <cstdio>
#include <map>
#include <set>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::cpu {

namespace {

// Ops that compute each sample of dimension 0 from the same sample of their batched inputs
// (given the attribute checks in axis_blocker and the shape rule in batch_blocker).
const std::set<std::string>& sample_wise_ops() {
  static const std::set<std::string> ops = {
      // element-wise (constants broadcast from [1, ...] or lower rank)
      "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal", "Less", "Greater",
      "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "Relu", "LeakyRelu", "PRelu", "Sigmoid",
      "HardSigmoid", "HardSwish", "Tanh", "Clip", "Exp", "Log", "Sqrt", "Erf", "Neg", "Abs", "Reciprocal", "Elu",
      "Selu", "Softplus", "Softsign", "Floor", "Ceil", "Round", "Sign", "Mish", "Sin", "Cos", "Cast",
      "Identity", "Dropout", "IsNaN", "IsInf",
      // per-sample spatial ops
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
      "BatchNormalization", "InstanceNormalization", "Resize", "Pad", "DepthToSpace", "SpaceToDepth",
      // dense and shape ops, with the checks below
      "Gemm", "MatMul", "Softmax", "LogSoftmax", "Hardmax", "LayerNormalization", "Reshape",
      "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Expand", "Tile",
      "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
      "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin", "TopK", "CumSum", "Shape"};
  return ops;
}

std::int64_t rank_of(const ir::Graph& g, const std::string& value) {
  const auto& shape = g.value_info(value).shape;
  return shape.rank_known() ? std::int64_t(shape.rank()) : -1;
}

bool is_axis_zero(std::int64_t axis, std::int64_t rank) { return axis == 0 || (rank > 0 && axis == -rank); }

// Axes from the "axes" attribute or from a constant input (opset 13+/18+); nullopt when neither is given.
std::optional<std::vector<std::int64_t>> axes_of(const ir::Graph& g, const ir::Node& node, std::size_t input) {
  if (node.has("axes")) return node.get_ints("axes");
  if (!node.has_input(input)) return std::nullopt;
  auto it = g.initializers.find(node.input(input));
  if (it == g.initializers.end()) return std::nullopt;
  std::vector<std::int64_t> axes;
  for (std::size_t i = 0; i < it->second.size(); ++i) axes.push_back(it->second.data<std::int64_t>()[i]);
  return axes;
}

// Why `node`, reading batched value(s) `batched` (by input index), would mix samples; "" when it does not.
std::string axis_blocker(const ir::Graph& g, const ir::Node& node, const std::vector<bool>& batched) {
  const std::string& op = node.op_type;
  const std::int64_t rank = node.inputs.empty() || node.input(0).empty() ? -1 : rank_of(g, node.input(0));
  auto on_axis_zero = [&](std::int64_t axis) { return is_axis_zero(axis, rank); };
  auto batched_input = [&](std::size_t i) { return i < batched.size() && batched[i]; };
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    const std::int64_t axis = node.get_int("axis", g.opset >= 13 ? -1 : 1);
    // Before opset 13 the input is coerced to 2-D at `axis`: axis 0 normalizes everything.
    if (on_axis_zero(axis)) return "normalizes over axis 0";
  } else if (op == "LayerNormalization" || op == "Concat" || op == "Split" || op == "ArgMax" || op == "ArgMin" ||
             op == "TopK" || op == "Flatten") {
    const std::int64_t fallback = op == "LayerNormalization" || op == "TopK" ? -1
                                  : op == "Flatten"                                                     ? 1
                                                                                                        : 0;
    if (on_axis_zero(node.get_int("axis", fallback))) return "works along axis 0";
  } else if (op == "Gather") {
    if (batched_input(0) && on_axis_zero(node.get_int("axis", 0))) return "gathers along axis 0 of batched data";
  } else if (op == "CumSum") {
    auto it = g.initializers.find(node.input(1));
    if (it == g.initializers.end() || on_axis_zero(it->second.data<std::int64_t>()[0]))
      return "accumulates along axis 0 (or along an axis computed at run time)";
  } else if (op == "Transpose") {
    const auto perm = node.get_ints("perm");
    if (perm.empty() || perm[0] != 0) return "moves axis 0";
  } else if (op.rfind("Reduce", 0) == 0 || op == "Slice") {
    const auto axes = axes_of(g, node, op == "Slice" ? 3 : 1);
    if (!axes) return "works on every axis, axis 0 included (no constant axes)";
    for (auto a : *axes)
      if (on_axis_zero(a)) return "works along axis 0";
  } else if (op == "Gemm") {
    if (batched_input(0) && node.get_int("transA", 0) != 0) return "transposes its batched operand A";
    if (batched_input(1) || batched_input(2)) return "multiplies by a batched operand B or C";
  } else if (op == "MatMul") {
    if (batched_input(1) && rank_of(g, node.input(1)) < 3) return "multiplies by a batched 2-D operand B";
  }
  return "";
}

}  // namespace

std::optional<std::string> batch_blocker(const Model& model) {
  const ir::Graph& g = model.graph();
  std::map<std::string, PartialShape> stacked;
  for (const auto& port : g.inputs) {
    if (!port.shape.is_static()) return "input '" + port.name + "' has a dynamic shape " + port.shape.to_string();
    if (port.shape.rank() == 0 || port.shape[0].length != 1)
      return "input '" + port.name + "' has shape " + port.shape.to_string() + ", not [1, ...]";
    auto shape = port.shape.to_shape();
    shape[0] = 2;
    stacked[port.name] = PartialShape(shape);
  }
  if (g.inputs.empty()) return "the model has no inputs";
  Model two;
  try {
    two = model.reshape(stacked);
  } catch (const Error& e) {
    return std::string("the graph does not take 2 samples along dimension 0: ") + e.what();
  }
  const ir::Graph& g2 = two.graph();
  std::set<std::string> batched;  // values computed from the inputs
  std::set<std::string> shaped;   // values computed from a Shape of them (they hold the batch size)
  for (const auto& port : g.inputs) batched.insert(port.name);
  for (const auto& node : g.nodes) {
    std::vector<bool> reads(node.inputs.size(), false);
    bool any = false, reads_shape = false;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      if (!node.inputs[i].empty() && batched.count(node.inputs[i])) reads[i] = any = true;
      if (!node.inputs[i].empty() && shaped.count(node.inputs[i])) reads_shape = true;
    }
    const std::string where = node.op_type + " node '" + node.name + "'";
    if (reads_shape) {  // even as a Reshape target: graph shape inference cannot check what it gives
      if (any) return where + " computes with the batch size (a value derived from a Shape)";
      for (const auto& out : node.outputs) shaped.insert(out);  // shape arithmetic: Gather, Concat, ...
      continue;
    }
    if (!any) continue;
    if (!sample_wise_ops().count(node.op_type)) return where + " is not known to keep samples apart";
    if (auto why = axis_blocker(g, node, reads); !why.empty()) return where + " " + why;
    if (node.op_type == "MaxPool" && node.outputs.size() > 1 && !node.outputs[1].empty())
      return where + " returns indices into the whole batch";
    // Broadcasting aligns trailing dimensions: batched operands of different ranks would put one's
    // samples along another's dimension 1 (a [2,3] + [2,2,3] has a valid shape and mixes them).
    std::int64_t batched_rank = -1;
    for (std::size_t i = 0; i < reads.size(); ++i) {
      if (!reads[i]) continue;
      const std::int64_t rank = rank_of(g, node.inputs[i]);
      if (batched_rank >= 0 && rank != batched_rank)
        return where + " combines inputs computed from the model inputs with different ranks (" +
               std::to_string(batched_rank) + " and " + std::to_string(rank) + ")";
      batched_rank = rank;
    }
    if (node.op_type == "Shape") {  // holds the batch size: nothing batched may read what follows from it
      shaped.insert(node.outputs[0]);
      continue;
    }
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      const auto& one = g.value_info(out).shape;
      const auto& two_shape = g2.value_info(out).shape;
      PartialShape expected = one;
      if (one.rank_known() && one.rank() > 0 && one.is_static() && one[0].length == 1) {
        auto s = one.to_shape();
        s[0] = 2;
        expected = PartialShape(s);
      }
      if (!one.is_static() || expected == one || !(two_shape == expected))
        return where + " gives '" + out + "' shape " + two_shape.to_string() + " for 2 samples and " +
               one.to_string() + " for 1: dimension 0 is not the batch";
      batched.insert(out);
    }
  }
  for (const auto& port : g.outputs)
    if (!batched.count(port.name)) return "output '" + port.name + "' is not computed from the inputs";
  return std::nullopt;
}

BatchChoice choose_batch(std::int64_t requested, PerformanceMode mode, const std::optional<std::string>& blocker,
                         std::size_t weight_bytes, std::size_t activation_bytes) {
  constexpr unsigned kMaxAutomatic = 32;
  if (requested == 1) return {1, "off: max_batch_size=1"};
  if (requested == 0 && mode != PerformanceMode::THROUGHPUT)
    return {1, "off: batching is automatic only with the THROUGHPUT hint (or set max_batch_size)"};
  if (blocker) return {1, "off: " + *blocker};
  if (requested > 1) return {unsigned(requested), "batch " + std::to_string(requested) + ": max_batch_size"};
  unsigned batch = 1;
  while (batch * 2 <= kMaxAutomatic && double(batch * 2) * double(activation_bytes) <= double(weight_bytes) / 2)
    batch *= 2;
  char figures[160];
  std::snprintf(figures, sizeof figures, "weights %.1f MiB, activations %.2f MiB per request",
                double(weight_bytes) / (1 << 20), double(activation_bytes) / (1 << 20));
  if (batch == 1) return {1, std::string("off: ") + figures + " (a batch of 2 would hold more than half the weights)"};
  return {batch, "batch " + std::to_string(batch) + ": " + figures +
                     " (the largest power of two up to 32 whose activations stay within half the weights)"};
}

}  // namespace autosched::cpu
