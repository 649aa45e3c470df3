#pragma once
// Program-binary cache of the OCL device. With a cache directory, a built
// program's binary (clGetProgramInfo(CL_PROGRAM_BINARIES)) is stored in a file
// keyed by device name, driver/device/platform version, kernel-source hash and
// build options. A later build loads it through clCreateProgramWithBinary. A
// file with a bad header, key, size or checksum, or a binary the driver
// rejects, is logged and rebuilt from source (then overwritten) — never a crash
// or a wrong program. Files are written to a temporary name and renamed, so
// concurrent compiles never see half a file. Thread-safe (no shared state).
#include <string>

#include "devices/opencl/ocl_api.hpp"
#include "devices/opencl/ocl_device_info.hpp"

namespace autosched::ocl {

enum class CacheOutcome { disabled, miss, hit, rebuilt };  // rebuilt: a bad cache file was replaced
const char* to_string(CacheOutcome outcome) noexcept;

struct BuiltProgram {
  Program program;
  CacheOutcome outcome = CacheOutcome::disabled;
  std::string cache_file;  // "" when the cache is disabled
};

// 64-bit FNV-1a (stable across runs and platforms; keys and checksums).
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t seed = 0xcbf29ce484222325ull);

// The cache key text of (device, source, options).
std::string program_cache_key(const DeviceInfo& device, const std::string& source, const std::string& options);

// Whether `cache_dir` holds a usable binary of (device, source, options): the
// file exists and its header, key, size and checksum are right. Reads the file
// and builds nothing, so it cannot tell whether the driver would accept the
// binary (a rejected one is rebuilt by build_program). False for an empty
// cache_dir.
bool has_cached_program(const DeviceInfo& device, const std::string& source, const std::string& options,
                        const std::string& cache_dir);

// Builds `source` for `device` in `context`, through the cache in `cache_dir`
// when it is not empty. A failed source build throws Error(device_failure)
// with the build log.
BuiltProgram build_program(cl_context context, const DeviceInfo& device, const std::string& source,
                           const std::string& options, const std::string& cache_dir);

// Stores the program's binary in its cache file (after a warm-up run, so
// drivers that keep per-kernel code in the binary, like PoCL, store it too).
// Failures are logged, not thrown: the cache is an optimisation.
void store_program_binary(cl_program program, const DeviceInfo& device, const std::string& key,
                          const std::string& cache_file);

}  // namespace autosched::ocl
