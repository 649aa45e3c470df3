#pragma once
// The one exception type of the user API. Every failure that crosses the API
// boundary (synchronous or delivered through wait()/callbacks) is an Error.
#include <stdexcept>
#include <string>

namespace autosched {

enum class ErrorCode {
  invalid_argument,    // a caller-supplied value is wrong (message names it and what is valid)
  not_found,           // a file, device, tensor or property does not exist
  unsupported,         // valid request that this build/device cannot do (e.g. unknown ONNX op)
  device_failure,      // a device failed while compiling or running
  cancelled,           // the request was cancelled before it completed
  timeout,             // a deadline passed
  deadline_exceeded,   // admission control: no device can finish the request within its latency budget
  io,                  // reading or writing a file failed (or its content is malformed)
  resource_exhausted,  // a queue, memory or slot limit was hit
  internal,            // a bug in autosched: please report
};

const char* to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace autosched
