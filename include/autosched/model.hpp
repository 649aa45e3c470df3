#pragma once
// Model: an immutable graph read from ONNX or the builtin zoo. Cheap to copy
// (shared handle); safe to compile concurrently on several devices.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autosched/element_type.hpp"
#include "autosched/shape.hpp"

namespace autosched {

namespace ir {
class Graph;
}

// A named model input or output.
struct PortInfo {
  std::string name;
  ElementType element_type = ElementType::f32;
  PartialShape shape;
};

class Model {
 public:
  Model() = default;
  explicit Model(std::shared_ptr<const ir::Graph> graph);

  bool empty() const noexcept { return !graph_; }
  const std::string& name() const;
  const std::vector<PortInfo>& inputs() const;
  const std::vector<PortInfo>& outputs() const;
  // Floating point operations of one inference at the model's static shapes
  // (multiply-add = 2), estimated from the graph; 0 when shapes are dynamic.
  double flops() const;
  // Fixes input shapes ahead of time: returns a NEW model whose named inputs
  // take the given shapes (other inputs keep theirs) with shape inference
  // re-run over the whole graph; this model is unchanged. Dims may be fixed
  // (dynamic -> static), changed (224 -> 320) or left dynamic. Throws
  // Error(not_found) for an unknown input name (naming the inputs),
  // Error(invalid_argument) for a rank that differs from the declared one or a
  // shape the graph cannot take (naming the node that rejects it).
  Model reshape(const std::map<std::string, PartialShape>& shapes) const;
  // The same for a model with exactly one input (Error(invalid_argument) otherwise).
  Model reshape(const PartialShape& shape) const;
  // Writes the model as an ONNX file; throws Error(io) when the file cannot be written.
  void save(const std::string& path) const;

  // For device authors (plugin SDK): the graph this model holds.
  const ir::Graph& graph() const;
  std::shared_ptr<const ir::Graph> graph_ptr() const { return graph_; }

 private:
  std::shared_ptr<const ir::Graph> graph_;
};

}  // namespace autosched
