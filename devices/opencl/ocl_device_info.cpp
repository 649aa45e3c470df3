#include "devices/opencl/ocl_device_info.hpp"

#include "core/logging.hpp"

namespace autosched::ocl {

namespace {
bool has_extension(const std::string& extensions, const std::string& name) {
  std::size_t pos = 0;
  while ((pos = extensions.find(name, pos)) != std::string::npos) {
    const std::size_t end = pos + name.size();
    if ((pos == 0 || extensions[pos - 1] == ' ') && (end == extensions.size() || extensions[end] == ' '))
      return true;
    pos = end;
  }
  return false;
}
}  // namespace

DeviceInfo read_device_info(cl_platform_id platform, cl_device_id device) {
  DeviceInfo info;
  info.platform = platform;
  info.id = device;
  info.name = device_string(device, CL_DEVICE_NAME);
  info.vendor = device_string(device, CL_DEVICE_VENDOR);
  info.device_version = device_string(device, CL_DEVICE_VERSION);
  info.driver_version = device_string(device, CL_DRIVER_VERSION);
  info.opencl_c_version = device_string(device, CL_DEVICE_OPENCL_C_VERSION);
  info.platform_name = platform_string(platform, CL_PLATFORM_NAME);
  info.platform_version = platform_string(platform, CL_PLATFORM_VERSION);
  info.type = device_value<cl_device_type>(device, CL_DEVICE_TYPE);
  info.gpu = (info.type & CL_DEVICE_TYPE_GPU) != 0;
  // Deprecated in 2.0 but still answered; integrated GPUs share host memory.
  cl_bool unified = CL_FALSE;
  if (clGetDeviceInfo(device, 0x1035 /* CL_DEVICE_HOST_UNIFIED_MEMORY */, sizeof(unified), &unified, nullptr) ==
      CL_SUCCESS)
    info.unified_memory = unified == CL_TRUE;
  const std::string extensions = device_string(device, CL_DEVICE_EXTENSIONS);
  info.fp16 = has_extension(extensions, "cl_khr_fp16");
  info.fp64 = has_extension(extensions, "cl_khr_fp64") ||
              device_value<cl_device_fp_config>(device, CL_DEVICE_DOUBLE_FP_CONFIG) != 0;
  info.compute_units = device_value<cl_uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS);
  info.global_memory = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.local_memory = device_value<cl_ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE);
  info.max_allocation = device_value<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  info.max_work_group_size = device_value<std::size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  std::size_t size = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_PARTITION_PROPERTIES, 0, nullptr, &size) == CL_SUCCESS && size > 0) {
    std::vector<cl_device_partition_property> props(size / sizeof(cl_device_partition_property));
    if (clGetDeviceInfo(device, CL_DEVICE_PARTITION_PROPERTIES, size, props.data(), nullptr) == CL_SUCCESS)
      for (auto p : props) info.partition_by_counts |= p == CL_DEVICE_PARTITION_BY_COUNTS;
  }
  return info;
}

std::vector<DeviceInfo> enumerate_devices() {
  std::vector<DeviceInfo> out;
  cl_uint num_platforms = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &num_platforms);
  if (status != CL_SUCCESS || num_platforms == 0) {
    log().debug("OCL: no OpenCL platform found ({}); the OCL device is absent", error_name(status));
    return out;
  }
  std::vector<cl_platform_id> platforms(num_platforms);
  check(clGetPlatformIDs(num_platforms, platforms.data(), nullptr), "clGetPlatformIDs");
  for (cl_platform_id platform : platforms) {
    cl_uint num_devices = 0;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &num_devices) != CL_SUCCESS || num_devices == 0)
      continue;
    std::vector<cl_device_id> devices(num_devices);
    check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, num_devices, devices.data(), nullptr), "clGetDeviceIDs");
    for (cl_device_id device : devices) {
      try {
        out.push_back(read_device_info(platform, device));
      } catch (const std::exception& e) {
        log().warn("OCL: skipping a device whose properties cannot be read: {}", e.what());
      }
    }
  }
  if (out.empty()) log().debug("OCL: {} OpenCL platform(s) but no device; the OCL device is absent", num_platforms);
  return out;
}

}  // namespace autosched::ocl
