// ir::Node attribute access and ir::Graph validation, Constant folding,
// topological sorting, shape/type inference and flop estimation.
#include "autosched/plugin/graph.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "autosched/error.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::ir {

namespace {

const char* attribute_type_name(const AttributeValue& v) {
  switch (v.index()) {
    case 0: return "int";
    case 1: return "float";
    case 2: return "string";
    case 3: return "ints";
    case 4: return "floats";
    case 5: return "strings";
    case 6: return "tensor";
  }
  return "unknown";
}

[[noreturn]] void wrong_type(const Node& node, const std::string& attr, const AttributeValue& v,
                             const char* expected) {
  throw Error(ErrorCode::invalid_argument, node.op_type + " node '" + node.name + "': attribute '" + attr +
                                               "' holds " + attribute_type_name(v) + ", expected " + expected);
}

std::string node_label(const Node& node) { return node.op_type + " node '" + node.name + "'"; }

}  // namespace

// ---------------------------------------------------------------- Node

std::int64_t Node::get_int(const std::string& attr, std::int64_t fallback) const {
  auto it = attributes.find(attr);
  if (it == attributes.end()) return fallback;
  if (auto p = std::get_if<std::int64_t>(&it->second)) return *p;
  wrong_type(*this, attr, it->second, "int");
}

double Node::get_float(const std::string& attr, double fallback) const {
  auto it = attributes.find(attr);
  if (it == attributes.end()) return fallback;
  if (auto p = std::get_if<double>(&it->second)) return *p;
  // An integer literal where a float is expected is harmless (e.g. alpha=1 written by hand).
  if (auto p = std::get_if<std::int64_t>(&it->second)) return double(*p);
  wrong_type(*this, attr, it->second, "float");
}

std::string Node::get_string(const std::string& attr, const std::string& fallback) const {
  auto it = attributes.find(attr);
  if (it == attributes.end()) return fallback;
  if (auto p = std::get_if<std::string>(&it->second)) return *p;
  wrong_type(*this, attr, it->second, "string");
}

std::vector<std::int64_t> Node::get_ints(const std::string& attr, std::vector<std::int64_t> fallback) const {
  auto it = attributes.find(attr);
  if (it == attributes.end()) return fallback;
  if (auto p = std::get_if<std::vector<std::int64_t>>(&it->second)) return *p;
  wrong_type(*this, attr, it->second, "ints");
}

std::vector<double> Node::get_floats(const std::string& attr, std::vector<double> fallback) const {
  auto it = attributes.find(attr);
  if (it == attributes.end()) return fallback;
  if (auto p = std::get_if<std::vector<double>>(&it->second)) return *p;
  wrong_type(*this, attr, it->second, "floats");
}

Tensor Node::get_tensor(const std::string& attr) const {
  auto it = attributes.find(attr);
  if (it == attributes.end())
    throw Error(ErrorCode::not_found, node_label(*this) + ": tensor attribute '" + attr + "' is missing");
  if (auto p = std::get_if<Tensor>(&it->second)) return *p;
  wrong_type(*this, attr, it->second, "tensor");
}

const std::string& Node::input(std::size_t i) const {
  static const std::string kAbsent;
  return i < inputs.size() ? inputs[i] : kAbsent;
}

// ---------------------------------------------------------------- Graph helpers

namespace {

// Gives every node a unique name: empty names become "<op>_<index>", later
// duplicates get a "_<k>" suffix (ONNX does not require unique node names).
void make_node_names_unique(std::vector<Node>& nodes) {
  std::unordered_set<std::string> taken;
  std::vector<bool> keeps(nodes.size(), false);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    keeps[i] = !nodes[i].name.empty() && taken.insert(nodes[i].name).second;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (keeps[i]) continue;
    Node& n = nodes[i];
    const std::string base = n.name.empty() ? n.op_type + "_" + std::to_string(i) : n.name;
    std::string candidate = base;
    for (int k = 1; taken.count(candidate); ++k) candidate = base + "_" + std::to_string(k);
    n.name = candidate;
    taken.insert(candidate);
  }
}

// The value of a Constant node, from whichever value attribute it carries.
Tensor constant_value(const Node& node) {
  if (node.has("value")) return node.get_tensor("value");
  if (node.has("value_float")) {
    Tensor t(ElementType::f32, {});
    *t.data<float>() = float(node.get_float("value_float", 0.0));
    return t;
  }
  if (node.has("value_floats")) {
    const auto v = node.get_floats("value_floats");
    Tensor t(ElementType::f32, {std::int64_t(v.size())});
    std::transform(v.begin(), v.end(), t.data<float>(), [](double d) { return float(d); });
    return t;
  }
  if (node.has("value_int")) {
    Tensor t(ElementType::i64, {});
    *t.data<std::int64_t>() = node.get_int("value_int", 0);
    return t;
  }
  if (node.has("value_ints")) {
    const auto v = node.get_ints("value_ints");
    Tensor t(ElementType::i64, {std::int64_t(v.size())});
    std::copy(v.begin(), v.end(), t.data<std::int64_t>());
    return t;
  }
  throw Error(ErrorCode::unsupported, node_label(node) +
                                          ": needs one of the attributes value, value_float, value_floats, "
                                          "value_int, value_ints (sparse_value and strings are not supported)");
}

// Merges a declared port shape with the inferred one; throws "shape mismatch".
PartialShape merge_shapes(const std::string& what, const PartialShape& declared, const PartialShape& inferred) {
  if (!declared.rank_known()) return inferred;
  if (!inferred.rank_known()) return declared;
  auto mismatch = [&] {
    return Error(ErrorCode::invalid_argument, "shape mismatch for " + what + ": declared " + declared.to_string() +
                                                  ", inferred " + inferred.to_string());
  };
  if (declared.rank() != inferred.rank()) throw mismatch();
  std::vector<Dimension> dims(declared.rank());
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const Dimension& d = declared[i];
    const Dimension& n = inferred[i];
    if (d.is_static() && n.is_static() && d.length != n.length) throw mismatch();
    if (d.is_static()) dims[i] = d;
    else if (n.is_static()) dims[i] = n;
    else dims[i] = d.symbol.empty() ? n : d;
  }
  return PartialShape(dims);
}

}  // namespace

// ---------------------------------------------------------------- Graph::finalize

void Graph::finalize() {
  make_node_names_unique(nodes);

  // Fold Constant nodes into initializers (they have no inputs, so order does not matter).
  std::vector<Node> kept;
  kept.reserve(nodes.size());
  for (auto& node : nodes) {
    if (node.op_type != "Constant") {
      kept.push_back(std::move(node));
      continue;
    }
    if (node.outputs.size() != 1 || node.outputs[0].empty())
      throw Error(ErrorCode::invalid_argument, node_label(node) + ": a Constant must have exactly one output");
    if (initializers.count(node.outputs[0]))
      throw Error(ErrorCode::invalid_argument, node_label(node) + ": output '" + node.outputs[0] +
                                                   "' is defined more than once (also an initializer)");
    initializers[node.outputs[0]] = constant_value(node);
  }
  nodes = std::move(kept);

  // Every value is defined exactly once: by a graph input, an initializer or a node output.
  std::unordered_map<std::string, std::string> defined_by;  // value -> description of the definer
  std::unordered_map<std::string, std::size_t> producer;    // value -> node index
  auto define = [&](const std::string& value, const std::string& by) {
    auto [it, fresh] = defined_by.emplace(value, by);
    if (!fresh)
      throw Error(ErrorCode::invalid_argument,
                  "value '" + value + "' is defined more than once: by " + it->second + " and by " + by);
  };
  for (const auto& in : inputs) {
    if (in.element_type == ElementType::undefined)
      throw Error(ErrorCode::invalid_argument, "graph input '" + in.name + "' has no element type");
    define(in.name, "graph input '" + in.name + "'");
  }
  for (const auto& [name, t] : initializers) {
    if (t.empty()) throw Error(ErrorCode::invalid_argument, "initializer '" + name + "' holds no tensor");
    define(name, "initializer '" + name + "'");
  }
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const auto& out : nodes[i].outputs)
      if (!out.empty()) {
        define(out, node_label(nodes[i]));
        producer[out] = i;
      }
  for (const auto& node : nodes)
    for (const auto& in : node.inputs)
      if (!in.empty() && !defined_by.count(in))
        throw Error(ErrorCode::invalid_argument,
                    node_label(node) + ": input '" + in +
                        "' is not defined (missing initializer, graph input or producing node)");
  for (const auto& out : outputs)
    if (!defined_by.count(out.name))
      throw Error(ErrorCode::invalid_argument,
                  "graph output '" + out.name + "' is not defined by any node, input or initializer");

  // Topological sort (Kahn), keeping the original order among ready nodes.
  const std::size_t n = nodes.size();
  std::vector<std::size_t> pending(n, 0);
  std::vector<std::vector<std::size_t>> consumers(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::set<std::size_t> deps;
    for (const auto& in : nodes[i].inputs)
      if (auto it = producer.find(in); !in.empty() && it != producer.end()) deps.insert(it->second);
    pending[i] = deps.size();
    for (auto d : deps) consumers[d].push_back(i);
  }
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<std::size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (auto c : consumers[i])
      if (--pending[c] == 0) ready.insert(c);
  }
  if (order.size() != n) {
    std::string members;
    for (std::size_t i = 0; i < n; ++i)
      if (pending[i] != 0) members += (members.empty() ? "'" : ", '") + nodes[i].name + "'";
    throw Error(ErrorCode::invalid_argument, "graph '" + name + "' contains a cycle through nodes " + members);
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (auto i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);

  // Shape and type inference, node by node.
  values.clear();
  for (const auto& in : inputs) values[in.name] = ValueInfo{in.element_type, in.shape};
  for (const auto& [vname, t] : initializers) values[vname] = ValueInfo{t.element_type(), PartialShape(t.shape())};
  for (const auto& node : nodes) {
    std::vector<ValueInfo> in_infos(node.inputs.size());
    std::vector<const Tensor*> constants(node.inputs.size(), nullptr);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) continue;
      in_infos[i] = values.at(node.inputs[i]);
      if (auto it = initializers.find(node.inputs[i]); it != initializers.end()) constants[i] = &it->second;
    }
    std::vector<ValueInfo> out_infos;
    try {
      out_infos = reference::infer_node(node, in_infos, constants, opset);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {  // a kernel's inference tripped over a malformed node
      throw Error(ErrorCode::invalid_argument, node_label(node) + ": shape inference failed: " + e.what());
    }
    if (out_infos.size() < node.outputs.size())
      throw Error(ErrorCode::internal, node_label(node) + ": shape inference returned " +
                                           std::to_string(out_infos.size()) + " results for " +
                                           std::to_string(node.outputs.size()) + " outputs");
    for (std::size_t i = 0; i < node.outputs.size(); ++i)
      if (!node.outputs[i].empty()) values[node.outputs[i]] = std::move(out_infos[i]);
  }

  // Declared outputs must agree with inference; each side fills the other's unknowns.
  for (auto& out : outputs) {
    ValueInfo& info = values.at(out.name);
    if (out.element_type != ElementType::undefined && info.element_type != ElementType::undefined &&
        out.element_type != info.element_type)
      throw Error(ErrorCode::invalid_argument, "type mismatch for graph output '" + out.name + "': declared " +
                                                   to_string(out.element_type) + ", inferred " +
                                                   to_string(info.element_type));
    if (out.element_type == ElementType::undefined) out.element_type = info.element_type;
    info.element_type = out.element_type;
    out.shape = merge_shapes("graph output '" + out.name + "'", out.shape, info.shape);
    info.shape = out.shape;
  }
}

const ValueInfo& Graph::value_info(const std::string& value) const {
  auto it = values.find(value);
  if (it == values.end())
    throw Error(ErrorCode::not_found, "value '" + value + "' is not in graph '" + name +
                                          "' (or the graph is not finalized)");
  return it->second;
}

// ---------------------------------------------------------------- flops

namespace {

// Elements of a value when its shape is static, else -1.
double static_elements(const Graph& g, const std::string& value) {
  auto it = g.values.find(value);
  if (value.empty() || it == g.values.end() || !it->second.shape.is_static()) return -1;
  return double(shape_size(it->second.shape.to_shape()));
}

const Shape* static_shape(const Graph& g, const std::string& value, Shape& storage) {
  auto it = g.values.find(value);
  if (value.empty() || it == g.values.end() || !it->second.shape.is_static()) return nullptr;
  storage = it->second.shape.to_shape();
  return &storage;
}

const std::unordered_map<std::string, double>& per_element_cost() {
  // Approximate flops per output element; data movement ops (Reshape,
  // Transpose, Concat, Gather, ...) count as 0.
  static const std::unordered_map<std::string, double> table = {
      {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 1}, {"Relu", 1}, {"LeakyRelu", 1}, {"PRelu", 1},
      {"Sigmoid", 1}, {"Tanh", 1}, {"Clip", 1}, {"Exp", 1}, {"Log", 1}, {"Sqrt", 1}, {"Pow", 1},
      {"Erf", 1}, {"Neg", 1}, {"Abs", 1}, {"Reciprocal", 1}, {"HardSigmoid", 1}, {"HardSwish", 1},
      {"Max", 1}, {"Min", 1}, {"Sum", 1}, {"Mean", 1}, {"Where", 1}, {"Equal", 1}, {"Less", 1},
      {"Greater", 1}, {"Not", 1}, {"And", 1}, {"Or", 1}, {"Elu", 1}, {"Selu", 1}, {"Softplus", 1},
      {"Floor", 1}, {"Ceil", 1}, {"Round", 1}, {"Sign", 1}, {"Gelu", 1}, {"Mish", 1},
      {"BatchNormalization", 2}, {"InstanceNormalization", 5}, {"LayerNormalization", 5},
      {"Softmax", 3}, {"LogSoftmax", 3}};
  return table;
}

double node_flops(const Graph& g, const Node& node) {
  Shape a, b, o;
  const std::string out = node.outputs.empty() ? std::string() : node.outputs[0];
  if (node.op_type == "Conv") {
    // 2 * N*Cout*spatial_out * (Cin/group)*prod(kernel) = 2 * |out| * |w| / Cout
    const Shape* y = static_shape(g, out, o);
    const Shape* w = static_shape(g, node.input(1), b);
    if (!y || !w || w->empty()) return 0;
    return 2.0 * double(shape_size(*y)) * double(shape_size(*w)) / double(std::max<std::int64_t>((*w)[0], 1));
  }
  if (node.op_type == "ConvTranspose") {
    // Each input element scatters into Cout/group * prod(kernel) outputs.
    const Shape* x = static_shape(g, node.input(0), a);
    const Shape* w = static_shape(g, node.input(1), b);
    if (!x || !w || w->empty()) return 0;
    return 2.0 * double(shape_size(*x)) * double(shape_size(*w)) / double(std::max<std::int64_t>((*w)[0], 1));
  }
  if (node.op_type == "MatMul") {
    const Shape* x = static_shape(g, node.input(0), a);
    const Shape* y = static_shape(g, out, o);
    if (!x || !y || x->empty()) return 0;
    return 2.0 * double(shape_size(*y)) * double(x->back());  // |out| = batch*M*N, K = last dim of A
  }
  if (node.op_type == "Gemm") {
    const Shape* x = static_shape(g, node.input(0), a);
    const Shape* y = static_shape(g, out, o);
    if (!x || !y || x->size() != 2) return 0;
    const double k = double(node.get_int("transA", 0) ? (*x)[0] : (*x)[1]);
    return 2.0 * double(shape_size(*y)) * k;
  }
  if (node.op_type == "MaxPool" || node.op_type == "AveragePool") {
    double window = 1;
    for (auto k : node.get_ints("kernel_shape")) window *= double(k);
    const double n = static_elements(g, out);
    return n < 0 ? 0 : n * window;
  }
  if (node.op_type == "GlobalAveragePool" || node.op_type == "GlobalMaxPool" ||
      node.op_type.rfind("Reduce", 0) == 0) {
    const double n = static_elements(g, node.input(0));
    return n < 0 ? 0 : n;
  }
  const auto& table = per_element_cost();
  if (auto it = table.find(node.op_type); it != table.end()) {
    const double n = static_elements(g, out);
    return n < 0 ? 0 : n * it->second;
  }
  return 0;
}

}  // namespace

double Graph::flops() const {
  double total = 0;
  for (const auto& node : nodes) total += node_flops(*this, node);
  return total;
}

}  // namespace autosched::ir
