#pragma once
// Runs a whole graph with the reference kernels, node by node in topological
// order, releasing intermediate values after their last use. Reusable and
// used by one thread at a time; several executors may share one Graph.
#include <atomic>
#include <memory>
#include <vector>

#include "autosched/plugin/graph.hpp"

namespace autosched::reference {

class GraphExecutor {
 public:
  explicit GraphExecutor(std::shared_ptr<const ir::Graph> graph);
  // inputs: in graph-input order (shapes concrete). outputs: resized to the
  // number of graph outputs; each output tensor that is non-empty and of the
  // right type is filled in place (set_shape if needed), otherwise replaced.
  // When `cancel` becomes true between nodes, throws Error(cancelled).
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
           const std::atomic<bool>* cancel = nullptr) const;

 private:
  std::shared_ptr<const ir::Graph> graph_;
  std::vector<std::size_t> last_use_;  // per node: values freed after it (index into free lists)
  std::vector<std::vector<std::string>> release_after_;
};

}  // namespace autosched::reference
