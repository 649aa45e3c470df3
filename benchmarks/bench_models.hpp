#pragma once
// Models shared by the micro-benchmarks.
#include <memory>

#include "autosched/model.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::bench {

// One Relu over 16 floats: device work is negligible, so a benchmark over it
// measures the machinery around the device. `output` is the declared output
// shape (static [1,16] unless a test needs it dynamic).
inline Model relu_model(PartialShape output = PartialShape(Shape{1, 16})) {
  auto g = std::make_shared<ir::Graph>();
  g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{1, 16})});
  g->outputs.push_back({"y", ElementType::f32, std::move(output)});
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  g->nodes = {relu};
  g->finalize();
  return Model(g);
}

}  // namespace autosched::bench
