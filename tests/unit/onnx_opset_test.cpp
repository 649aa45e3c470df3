// Opset-dependent meaning that the ONNX reader must translate into the IR's
// (opset-13) semantics.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"
#include "model/onnx_io.hpp"

namespace autosched {
namespace {

// Softmax at opset 11 with axis=1 on [2,3,4] normalises each of the 2 rows of
// 12 values (coerce to 2-D), not each group of 3 along axis 1 (opset 13).
TEST(OnnxOpset, SoftmaxBeforeOpset13CoercesTo2D) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    auto g = std::make_shared<ir::Graph>();
    g->opset = 11;
    g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{2, 3, 4})});
    g->outputs.push_back({"y", ElementType::f32, PartialShape(Shape{2, 3, 4})});
    ir::Node n;
    n.name = "sm";
    n.op_type = op;
    n.inputs = {"x"};
    n.outputs = {"y"};
    n.attributes["axis"] = std::int64_t(1);
    g->nodes.push_back(n);
    g->finalize();
    const auto path = std::filesystem::temp_directory_path() / (std::string("opset11_") + op + ".onnx");
    onnx_io::write_model(*g, path.string());

    Core core;
    auto request = core.compile_model(path.string(), "REF").create_infer_request();
    auto x = request.get_input_tensor();
    for (int i = 0; i < 24; ++i) x.data<float>()[i] = float(i % 5) * 0.3f;
    request.infer();
    const float* y = request.get_output_tensor().data<float>();
    for (int row = 0; row < 2; ++row) {
      double sum = 0;
      for (int k = 0; k < 12; ++k) sum += std::string(op) == "Softmax" ? y[row * 12 + k] : std::exp(y[row * 12 + k]);
      EXPECT_NEAR(sum, 1.0, 1e-5) << op << " row " << row;
    }
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace autosched
