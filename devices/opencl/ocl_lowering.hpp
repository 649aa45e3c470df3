#pragma once
// Turns a graph into a Plan. Constant sub-graphs are folded with the
// reference kernels; every other node is lowered by the lowering registered
// for its op type (ocl_lower_*.cpp), which checks what it supports first.
// Not thread-safe; one Lowering per compile.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "autosched/plugin/graph.hpp"
#include "devices/opencl/ocl_plan.hpp"

namespace autosched::ocl {

// Read-only facts about the graph shared by the support checks and lowering.
class GraphFacts {
 public:
  // Folds constant sub-graphs (all inputs constant, op known to REF) and
  // static Shape/Size nodes.
  explicit GraphFacts(const ir::Graph& graph);
  const ir::Graph& graph() const { return graph_; }
  const Tensor* constant(const std::string& value) const;  // nullptr when not constant
  bool is_folded(const ir::Node& node) const { return folded_.count(node.name) != 0; }
  const ir::ValueInfo& info(const std::string& value) const { return graph_.value_info(value); }
  const Shape& shape(const std::string& value) const;  // static shape (checked by the support check)
  // Nodes reading `value` (graph outputs count as one extra reader).
  int readers(const std::string& value) const;
  // The only node reading `value`, or nullptr.
  const ir::Node* single_reader(const std::string& value) const;

 private:
  const ir::Graph& graph_;
  std::map<std::string, Tensor> constants_;
  std::set<std::string> folded_;
  std::map<std::string, std::vector<const ir::Node*>> readers_;
  std::set<std::string> graph_outputs_;
  mutable std::map<std::string, Shape> shapes_;
};

class Lowering;

struct OpLowering {
  // "" when the node can run on the device, else why not.
  std::function<std::string(const ir::Node&, const GraphFacts&)> check;
  std::function<void(Lowering&, const ir::Node&)> lower;
};
using LoweringTable = std::map<std::string, OpLowering>;
void add_elementwise_lowerings(LoweringTable& table);
void add_nn_lowerings(LoweringTable& table);
void add_movement_lowerings(LoweringTable& table);
const LoweringTable& lowering_table();

// Unsupported reason of one node ("" when it runs on the device).
std::string why_unsupported(const ir::Node& node, const GraphFacts& facts);
// Names of the nodes the device runs (folded constant nodes included).
std::set<std::string> supported_nodes(const ir::Graph& graph);
// Builds the plan; throws Error(unsupported) naming the first node it cannot run.
Plan lower_graph(const ir::Graph& graph);
// Whether the plan of `graph` may call CLBlast (Gemm, MatMul, Conv of one
// group, unless all their inputs are constant). Over-approximates; no lowering.
bool may_use_blas(const ir::Graph& graph);

// What op lowerings use to emit steps.
class Lowering {
 public:
  Lowering(const GraphFacts& facts, Plan& plan);
  const GraphFacts& facts() const { return facts_; }
  const Shape& shape(const std::string& value) const { return facts_.shape(value); }
  // The buffer of an existing value (uploads constants on first use).
  ValueRef value(const std::string& name);
  // A fresh pool value for node output `name` (f32, shape from the graph).
  ValueRef define(const std::string& name);
  // `name` is a view of `source` (Reshape, Squeeze, ...): same buffer.
  void alias(const std::string& name, const std::string& source);
  ValueRef upload(Tensor tensor);   // a new constant buffer
  ValueRef scratch(std::size_t bytes);  // the request's scratch buffer, grown to `bytes`
  int meta(const std::vector<std::int64_t>& ints);  // offset into the meta buffer
  void launch(const std::string& label, KernelId kernel, std::size_t global_size, std::vector<KernelArg> args);
  void gemm(const std::string& label, GemmCall call);
  void mark_fused(const ir::Node& node);  // the node's work is done by an earlier step
  bool is_fused(const ir::Node& node) const { return fused_.count(node.name) != 0; }

 private:
  const GraphFacts& facts_;
  Plan& plan_;
  std::map<std::string, ValueRef> values_;
  std::set<std::string> fused_;
};

// Kernel-argument shorthands.
inline KernelArg arg(ValueRef buffer) { return {KernelArg::Kind::buffer, buffer, 0, 0.0f}; }
inline KernelArg arg_i(std::int64_t v) { return {KernelArg::Kind::i32, {}, std::int32_t(v), 0.0f}; }
inline KernelArg arg_f(double v) { return {KernelArg::Kind::f32, {}, 0, float(v)}; }
inline ValueRef meta_buffer() { return {ValueRef::Kind::meta, 0}; }

// Merges adjacent dimensions that every operand walks contiguously (fewer
// index divisions in strided kernels). `strides[k]` is operand k's strides.
void coalesce(std::vector<std::int64_t>& dims, std::vector<std::vector<std::int64_t>>& strides);
std::vector<std::int64_t> contiguous_strides(const Shape& shape);
std::int64_t product(const Shape& shape, std::size_t begin, std::size_t end);
// Common support checks ("" when fine).
std::string require_f32(const GraphFacts& facts, const std::string& value);
std::string require_constant(const GraphFacts& facts, const std::string& value, const char* what);

}  // namespace autosched::ocl
