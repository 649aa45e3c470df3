#include "devices/opencl/ocl_lowering.hpp"

#include <algorithm>
#include <cstring>

#include "model/reference/op_registry.hpp"

namespace autosched::ocl {

// ---------------------------------------------------------------- GraphFacts

GraphFacts::GraphFacts(const ir::Graph& graph) : graph_(graph) {
  for (const auto& [name, tensor] : graph.initializers) constants_[name] = tensor;
  for (const auto& port : graph.outputs) graph_outputs_.insert(port.name);
  for (const auto& node : graph.nodes) {
    for (const auto& in : node.inputs)
      if (!in.empty()) readers_[in].push_back(&node);
    const bool static_input = node.has_input(0) && graph.values.count(node.input(0)) &&
                              graph.value_info(node.input(0)).shape.is_static();
    if ((node.op_type == "Shape" || node.op_type == "Size") && static_input && node.outputs.size() == 1) {
      const Shape s = graph.value_info(node.input(0)).shape.to_shape();
      if (node.op_type == "Size") {
        Tensor t(ElementType::i64, {});
        *t.data<std::int64_t>() = shape_size(s);
        constants_[node.outputs[0]] = t;
      } else {
        const auto rank = std::int64_t(s.size());
        auto clamp = [&](std::int64_t v) { return std::clamp(v < 0 ? v + rank : v, std::int64_t{0}, rank); };
        const std::int64_t begin = clamp(node.get_int("start", 0)), end = clamp(node.get_int("end", rank));
        Tensor t(ElementType::i64, {std::max<std::int64_t>(0, end - begin)});
        for (std::int64_t i = begin; i < end; ++i) t.data<std::int64_t>()[i - begin] = s[std::size_t(i)];
        constants_[node.outputs[0]] = t;
      }
      folded_.insert(node.name);
      continue;
    }
    bool all_constant = !node.inputs.empty();
    for (const auto& in : node.inputs) all_constant &= in.empty() || constants_.count(in) != 0;
    if (!all_constant || !reference::is_supported(node.op_type)) continue;
    std::vector<Tensor> inputs;
    for (const auto& in : node.inputs) inputs.push_back(in.empty() ? Tensor() : constants_.at(in));
    try {
      auto outputs = reference::evaluate_node(node, inputs);
      for (std::size_t k = 0; k < node.outputs.size() && k < outputs.size(); ++k)
        if (!node.outputs[k].empty()) constants_[node.outputs[k]] = outputs[k];
      folded_.insert(node.name);
    } catch (const std::exception&) {
      // Left to the device, whose check reports why it cannot run it.
    }
  }
}

const Tensor* GraphFacts::constant(const std::string& value) const {
  auto it = constants_.find(value);
  return it == constants_.end() ? nullptr : &it->second;
}

const Shape& GraphFacts::shape(const std::string& value) const {
  auto it = shapes_.find(value);
  if (it != shapes_.end()) return it->second;
  const auto& info = graph_.value_info(value);
  if (!info.shape.is_static())
    throw Error(ErrorCode::unsupported, "OCL: value '" + value + "' has the dynamic shape " +
                                            info.shape.to_string() + " (the OCL device needs static shapes)");
  return shapes_.emplace(value, info.shape.to_shape()).first->second;
}

int GraphFacts::readers(const std::string& value) const {
  auto it = readers_.find(value);
  return (it == readers_.end() ? 0 : int(it->second.size())) + int(graph_outputs_.count(value));
}

const ir::Node* GraphFacts::single_reader(const std::string& value) const {
  auto it = readers_.find(value);
  if (graph_outputs_.count(value) || it == readers_.end() || it->second.size() != 1) return nullptr;
  return it->second.front();
}

// ---------------------------------------------------------------- helpers

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
  std::vector<std::int64_t> st(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) st[i - 1] = st[i] * shape[i];
  return st;
}

std::int64_t product(const Shape& shape, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

void coalesce(std::vector<std::int64_t>& dims, std::vector<std::vector<std::int64_t>>& strides) {
  // Drop size-1 dimensions, then merge d into d+1 where every operand is contiguous across them.
  for (std::size_t d = dims.size(); d-- > 0;)
    if (dims[d] == 1 && dims.size() > 1) {
      dims.erase(dims.begin() + std::ptrdiff_t(d));
      for (auto& s : strides) s.erase(s.begin() + std::ptrdiff_t(d));
    }
  for (std::size_t d = dims.size(); d-- > 1;) {
    bool mergeable = true;
    for (const auto& s : strides) mergeable &= s[d - 1] == s[d] * dims[d];
    if (!mergeable) continue;
    dims[d - 1] *= dims[d];
    dims.erase(dims.begin() + std::ptrdiff_t(d));
    for (auto& s : strides) {
      s[d - 1] = s[d];
      s.erase(s.begin() + std::ptrdiff_t(d));
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& s : strides) s.push_back(0);
  }
}

std::string require_f32(const GraphFacts& facts, const std::string& value) {
  const auto t = facts.info(value).element_type;
  if (t != ElementType::f32) return "value '" + value + "' is " + to_string(t) + " (the OCL kernels are f32)";
  if (!facts.info(value).shape.is_static()) return "value '" + value + "' has a dynamic shape";
  return {};
}

std::string require_constant(const GraphFacts& facts, const std::string& value, const char* what) {
  if (value.empty() || facts.constant(value)) return {};
  return std::string(what) + " '" + value + "' must be a constant";
}

// ---------------------------------------------------------------- Lowering

Lowering::Lowering(const GraphFacts& facts, Plan& plan) : facts_(facts), plan_(plan) {
  const auto& inputs = facts.graph().inputs;
  for (std::size_t k = 0; k < inputs.size(); ++k) values_[inputs[k].name] = {ValueRef::Kind::input, int(k)};
}

ValueRef Lowering::value(const std::string& name) {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const Tensor* c = facts_.constant(name);
  if (!c) throw Error(ErrorCode::internal, "OCL lowering: value '" + name + "' is used before it is defined");
  ValueRef ref = upload(*c);
  values_[name] = ref;
  return ref;
}

ValueRef Lowering::define(const std::string& name) {
  const std::size_t bytes = std::size_t(shape_size(shape(name))) * sizeof(float);
  plan_.pool_bytes.push_back(bytes);
  plan_.naive_pool_bytes += bytes;
  ValueRef ref{ValueRef::Kind::pool, int(plan_.pool_bytes.size() - 1)};
  values_[name] = ref;
  return ref;
}

void Lowering::alias(const std::string& name, const std::string& source) { values_[name] = value(source); }

ValueRef Lowering::upload(Tensor tensor) {
  plan_.constants.push_back(std::move(tensor));
  return {ValueRef::Kind::constant, int(plan_.constants.size() - 1)};
}

ValueRef Lowering::scratch(std::size_t bytes) {
  plan_.scratch_bytes = std::max(plan_.scratch_bytes, bytes);
  return {ValueRef::Kind::scratch, 0};
}

int Lowering::meta(const std::vector<std::int64_t>& ints) {
  const int offset = int(plan_.meta.size());
  for (auto v : ints) plan_.meta.push_back(std::int32_t(v));
  return offset;
}

void Lowering::launch(const std::string& label, KernelId kernel, std::size_t global_size,
                      std::vector<KernelArg> args) {
  if (global_size == 0) return;
  plan_.steps.push_back({label, KernelLaunch{kernel, std::move(args), global_size}});
}

void Lowering::gemm(const std::string& label, GemmCall call) {
  if (call.m == 0 || call.n == 0) return;
  plan_.steps.push_back({label, std::move(call)});
}

void Lowering::mark_fused(const ir::Node& node) {
  fused_.insert(node.name);
  ++plan_.fused_nodes;
}

// ---------------------------------------------------------------- driver

const LoweringTable& lowering_table() {
  static const LoweringTable table = [] {
    LoweringTable t;
    add_elementwise_lowerings(t);
    add_nn_lowerings(t);
    add_movement_lowerings(t);
    return t;
  }();
  return table;
}

std::string why_unsupported(const ir::Node& node, const GraphFacts& facts) {
  if (facts.is_folded(node)) return {};
  const auto& table = lowering_table();
  auto it = table.find(node.op_type);
  if (it == table.end()) return "op " + node.op_type + " has no OCL kernel";
  for (const auto& out : node.outputs)
    if (!out.empty())
      if (auto why = require_f32(facts, out); !why.empty()) return why;
  return it->second.check(node, facts);
}

std::set<std::string> supported_nodes(const ir::Graph& graph) {
  const GraphFacts facts(graph);
  std::set<std::string> out;
  for (const auto& node : graph.nodes) {
    try {
      if (why_unsupported(node, facts).empty()) out.insert(node.name);
    } catch (const std::exception&) {
      // A malformed node (bad attribute type, ...) is simply not supported.
    }
  }
  return out;
}

namespace {
// Assigns pool values to shared buffers: a value's lifetime runs from the
// first to the last step that references it (model outputs: to the end).
void plan_pool(Plan& plan) {
  const std::size_t n = plan.pool_bytes.size();
  std::vector<int> first(n, -1), last(n, -1);
  auto touch = [&](const ValueRef& v, int step) {
    if (v.kind != ValueRef::Kind::pool) return;
    auto i = std::size_t(v.index);
    if (first[i] < 0) first[i] = step;
    last[i] = std::max(last[i], step);
  };
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    if (auto* k = std::get_if<KernelLaunch>(&plan.steps[s].body)) {
      for (const auto& a : k->args)
        if (a.kind == KernelArg::Kind::buffer) touch(a.buffer, int(s));
    } else {
      const auto& g = std::get<GemmCall>(plan.steps[s].body);
      touch(g.a, int(s));
      touch(g.b, int(s));
      touch(g.c, int(s));
    }
  }
  for (auto& out : plan.outputs) touch(out.value, int(plan.steps.size()));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return first[a] < first[b]; });
  std::vector<std::size_t> buffer_bytes;
  std::vector<int> buffer_free_after;  // last step using the buffer
  std::vector<int> assignment(n, -1);
  for (std::size_t v : order) {
    if (first[v] < 0) continue;  // never used
    int best = -1;
    for (std::size_t b = 0; b < buffer_bytes.size(); ++b) {
      if (buffer_free_after[b] >= first[v]) continue;
      // Prefer the smallest buffer that fits, else the largest (it grows least).
      const bool fits = buffer_bytes[b] >= plan.pool_bytes[v];
      if (best < 0) { best = int(b); continue; }
      const bool best_fits = buffer_bytes[std::size_t(best)] >= plan.pool_bytes[v];
      if (fits && (!best_fits || buffer_bytes[b] < buffer_bytes[std::size_t(best)])) best = int(b);
      else if (!fits && !best_fits && buffer_bytes[b] > buffer_bytes[std::size_t(best)]) best = int(b);
    }
    if (best < 0) {
      best = int(buffer_bytes.size());
      buffer_bytes.push_back(0);
      buffer_free_after.push_back(-1);
    }
    buffer_bytes[std::size_t(best)] = std::max(buffer_bytes[std::size_t(best)], plan.pool_bytes[v]);
    buffer_free_after[std::size_t(best)] = last[v];
    assignment[v] = best;
  }
  auto remap = [&](ValueRef& v) {
    if (v.kind == ValueRef::Kind::pool) v.index = assignment[std::size_t(v.index)];
  };
  for (auto& step : plan.steps) {
    if (auto* k = std::get_if<KernelLaunch>(&step.body)) {
      for (auto& a : k->args)
        if (a.kind == KernelArg::Kind::buffer) remap(a.buffer);
    } else {
      auto& g = std::get<GemmCall>(step.body);
      remap(g.a);
      remap(g.b);
      remap(g.c);
    }
  }
  for (auto& out : plan.outputs) remap(out.value);
  plan.pool_bytes = buffer_bytes;
}
}  // namespace

Plan lower_graph(const ir::Graph& graph) {
  const GraphFacts facts(graph);
  Plan plan;
  Lowering lowering(facts, plan);
  for (const auto& port : graph.inputs)
    if (auto why = port.element_type == ElementType::f32 || port.element_type == ElementType::i64
                       ? std::string()
                       : "input '" + port.name + "' is " + to_string(port.element_type);
        !why.empty() || !port.shape.is_static())
      throw Error(ErrorCode::unsupported, "OCL cannot run model '" + graph.name + "': " +
                                              (why.empty() ? "input '" + port.name + "' has a dynamic shape" : why));
  for (const auto& node : graph.nodes) {
    if (facts.is_folded(node)) {
      ++plan.folded_nodes;
      continue;
    }
    if (lowering.is_fused(node)) continue;
    if (auto why = why_unsupported(node, facts); !why.empty())
      throw Error(ErrorCode::unsupported, "OCL cannot run " + node.op_type + " node '" + node.name + "': " + why);
    lowering_table().at(node.op_type).lower(lowering, node);
  }
  for (const auto& port : graph.outputs) {
    OutputSource source;
    if (const Tensor* c = facts.constant(port.name)) source.host = *c;
    else source.value = lowering.value(port.name);
    plan.outputs.push_back(std::move(source));
  }
  plan_pool(plan);
  return plan;
}

}  // namespace autosched::ocl
