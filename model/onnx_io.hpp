#pragma once
// ONNX files in and out. The only place (with onnx_io.cpp) that sees the ONNX
// protobuf types; everything else works on ir::Graph.
#include <memory>
#include <string>

#include "autosched/plugin/graph.hpp"

namespace autosched::onnx_io {

// Reads and finalizes an ONNX model (opsets 11–17, external data resolved
// relative to the file). Errors: not_found (missing file), io (not a model,
// truncated or malformed protobuf, missing external data, a declared tensor
// too large to allocate), unsupported (op/opset/domain, naming op, node and
// opset), invalid_argument (shape mismatch, missing initializer, cycles).
std::shared_ptr<ir::Graph> read_model(const std::string& path);
// Same from bytes in memory (for fuzzing); `base_dir` resolves external data.
std::shared_ptr<ir::Graph> read_model_from_memory(const void* data, std::size_t size,
                                                  const std::string& base_dir = {});
// Reads a serialized onnx.TensorProto file (test_data_set_*/input_0.pb).
Tensor read_tensor(const std::string& path);
// Writes a finalized graph as an ONNX model (initializers inline). Error(io) on failure.
void write_model(const ir::Graph& graph, const std::string& path);

}  // namespace autosched::onnx_io
