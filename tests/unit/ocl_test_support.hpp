#pragma once
// Shared pieces of the OCL device tests: one Core per process, a temporary
// folder, deterministic inputs, "run on a device" and "compare with REF" (rtol 1e-3, atol 1e-4, the
// OCL device's stated tolerance).
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::ocl_test {

inline Core& core() {
  static Core instance;
  return instance;
}

inline bool have_ocl() {
  for (const auto& d : core().get_available_devices())
    if (d == "OCL.0") return true;
  return false;
}

#define AUTOSCHED_REQUIRE_OCL() \
  if (!::autosched::ocl_test::have_ocl()) GTEST_SKIP() << "no OpenCL device (install pocl-opencl-icd)"

// A fresh folder under the temp directory, removed with the guard.
class TempDir {
 public:
  explicit TempDir(const std::string& stem) {
    std::string pattern = (std::filesystem::temp_directory_path() / ("autosched_" + stem + "_XXXXXX")).string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Uniform [-1, 1) floats (or [0, int_high) integers) with a fixed seed.
inline Tensor uniform_tensor(ElementType type, const Shape& shape, std::uint32_t seed, std::int64_t int_high = 4) {
  Tensor t(type, shape);
  std::mt19937 rng(seed);
  if (type == ElementType::i64) {
    std::uniform_int_distribution<std::int64_t> dist(0, int_high - 1);
    for (std::size_t i = 0; i < t.size(); ++i) t.data<std::int64_t>()[i] = dist(rng);
  } else {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  }
  return t;
}

inline std::vector<Tensor> make_inputs(const Model& model, std::uint32_t seed = 7) {
  std::vector<Tensor> inputs;
  for (const auto& port : model.inputs())
    inputs.push_back(uniform_tensor(port.element_type, port.shape.to_shape(), seed++));
  return inputs;
}

inline std::vector<Tensor> run(CompiledModel& compiled, const std::vector<Tensor>& inputs) {
  auto request = compiled.create_infer_request();
  for (std::size_t k = 0; k < inputs.size(); ++k) request.set_input_tensor(k, inputs[k]);
  request.infer();
  std::vector<Tensor> outputs;
  for (std::size_t k = 0; k < compiled.outputs().size(); ++k) outputs.push_back(request.get_output_tensor(k).clone());
  return outputs;
}

inline std::vector<Tensor> run(const Model& model, const std::string& device, const std::vector<Tensor>& inputs,
                               const Properties& props = {}) {
  auto compiled = core().compile_model(model, device, props);
  return run(compiled, inputs);
}

// Expects |a - e| <= 1e-4 + 1e-3·|e| element-wise, shapes equal.
inline void expect_close(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual,
                         const std::vector<PortInfo>& ports) {
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const std::string what = "output '" + ports.at(k).name + "'";
    ASSERT_EQ(expected[k].shape(), actual[k].shape()) << what;
    ASSERT_EQ(expected[k].element_type(), ElementType::f32) << what;
    const float* e = expected[k].data<float>();
    const float* a = actual[k].data<float>();
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < expected[k].size(); ++i)
      if (!(std::fabs(double(a[i]) - double(e[i])) <= 1e-4 + 1e-3 * std::fabs(double(e[i])))) {
        if (bad++ == 0) first = i;
      }
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << expected[k].size() << " differ; first at " << first
                       << ": expected " << e[first] << ", got " << a[first];
  }
}

// Runs `model` on REF and OCL.0 with the same inputs and compares.
inline void expect_matches_reference(const Model& model, const Properties& props = {}, std::uint32_t seed = 7) {
  const auto inputs = make_inputs(model, seed);
  const auto expected = run(model, "REF", inputs);
  const auto actual = run(model, "OCL.0", inputs, props);
  expect_close(expected, actual, model.outputs());
}

}  // namespace autosched::ocl_test
