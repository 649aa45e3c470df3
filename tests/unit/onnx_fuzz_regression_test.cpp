// Regressions found by the ONNX reader fuzzer (fuzz/onnx_reader_fuzzer.cpp):
// each input must end in a clear autosched::Error, never a crash.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "model/onnx_io.hpp"

namespace autosched {
namespace {

// ArgMax on a scalar input (shape []): shape inference indexed dims[0].
TEST(OnnxFuzzRegression, ArgMaxOnScalarIsAClearError) {
  const std::vector<std::uint8_t> bytes = {8, 7, 18, 12, 98, 97, 99, 107, 101, 110, 100, 45, 116, 101, 115, 116, 58, 134, 1, 10, 52, 10, 4, 100, 97, 116, 97, 18, 6, 114, 101, 115, 117, 108, 116, 34, 6, 65, 114, 103, 77, 97, 120, 42, 11, 10, 4, 97, 121, 105, 115, 24, 1, 160, 1, 2, 42, 15, 10, 8, 107, 101, 101, 112, 100, 105, 109, 115, 24, 1, 160, 1, 2, 18, 28, 116, 101, 115, 116, 95, 97, 114, 103, 109, 97, 120, 95, 107, 101, 101, 112, 100, 105, 109, 115, 95, 101, 120, 97, 109, 112, 108, 101, 90, 22, 10, 4, 100, 97, 116, 97, 18, 14, 10, 12, 8, 1, 18, 8, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 8, 1, 66, 4, 10, 0, 16, 13};
  try {
    onnx_io::read_model_from_memory(bytes.data(), bytes.size());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ArgMax"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace autosched
