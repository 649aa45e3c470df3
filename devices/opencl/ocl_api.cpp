#define CL_USE_DEPRECATED_OPENCL_1_2_APIS  // clCreateCommandQueue for OpenCL 1.x platforms
#include "devices/opencl/ocl_api.hpp"

#include "autosched/error.hpp"

namespace autosched::ocl {

const char* error_name(cl_int status) noexcept {
  switch (status) {
#define AUTOSCHED_CL_ERROR(e) \
  case e: return #e;
    AUTOSCHED_CL_ERROR(CL_SUCCESS)
    AUTOSCHED_CL_ERROR(CL_DEVICE_NOT_FOUND)
    AUTOSCHED_CL_ERROR(CL_DEVICE_NOT_AVAILABLE)
    AUTOSCHED_CL_ERROR(CL_COMPILER_NOT_AVAILABLE)
    AUTOSCHED_CL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    AUTOSCHED_CL_ERROR(CL_OUT_OF_RESOURCES)
    AUTOSCHED_CL_ERROR(CL_OUT_OF_HOST_MEMORY)
    AUTOSCHED_CL_ERROR(CL_BUILD_PROGRAM_FAILURE)
    AUTOSCHED_CL_ERROR(CL_INVALID_VALUE)
    AUTOSCHED_CL_ERROR(CL_INVALID_DEVICE)
    AUTOSCHED_CL_ERROR(CL_INVALID_BINARY)
    AUTOSCHED_CL_ERROR(CL_INVALID_BUILD_OPTIONS)
    AUTOSCHED_CL_ERROR(CL_INVALID_PROGRAM)
    AUTOSCHED_CL_ERROR(CL_INVALID_PROGRAM_EXECUTABLE)
    AUTOSCHED_CL_ERROR(CL_INVALID_KERNEL_NAME)
    AUTOSCHED_CL_ERROR(CL_INVALID_KERNEL)
    AUTOSCHED_CL_ERROR(CL_INVALID_ARG_INDEX)
    AUTOSCHED_CL_ERROR(CL_INVALID_ARG_VALUE)
    AUTOSCHED_CL_ERROR(CL_INVALID_ARG_SIZE)
    AUTOSCHED_CL_ERROR(CL_INVALID_KERNEL_ARGS)
    AUTOSCHED_CL_ERROR(CL_INVALID_WORK_GROUP_SIZE)
    AUTOSCHED_CL_ERROR(CL_INVALID_WORK_ITEM_SIZE)
    AUTOSCHED_CL_ERROR(CL_INVALID_GLOBAL_WORK_SIZE)
    AUTOSCHED_CL_ERROR(CL_INVALID_MEM_OBJECT)
    AUTOSCHED_CL_ERROR(CL_INVALID_BUFFER_SIZE)
    AUTOSCHED_CL_ERROR(CL_INVALID_COMMAND_QUEUE)
    AUTOSCHED_CL_ERROR(CL_INVALID_CONTEXT)
    AUTOSCHED_CL_ERROR(CL_INVALID_PLATFORM)
    AUTOSCHED_CL_ERROR(CL_INVALID_DEVICE_PARTITION_COUNT)
    AUTOSCHED_CL_ERROR(CL_DEVICE_PARTITION_FAILED)
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
#undef AUTOSCHED_CL_ERROR
    default: return "CL error";
  }
}

void check(cl_int status, const char* what) {
  if (status == CL_SUCCESS) return;
  std::string message = std::string("OpenCL call ") + what + " failed: " + error_name(status) + " (" +
                        std::to_string(status) + ")";
  if (status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES ||
      status == CL_OUT_OF_HOST_MEMORY)
    message += ": out of device memory or resources";
  throw Error(ErrorCode::device_failure, message);
}

std::string device_string(cl_device_id device, cl_device_info param) {
  std::size_t size = 0;
  check(clGetDeviceInfo(device, param, 0, nullptr, &size), "clGetDeviceInfo");
  std::string text(size, '\0');
  check(clGetDeviceInfo(device, param, size, text.data(), nullptr), "clGetDeviceInfo");
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string platform_string(cl_platform_id platform, cl_platform_info param) {
  std::size_t size = 0;
  check(clGetPlatformInfo(platform, param, 0, nullptr, &size), "clGetPlatformInfo");
  std::string text(size, '\0');
  check(clGetPlatformInfo(platform, param, size, text.data(), nullptr), "clGetPlatformInfo");
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

Context create_context(cl_device_id device) {
  cl_int status = CL_SUCCESS;
  Context context(clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status));
  check(status, "clCreateContext");
  return context;
}

Queue create_queue(cl_context context, cl_device_id device) {
  cl_int status = CL_SUCCESS;
  const std::string version = device_string(device, CL_DEVICE_VERSION);  // "OpenCL 3.0 ..."
  const bool v2 = version.size() > 7 && version[7] >= '2';
  Queue queue(v2 ? clCreateCommandQueueWithProperties(context, device, nullptr, &status)
                 : clCreateCommandQueue(context, device, 0, &status));
  check(status, "clCreateCommandQueue");
  return queue;
}

Buffer create_buffer(cl_context context, std::size_t bytes, const void* host, cl_mem_flags flags) {
  cl_int status = CL_SUCCESS;
  if (bytes == 0) {  // CL forbids empty buffers; an empty tensor still gets a handle
    bytes = 4;
    host = nullptr;
  }
  if (host) flags |= CL_MEM_COPY_HOST_PTR;
  Buffer buffer(clCreateBuffer(context, flags, bytes, const_cast<void*>(host), &status));
  check(status, "clCreateBuffer");
  return buffer;
}

std::string build_log(cl_program program, cl_device_id device) {
  std::size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS) return {};
  std::string text(size, '\0');
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, text.data(), nullptr) != CL_SUCCESS)
    return {};
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

}  // namespace autosched::ocl
