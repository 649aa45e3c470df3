// Whole-graph execution with the reference kernels (the numerical oracle).
#include "model/reference/graph_executor.hpp"

#include <algorithm>
#include <new>
#include <unordered_map>

#include "autosched/error.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {

GraphExecutor::GraphExecutor(std::shared_ptr<const ir::Graph> graph) : graph_(std::move(graph)) {
  if (!graph_) throw Error(ErrorCode::invalid_argument, "GraphExecutor needs a graph, got a null pointer");
  const auto& nodes = graph_->nodes;
  // Last node that reads each intermediate value; values nobody reads are
  // released right after the node that produced them. Graph outputs are kept.
  std::unordered_map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& out : nodes[i].outputs)
      if (!out.empty()) last[out] = i;
    for (const auto& in : nodes[i].inputs)
      if (!in.empty()) last[in] = i;
  }
  for (const auto& out : graph_->outputs) last.erase(out.name);
  for (const auto& in : graph_->inputs) last.erase(in.name);  // held by the caller anyway
  for (const auto& [name, t] : graph_->initializers) last.erase(name);  // owned by the graph
  release_after_.assign(nodes.size(), {});
  for (const auto& [value, node] : last) release_after_[node].push_back(value);
  last_use_.clear();
  for (std::size_t i = 0; i < nodes.size(); ++i) last_use_.push_back(release_after_[i].size());
}

void GraphExecutor::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                        const std::atomic<bool>* cancel) const {
  const ir::Graph& g = *graph_;
  if (inputs.size() != g.inputs.size())
    throw Error(ErrorCode::invalid_argument, "graph '" + g.name + "' takes " + std::to_string(g.inputs.size()) +
                                                 " inputs, got " + std::to_string(inputs.size()));
  std::unordered_map<std::string, Tensor> env;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const PortInfo& port = g.inputs[i];
    const Tensor& t = inputs[i];
    if (t.empty()) throw Error(ErrorCode::invalid_argument, "input '" + port.name + "' is an empty tensor");
    if (t.element_type() != port.element_type)
      throw Error(ErrorCode::invalid_argument, "input '" + port.name + "' holds " + to_string(t.element_type()) +
                                                   ", the model expects " + to_string(port.element_type));
    if (!port.shape.compatible(t.shape()))
      throw Error(ErrorCode::invalid_argument, "input '" + port.name + "' has shape " + to_string(t.shape()) +
                                                   ", the model expects " + port.shape.to_string());
    env[port.name] = t;
  }
  auto lookup = [&](const std::string& value) -> const Tensor& {
    if (auto it = env.find(value); it != env.end()) return it->second;
    if (auto it = g.initializers.find(value); it != g.initializers.end()) return it->second;
    throw Error(ErrorCode::internal, "value '" + value + "' was released or never computed");
  };

  std::vector<Tensor> args;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      throw Error(ErrorCode::cancelled, "inference of graph '" + g.name + "' was cancelled");
    const ir::Node& node = g.nodes[k];
    args.assign(node.inputs.size(), Tensor());
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty()) args[i] = lookup(node.inputs[i]);
    std::vector<Tensor> results;
    try {
      results = evaluate_node(node, args);
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::resource_exhausted, node.op_type + " node '" + node.name + "': out of memory");
    } catch (const std::exception& e) {  // keep the one-exception-type promise of the API
      throw Error(ErrorCode::internal, node.op_type + " node '" + node.name + "' failed: " + e.what());
    }
    args.clear();
    for (std::size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      if (i >= results.size() || results[i].empty())
        throw Error(ErrorCode::internal, node.op_type + " node '" + node.name + "' did not produce output '" +
                                             node.outputs[i] + "'");
      env[node.outputs[i]] = std::move(results[i]);
    }
    for (const auto& value : release_after_[k]) env.erase(value);
  }

  outputs.resize(g.outputs.size());
  std::unordered_map<std::string, bool> handed_out;
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    const std::string& name = g.outputs[i].name;
    const Tensor& result = lookup(name);
    Tensor& dst = outputs[i];
    if (!dst.empty() && dst.element_type() == result.element_type()) {
      result.copy_to(dst);
      continue;
    }
    // Hand over a computed value once; graph inputs, initializers and repeated outputs are cloned
    // so the caller never aliases the graph's constants or its own inputs.
    const bool computed = !g.is_constant(name) && !handed_out[name] &&
                          std::none_of(inputs.begin(), inputs.end(), [&](const Tensor& t) { return t.same_memory(result); });
    dst = computed ? result : result.clone();
    handed_out[name] = true;
  }
}

}  // namespace autosched::reference
