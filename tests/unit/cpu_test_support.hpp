#pragma once
// Shared by the CPU device's unit tests: one Core per test process, seeded
// random tensors, and a small graph written node by node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::test {

using Ints = std::vector<std::int64_t>;
using Attrs = std::map<std::string, ir::AttributeValue>;

inline Core& core() {
  static Core instance;
  return instance;
}

inline Tensor random_tensor(const Shape& shape, std::uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(ElementType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// A small graph written node by node (each node's output is named like the node).
class TestGraph {
 public:
  std::string input(const std::string& name, PartialShape shape) {
    graph_->inputs.push_back(PortInfo{name, ElementType::f32, std::move(shape)});
    return name;
  }
  std::string weight(const std::string& name, const Shape& shape, float lo = -1.f, float hi = 1.f) {
    graph_->initializers[name] = random_tensor(shape, std::uint32_t(graph_->initializers.size() * 7919 + 17), lo, hi);
    return name;
  }
  std::string constant(const std::string& name, Tensor t) {
    graph_->initializers[name] = std::move(t);
    return name;
  }
  std::string scalar(const std::string& name, float v) {
    Tensor t(ElementType::f32, {});
    t.data<float>()[0] = v;
    return constant(name, t);
  }
  std::string ints(const std::string& name, const Ints& v) {
    Tensor t(ElementType::i64, {std::int64_t(v.size())});
    std::copy(v.begin(), v.end(), t.data<std::int64_t>());
    return constant(name, t);
  }
  std::string node(const std::string& op, std::vector<std::string> inputs, Attrs attrs = {}, std::string name = {}) {
    ir::Node n;
    n.name = name.empty() ? op + "_" + std::to_string(graph_->nodes.size()) : name;
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = {n.name};
    n.attributes = std::move(attrs);
    graph_->nodes.push_back(n);
    return n.name;
  }
  // A node with `count` outputs, named "<name>.0", "<name>.1", ...
  std::vector<std::string> node_with_outputs(const std::string& op, std::vector<std::string> inputs, std::size_t count,
                                             Attrs attrs, const std::string& name) {
    node(op, std::move(inputs), std::move(attrs), name);
    auto& outputs = graph_->nodes.back().outputs;
    outputs.clear();
    for (std::size_t k = 0; k < count; ++k) outputs.push_back(name + "." + std::to_string(k));
    return outputs;
  }
  Model finish(const std::vector<std::string>& outputs) {
    for (const auto& o : outputs) {
      PortInfo port;
      port.name = o;
      port.element_type = ElementType::undefined;
      port.shape = PartialShape::dynamic_rank();
      graph_->outputs.push_back(port);
    }
    graph_->finalize();
    return Model(graph_);
  }

 private:
  std::shared_ptr<ir::Graph> graph_ = std::make_shared<ir::Graph>();
};

// max |a-b| / (atol + rtol |b|) <= 1 for every element.
inline void expect_close(const Tensor& expected, const Tensor& actual, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  ASSERT_EQ(expected.element_type(), actual.element_type()) << what;
  if (expected.element_type() != ElementType::f32) return;
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double e = expected.data<float>()[i], a = actual.data<float>()[i];
    const double err = std::abs(a - e);
    worst = std::max(worst, err);
    if (!(err <= atol + rtol * std::abs(e))) ++bad;
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << expected.size() << " differ, max abs error " << worst;
}

}  // namespace autosched::test
