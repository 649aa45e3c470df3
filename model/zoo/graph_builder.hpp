#pragma once
// GraphBuilder: writes an ir::Graph in ONNX form (opset 17) one node at a
// time, with fixed-seed random initializers, for the builtin model zoo.
//
// Every initializer is filled from its own NormalGenerator seeded by the
// model seed and the initializer's name, so a tensor's bytes depend only on
// (seed, name, shape): two builds are identical, and adding a layer never
// changes the weights of the others. Values are named after the node that
// produces them (one output per node). Not thread-safe; one builder per build.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autosched/plugin/graph.hpp"

namespace autosched::zoo {

enum class Activation { none, relu, relu6 };

class GraphBuilder {
 public:
  using Attributes = std::map<std::string, ir::AttributeValue>;

  GraphBuilder(std::string model_name, std::uint32_t seed);

  // Declares an f32 graph input; returns its value name.
  std::string add_input(const std::string& name, const Shape& shape);
  // Declares `value` as a graph output (its port is named like the value);
  // type and shape are filled by finalize().
  void add_output(const std::string& value);

  // Initializers (f32 unless stated). Each returns the initializer's name;
  // Error(internal) when the name is taken.
  std::string add_normal(const std::string& name, const Shape& shape, double stddev, double mean = 0.0);
  // He-normal (Kaiming, fan-in, gain sqrt(2)): N(0, 2 / fan_in).
  std::string add_he_normal(const std::string& name, const Shape& shape, std::int64_t fan_in);
  std::string add_filled(const std::string& name, const Shape& shape, float value);
  std::string add_scalar(const std::string& name, float value);  // shape []
  std::string add_i64(const std::string& name, const std::vector<std::int64_t>& values);  // shape [n]

  // Appends a node with one output and returns the output's value name, which
  // is the node name: `name`, or "<op_type>_<n>" when empty.
  std::string add_node(const std::string& op_type, std::vector<std::string> inputs, Attributes attributes = {},
                       std::string name = {});

  // Conv (no bias) + BatchNormalization (+ Relu or Relu6 as Clip(0, 6)).
  // Nodes are "<prefix>.conv", "<prefix>.bn", "<prefix>.relu". Padding is
  // kernel / 2 (same for odd kernels at stride 1); group = in_channels makes
  // the conv depthwise. BN: gamma = gamma_scale · (1 + 0.05·N(0,1)),
  // beta = 0.01·N(0,1), mean 0, var 1, epsilon 1e-5.
  std::string conv_bn(const std::string& x, const std::string& prefix, std::int64_t in_channels,
                      std::int64_t out_channels, std::int64_t kernel, std::int64_t stride, std::int64_t group,
                      Activation activation, float gamma_scale = 1.0f);
  // Gemm(x, W[out,in], b[out], transB=1) with He-normal W and b = 0.01·N(0,1).
  // Initializers are "<prefix>.weight/.bias"; the node (and its output) is
  // named `node_name`, or `prefix` when empty.
  std::string gemm(const std::string& x, const std::string& prefix, std::int64_t in_features,
                   std::int64_t out_features, const std::string& node_name = {});

  // Finalizes the graph (shape inference included) and hands it over; the
  // builder must not be used afterwards.
  std::shared_ptr<ir::Graph> finish();

 private:
  std::string claim(const std::string& name);
  Tensor& new_initializer(const std::string& name, ElementType type, const Shape& shape);
  std::uint32_t seed_for(const std::string& name) const;

  ir::Graph graph_;
  std::uint32_t seed_;
  std::map<std::string, int> op_counters_;
  std::set<std::string> names_;  // every value and node name in use
  std::string relu6_min_, relu6_max_;  // shared Clip bounds, created on first use
};

}  // namespace autosched::zoo
