#pragma once
// The graph IR every device compiles from. Plain data: nodes in topological
// order, named values, constant initializers, and the inferred type/shape of
// every value. Node and attribute semantics follow the ONNX operator set
// (default domain, opsets 11–17), so ONNX files map 1:1.
//
// A finalized Graph is immutable and shared by every compiled model.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "autosched/model.hpp"
#include "autosched/tensor.hpp"

namespace autosched::ir {

using AttributeValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>,
                                    std::vector<double>, std::vector<std::string>, Tensor>;

struct Node {
  std::string name;     // unique within the graph (the reader invents one when ONNX leaves it empty)
  std::string op_type;  // ONNX op name: "Conv", "Relu", ...
  std::vector<std::string> inputs;   // value names; "" marks an absent optional input
  std::vector<std::string> outputs;  // value names; "" marks an unused optional output
  std::map<std::string, AttributeValue> attributes;

  bool has(const std::string& attr) const { return attributes.count(attr) != 0; }
  // Typed attribute access with a default; throws Error(invalid_argument)
  // naming node, attribute and expected type when the stored type differs.
  std::int64_t get_int(const std::string& attr, std::int64_t fallback) const;
  double get_float(const std::string& attr, double fallback) const;
  std::string get_string(const std::string& attr, const std::string& fallback) const;
  std::vector<std::int64_t> get_ints(const std::string& attr, std::vector<std::int64_t> fallback = {}) const;
  std::vector<double> get_floats(const std::string& attr, std::vector<double> fallback = {}) const;
  Tensor get_tensor(const std::string& attr) const;  // throws not_found when absent
  // Input i's value name, or "" when the optional input is absent.
  const std::string& input(std::size_t i) const;
  bool has_input(std::size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

// Type and (partial) shape of one value.
struct ValueInfo {
  ElementType element_type = ElementType::undefined;
  PartialShape shape = PartialShape::dynamic_rank();
};

class Graph {
 public:
  std::string name = "model";
  std::int64_t opset = 17;
  std::vector<PortInfo> inputs;   // graph inputs (not initializers)
  std::vector<PortInfo> outputs;  // graph outputs
  std::map<std::string, Tensor> initializers;  // constant values by name
  std::vector<Node> nodes;                     // topological order once finalized
  std::map<std::string, ValueInfo> values;     // every value's inferred info (after finalize)

  // Validates and prepares the graph: unique node names, every input defined
  // exactly once (graph input, initializer or node output), topological sort
  // (Error(invalid_argument) on cycles), folds Constant nodes into
  // initializers, runs shape/type inference and fills `values` and the
  // outputs' types/shapes where they were unknown. Throws Error naming the
  // node and value that is wrong.
  void finalize();

  bool is_constant(const std::string& value) const { return initializers.count(value) != 0; }
  const ValueInfo& value_info(const std::string& value) const;  // throws not_found
  // Estimated flops of one inference (see Model::flops).
  double flops() const;
};

}  // namespace autosched::ir
