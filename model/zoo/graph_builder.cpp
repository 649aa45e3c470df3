#include "model/zoo/graph_builder.hpp"

#include <cmath>
#include <utility>

#include "model/zoo/normal_generator.hpp"

namespace autosched::zoo {

GraphBuilder::GraphBuilder(std::string model_name, std::uint32_t seed) : seed_(seed) {
  graph_.name = std::move(model_name);
  graph_.opset = 17;
}

std::string GraphBuilder::claim(const std::string& name) {
  if (name.empty() || !names_.insert(name).second)
    throw Error(ErrorCode::internal, "model '" + graph_.name + "': name '" + name + "' is empty or already used");
  return name;
}

// FNV-1a of the name, mixed with the model seed: each initializer gets its
// own reproducible stream.
std::uint32_t GraphBuilder::seed_for(const std::string& name) const {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  return h ^ (seed_ * 0x9E3779B9u);
}

std::string GraphBuilder::add_input(const std::string& name, const Shape& shape) {
  graph_.inputs.push_back(PortInfo{claim(name), ElementType::f32, PartialShape(shape)});
  return name;
}

void GraphBuilder::add_output(const std::string& value) {
  PortInfo port;
  port.name = value;
  port.element_type = ElementType::undefined;
  port.shape = PartialShape::dynamic_rank();
  graph_.outputs.push_back(std::move(port));
}

Tensor& GraphBuilder::new_initializer(const std::string& name, ElementType type, const Shape& shape) {
  claim(name);
  return graph_.initializers.emplace(name, Tensor(type, shape)).first->second;
}

std::string GraphBuilder::add_normal(const std::string& name, const Shape& shape, double stddev, double mean) {
  Tensor& t = new_initializer(name, ElementType::f32, shape);
  NormalGenerator rng(seed_for(name));
  float* p = t.data<float>();
  for (std::size_t i = 0, n = t.size(); i < n; ++i) p[i] = float(mean + stddev * rng.next());
  return name;
}

std::string GraphBuilder::add_he_normal(const std::string& name, const Shape& shape, std::int64_t fan_in) {
  return add_normal(name, shape, std::sqrt(2.0 / double(fan_in)));
}

std::string GraphBuilder::add_filled(const std::string& name, const Shape& shape, float value) {
  Tensor& t = new_initializer(name, ElementType::f32, shape);
  float* p = t.data<float>();
  for (std::size_t i = 0, n = t.size(); i < n; ++i) p[i] = value;
  return name;
}

std::string GraphBuilder::add_scalar(const std::string& name, float value) { return add_filled(name, {}, value); }

std::string GraphBuilder::add_i64(const std::string& name, const std::vector<std::int64_t>& values) {
  Tensor& t = new_initializer(name, ElementType::i64, {std::int64_t(values.size())});
  std::int64_t* p = t.data<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return name;
}

std::string GraphBuilder::add_node(const std::string& op_type, std::vector<std::string> inputs,
                                   Attributes attributes, std::string name) {
  if (name.empty()) name = op_type + "_" + std::to_string(op_counters_[op_type]++);
  ir::Node node;
  node.name = claim(name);
  node.op_type = op_type;
  node.inputs = std::move(inputs);
  node.outputs = {node.name};
  node.attributes = std::move(attributes);
  graph_.nodes.push_back(std::move(node));
  return name;
}

std::string GraphBuilder::conv_bn(const std::string& x, const std::string& prefix, std::int64_t in_channels,
                                  std::int64_t out_channels, std::int64_t kernel, std::int64_t stride,
                                  std::int64_t group, Activation activation, float gamma_scale) {
  const std::int64_t fan_in = in_channels / group * kernel * kernel;
  const std::string w =
      add_he_normal(prefix + ".conv.weight", {out_channels, in_channels / group, kernel, kernel}, fan_in);
  const std::int64_t pad = kernel / 2;
  std::string y = add_node("Conv", {x, w},
                           {{"kernel_shape", std::vector<std::int64_t>{kernel, kernel}},
                            {"strides", std::vector<std::int64_t>{stride, stride}},
                            {"pads", std::vector<std::int64_t>{pad, pad, pad, pad}},
                            {"dilations", std::vector<std::int64_t>{1, 1}},
                            {"group", group}},
                           prefix + ".conv");
  const Shape c{out_channels};
  const std::string gamma = add_normal(prefix + ".bn.weight", c, 0.05 * gamma_scale, gamma_scale);
  const std::string beta = add_normal(prefix + ".bn.bias", c, 0.01);
  const std::string mean = add_filled(prefix + ".bn.running_mean", c, 0.0f);
  const std::string var = add_filled(prefix + ".bn.running_var", c, 1.0f);
  y = add_node("BatchNormalization", {y, gamma, beta, mean, var}, {{"epsilon", 1e-5}}, prefix + ".bn");
  switch (activation) {
    case Activation::none:
      return y;
    case Activation::relu:
      return add_node("Relu", {y}, {}, prefix + ".relu");
    case Activation::relu6:
      if (relu6_min_.empty()) {
        relu6_min_ = add_scalar("relu6.min", 0.0f);
        relu6_max_ = add_scalar("relu6.max", 6.0f);
      }
      return add_node("Clip", {y, relu6_min_, relu6_max_}, {}, prefix + ".relu");
  }
  return y;
}

std::string GraphBuilder::gemm(const std::string& x, const std::string& prefix, std::int64_t in_features,
                               std::int64_t out_features, const std::string& node_name) {
  const std::string w = add_he_normal(prefix + ".weight", {out_features, in_features}, in_features);
  const std::string b = add_normal(prefix + ".bias", {out_features}, 0.01);
  return add_node("Gemm", {x, w, b}, {{"transB", std::int64_t{1}}, {"alpha", 1.0}, {"beta", 1.0}},
                  node_name.empty() ? prefix : node_name);
}

std::shared_ptr<ir::Graph> GraphBuilder::finish() {
  auto graph = std::make_shared<ir::Graph>(std::move(graph_));
  graph->finalize();
  return graph;
}

}  // namespace autosched::zoo
