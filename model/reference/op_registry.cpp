#include "model/reference/op_registry.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "autosched/error.hpp"

namespace autosched::reference {

namespace {
std::map<std::string, OpDefinition>& op_table() {
  static std::map<std::string, OpDefinition> table;
  return table;
}
std::mutex& op_table_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

bool register_op(OpDefinition def) {
  std::lock_guard lock(op_table_mutex());
  auto name = def.op_type;
  op_table()[name] = std::move(def);
  return true;
}

const OpDefinition* find_op(const std::string& op_type) {
  // Registration finishes during static initialisation; lookups after that are read-only.
  auto& table = op_table();
  auto it = table.find(op_type);
  return it == table.end() ? nullptr : &it->second;
}

bool is_supported(const std::string& op_type) { return find_op(op_type) != nullptr; }

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, def] : op_table()) names.push_back(name);
  return names;
}

std::vector<ir::ValueInfo> infer_node(const ir::Node& node, const std::vector<ir::ValueInfo>& inputs,
                                      const std::vector<const Tensor*>& constants, std::int64_t opset) {
  const OpDefinition* def = find_op(node.op_type);
  if (!def)
    throw Error(ErrorCode::unsupported, "op '" + node.op_type + "' (node '" + node.name + "', opset " +
                                            std::to_string(opset) + ") is not supported; supported ops: " +
                                            [] {
                                              std::string s;
                                              for (const auto& n : supported_ops()) s += (s.empty() ? "" : ", ") + n;
                                              return s;
                                            }());
  return def->infer(node, inputs, constants);
}

std::vector<Tensor> evaluate_node(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const OpDefinition* def = find_op(node.op_type);
  if (!def) throw Error(ErrorCode::unsupported, "op '" + node.op_type + "' (node '" + node.name + "') is not supported");
  return def->evaluate(node, inputs);
}

}  // namespace autosched::reference
