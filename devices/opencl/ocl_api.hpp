#pragma once
// Thin RAII over the OpenCL C API for the OCL device (the only folder that
// includes OpenCL). Every failing call becomes Error(device_failure) naming the
// call and the CL error; allocation failures say "out of device memory" so
// AUTO can fall back to another device instead of aborting.
#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace autosched::ocl {

const char* error_name(cl_int status) noexcept;
// Throws Error(device_failure) when `status` is not CL_SUCCESS.
void check(cl_int status, const char* what);

// Owns one reference of a CL object; move-only.
template <class T, cl_int (*Release)(T)> class Handle {
 public:
  Handle() = default;
  explicit Handle(T object) : object_(object) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  T get() const noexcept { return object_; }
  T* ptr() noexcept { return &object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }
  void reset() noexcept {
    if (object_) Release(object_);
    object_ = nullptr;
  }

 private:
  T object_ = nullptr;
};

using Context = Handle<cl_context, clReleaseContext>;
using Queue = Handle<cl_command_queue, clReleaseCommandQueue>;
using Buffer = Handle<cl_mem, clReleaseMemObject>;
using Program = Handle<cl_program, clReleaseProgram>;
using Kernel = Handle<cl_kernel, clReleaseKernel>;
using SubDevice = Handle<cl_device_id, clReleaseDevice>;

std::string device_string(cl_device_id device, cl_device_info param);
std::string platform_string(cl_platform_id platform, cl_platform_info param);
template <class T> T device_value(cl_device_id device, cl_device_info param) {
  T value{};
  check(clGetDeviceInfo(device, param, sizeof(T), &value, nullptr), "clGetDeviceInfo");
  return value;
}

Context create_context(cl_device_id device);
Queue create_queue(cl_context context, cl_device_id device);
// Device buffer of `bytes` (at least 1); `host` (optional) is copied in.
Buffer create_buffer(cl_context context, std::size_t bytes, const void* host = nullptr,
                     cl_mem_flags flags = CL_MEM_READ_WRITE);
std::string build_log(cl_program program, cl_device_id device);

}  // namespace autosched::ocl
