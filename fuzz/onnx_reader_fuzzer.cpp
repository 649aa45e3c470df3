// libFuzzer target for the ONNX reader: any byte string either reads as a
// finalized graph or fails with autosched::Error. Anything else escaping
// (std::bad_alloc, std::out_of_range, a protobuf abort), a sanitizer report,
// a leak or a huge allocation (-rss_limit_mb / -malloc_limit_mb) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "autosched/error.hpp"
#include "core/logging.hpp"
#include "model/onnx_io.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  autosched::set_log_level(autosched::LogLevel::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // No base directory: external data must be rejected, never read from disk.
    auto graph = autosched::onnx_io::read_model_from_memory(data, size);
    (void)graph;
  } catch (const autosched::Error&) {
    // The documented outcome for malformed input.
  }
  return 0;
}
