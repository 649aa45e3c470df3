#pragma once
// What the OCL device knows about one OpenCL device: plain data read once at
// enumeration through the ICD loader.
#include <cstdint>
#include <string>
#include <vector>

#include "devices/opencl/ocl_api.hpp"

namespace autosched::ocl {

struct DeviceInfo {
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
  std::string name, vendor, device_version, driver_version, opencl_c_version;
  std::string platform_name, platform_version;
  cl_device_type type = 0;
  bool gpu = false;             // CL_DEVICE_TYPE_GPU
  bool unified_memory = false;  // CL_DEVICE_HOST_UNIFIED_MEMORY (integrated GPUs)
  bool fp16 = false, fp64 = false;
  bool partition_by_counts = false;  // clCreateSubDevices(CL_DEVICE_PARTITION_BY_COUNTS)
  std::uint32_t compute_units = 0;
  std::uint64_t global_memory = 0, local_memory = 0, max_allocation = 0;
  std::size_t max_work_group_size = 0;
};

// Every device of every platform, in platform then device order. No platform
// (or an ICD loader without vendors) gives an empty list, not an error.
std::vector<DeviceInfo> enumerate_devices();
// Reads the info of one device (also used for sub-devices).
DeviceInfo read_device_info(cl_platform_id platform, cl_device_id device);

}  // namespace autosched::ocl
