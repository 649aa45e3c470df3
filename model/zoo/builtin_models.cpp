#include "model/zoo/builtin_models.hpp"

#include <string_view>
#include <utility>

#include "model/zoo/architectures.hpp"

namespace autosched::zoo {

namespace {
using Factory = std::shared_ptr<ir::Graph> (*)();

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> table{
      {"mlp", &build_mlp},
      {"resnet50", &build_resnet50},
      {"mobilenetv2", &build_mobilenetv2},
      {"bert_tiny", &build_bert_tiny},
  };
  return table;
}
}  // namespace

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

// Accepts the bare name ("resnet50") and the model-path form ("builtin:resnet50").
std::shared_ptr<ir::Graph> build(const std::string& name) {
  constexpr std::string_view kPrefix = "builtin:";
  std::string_view key = name;
  if (key.starts_with(kPrefix)) key.remove_prefix(kPrefix.size());
  for (const auto& [builtin, factory] : factories())
    if (builtin == key) return factory();
  std::string valid;
  for (const auto& builtin : builtin_names()) valid += (valid.empty() ? "" : ", ") + builtin;
  throw Error(ErrorCode::not_found, "unknown builtin model '" + name + "'; valid builtins: " + valid);
}

}  // namespace autosched::zoo
