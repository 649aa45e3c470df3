// autosched::Model: a shared, immutable handle on a finalized ir::Graph.
#include "autosched/model.hpp"

#include <algorithm>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"
#include "model/onnx_io.hpp"

namespace autosched {

namespace {
[[noreturn]] void empty_model(const char* what) {
  throw Error(ErrorCode::invalid_argument,
              std::string("Model::") + what +
                  " on an empty model (default-constructed); read one with Core::read_model first");
}
}  // namespace

Model::Model(std::shared_ptr<const ir::Graph> graph) : graph_(std::move(graph)) {
  if (!graph_) throw Error(ErrorCode::invalid_argument, "Model needs a graph, got a null pointer");
}

const std::string& Model::name() const {
  if (!graph_) empty_model("name");
  return graph_->name;
}

const std::vector<PortInfo>& Model::inputs() const {
  if (!graph_) empty_model("inputs");
  return graph_->inputs;
}

const std::vector<PortInfo>& Model::outputs() const {
  if (!graph_) empty_model("outputs");
  return graph_->outputs;
}

double Model::flops() const {
  if (!graph_) empty_model("flops");
  return graph_->flops();
}

void Model::save(const std::string& path) const {
  if (!graph_) empty_model("save");
  onnx_io::write_model(*graph_, path);
}

namespace {
// An Error's message without the "<code>: " prefix what() carries.
std::string message_of(const Error& e) {
  const std::string what = e.what();
  const std::string prefix = std::string(to_string(e.code())) + ": ";
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

std::string input_names(const std::vector<PortInfo>& ports) {
  std::string names;
  for (const auto& p : ports) names += (names.empty() ? "'" : ", '") + p.name + "'";
  return names.empty() ? "none" : names;
}
}  // namespace

Model Model::reshape(const std::map<std::string, PartialShape>& shapes) const {
  if (!graph_) empty_model("reshape");
  auto graph = std::make_shared<ir::Graph>(*graph_);  // initializers are shared handles: cheap
  std::string requested;
  for (const auto& [name, shape] : shapes) {
    auto it = std::find_if(graph->inputs.begin(), graph->inputs.end(),
                           [&, &name = name](const PortInfo& p) { return p.name == name; });
    if (it == graph->inputs.end())
      throw Error(ErrorCode::not_found, "Model::reshape: model '" + graph->name + "' has no input '" + name +
                                            "'; its inputs are " + input_names(graph->inputs));
    if (!shape.rank_known())
      throw Error(ErrorCode::invalid_argument,
                  "Model::reshape: input '" + name + "' needs a shape of known rank, got " + shape.to_string());
    if (it->shape.rank_known() && it->shape.rank() != shape.rank())
      throw Error(ErrorCode::invalid_argument, "Model::reshape: input '" + name + "' has rank " +
                                                   std::to_string(it->shape.rank()) + " (" + it->shape.to_string() +
                                                   "), got a shape of rank " + std::to_string(shape.rank()) + " " +
                                                   shape.to_string());
    it->shape = shape;
    requested += (requested.empty() ? "" : ", ") + name + ": " + shape.to_string();
  }
  // Outputs and intermediate values are inferred afresh from the new inputs.
  for (auto& out : graph->outputs) out.shape = PartialShape::dynamic_rank();
  try {
    graph->finalize();
  } catch (const Error& e) {
    throw Error(e.code(), "Model::reshape of model '" + graph->name + "' to {" + requested +
                              "}: the graph cannot take these shapes: " + message_of(e));
  }
  return Model(std::move(graph));
}

Model Model::reshape(const PartialShape& shape) const {
  if (!graph_) empty_model("reshape");
  if (graph_->inputs.size() != 1)
    throw Error(ErrorCode::invalid_argument,
                "Model::reshape(shape): model '" + graph_->name + "' has " + std::to_string(graph_->inputs.size()) +
                    " inputs (" + input_names(graph_->inputs) + "); name each one: reshape({{name, shape}, ...})");
  return reshape(std::map<std::string, PartialShape>{{graph_->inputs[0].name, shape}});
}

const ir::Graph& Model::graph() const {
  if (!graph_) empty_model("graph");
  return *graph_;
}

}  // namespace autosched
