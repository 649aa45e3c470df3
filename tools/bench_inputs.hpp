#pragma once
// Input shapes and data for autosched-bench: `-shape` / `-b` resolved against
// the model's inputs, and fixed-seed input values written in place.
#include <string>
#include <vector>

#include "autosched/infer_request.hpp"
#include "autosched/model.hpp"

namespace autosched::tools {

// One concrete shape per model input. `shape_text` is "" (use the model's
// shapes), "[1,3,224,224]" (every input) or "name[1,3,224,224],other[1,128]"
// (by input name); `batch` > 0 sets the first dimension. Dynamic dimensions
// left over become 1. Throws Error(invalid_argument) naming the input, the
// model's shape and what would be valid.
std::vector<Shape> resolve_input_shapes(const std::vector<PortInfo>& inputs, const std::string& shape_text,
                                        int batch);

// Sets each input tensor's shape and fills it with values in [-1, 1] (floats)
// or {0, 1} (integers) from a fixed seed, so every run sees the same data.
void fill_inputs(InferRequest& request, const std::vector<Shape>& shapes);

}  // namespace autosched::tools
