// autosched::Model: a shared, immutable handle on a finalized ir::Graph.
#include "autosched/model.hpp"

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

const ir::Graph& Model::graph() const {
  if (!graph_) empty_model("graph");
  return *graph_;
}

}  // namespace autosched
