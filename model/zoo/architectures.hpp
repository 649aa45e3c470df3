#pragma once
// The builtin architectures, one per .cpp in this folder. Each returns a
// finalized graph built with a fixed seed (see GraphBuilder), so repeated
// calls give identical initializer bytes. Internal to model/zoo; the public
// entry point is zoo::build().
#include <memory>

#include "autosched/plugin/graph.hpp"

namespace autosched::zoo {

std::shared_ptr<ir::Graph> build_mlp();
std::shared_ptr<ir::Graph> build_resnet50();
std::shared_ptr<ir::Graph> build_mobilenetv2();
std::shared_ptr<ir::Graph> build_bert_tiny();

}  // namespace autosched::zoo
