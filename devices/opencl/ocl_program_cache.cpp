#include "devices/opencl/ocl_program_cache.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched::ocl {

namespace fs = std::filesystem;

namespace {
constexpr char kMagic[8] = {'A', 'S', 'O', 'C', 'L', 'P', 'B', '1'};
constexpr std::uint32_t kFormatVersion = 1;

// File layout: magic[8], u32 version, u32 key length, key, u64 payload size,
// u64 payload FNV-1a, payload.
struct Header {
  std::uint32_t version = kFormatVersion;
  std::uint32_t key_size = 0;
};

template <class T> void put(std::string& out, const T& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
template <class T> bool take(const std::string& in, std::size_t& pos, T& v) {
  if (in.size() - pos < sizeof v) return false;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return true;
}

// The binary stored for `key`, or "" with `why` set.
std::string load_payload(const std::string& file, const std::string& key, std::string& why) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  std::size_t pos = 0;
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    why = "bad header";
    return {};
  }
  pos = sizeof kMagic;
  Header h;
  std::uint64_t size = 0, checksum = 0;
  if (!take(data, pos, h.version) || h.version != kFormatVersion) {
    why = "unknown format version";
    return {};
  }
  if (!take(data, pos, h.key_size) || data.size() - pos < h.key_size) {
    why = "truncated key";
    return {};
  }
  if (data.compare(pos, h.key_size, key) != 0) {
    why = "stale (key differs: other device, driver, source or options)";
    return {};
  }
  pos += h.key_size;
  if (!take(data, pos, size) || !take(data, pos, checksum) || data.size() - pos != size || size == 0) {
    why = "bad size";
    return {};
  }
  std::string payload = data.substr(pos);
  if (fnv1a(payload.data(), payload.size()) != checksum) {
    why = "checksum mismatch";
    return {};
  }
  return payload;
}

// Where the binary of `key` is stored.
std::string cache_file_for(const std::string& cache_dir, const std::string& key) {
  return (fs::path(cache_dir) / fmt::format("ocl_program_{:016x}.bin", fnv1a(key.data(), key.size()))).string();
}

Program build_from_source(cl_context context, cl_device_id device, const std::string& source,
                          const std::string& options) {
  cl_int status = CL_SUCCESS;
  const char* text = source.c_str();
  const std::size_t length = source.size();
  Program program(clCreateProgramWithSource(context, 1, &text, &length, &status));
  check(status, "clCreateProgramWithSource");
  status = clBuildProgram(program.get(), 1, &device, options.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS)
    throw Error(ErrorCode::device_failure, std::string("OCL: building the kernel program failed (") +
                                               error_name(status) + "); build log:\n" +
                                               build_log(program.get(), device));
  return program;
}

// nullptr (and `why`) when the driver rejects the binary.
Program build_from_binary(cl_context context, cl_device_id device, const std::string& binary,
                          const std::string& options, std::string& why) {
  cl_int status = CL_SUCCESS, binary_status = CL_SUCCESS;
  const auto* bytes = reinterpret_cast<const unsigned char*>(binary.data());
  const std::size_t length = binary.size();
  Program program(clCreateProgramWithBinary(context, 1, &device, &length, &bytes, &binary_status, &status));
  if (status != CL_SUCCESS || binary_status != CL_SUCCESS) {
    why = std::string("driver rejected the binary (") + error_name(status != CL_SUCCESS ? status : binary_status) + ")";
    return {};
  }
  status = clBuildProgram(program.get(), 1, &device, options.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS) {
    why = std::string("clBuildProgram on the binary failed (") + error_name(status) + ")";
    return {};
  }
  return program;
}
}  // namespace

const char* to_string(CacheOutcome outcome) noexcept {
  switch (outcome) {
    case CacheOutcome::disabled: return "disabled";
    case CacheOutcome::miss: return "miss";
    case CacheOutcome::hit: return "hit";
    case CacheOutcome::rebuilt: return "rebuilt";
  }
  return "unknown";
}

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t seed) {
  std::uint64_t h = seed;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

std::string program_cache_key(const DeviceInfo& device, const std::string& source, const std::string& options) {
  return fmt::format("device={}|vendor={}|compute_units={}|device_version={}|driver={}|platform={}|source={:016x}|"
                     "options={}",
                     device.name, device.vendor, device.compute_units, device.device_version, device.driver_version,
                     device.platform_version, fnv1a(source.data(), source.size()), options);
}

bool has_cached_program(const DeviceInfo& device, const std::string& source, const std::string& options,
                        const std::string& cache_dir) {
  if (cache_dir.empty()) return false;
  const std::string key = program_cache_key(device, source, options);
  std::string why;
  return !load_payload(cache_file_for(cache_dir, key), key, why).empty();
}

BuiltProgram build_program(cl_context context, const DeviceInfo& device, const std::string& source,
                           const std::string& options, const std::string& cache_dir) {
  BuiltProgram out;
  if (cache_dir.empty()) {
    out.program = build_from_source(context, device.id, source, options);
    return out;
  }
  const std::string key = program_cache_key(device, source, options);
  out.cache_file = cache_file_for(cache_dir, key);
  out.outcome = CacheOutcome::miss;
  std::error_code ec;
  if (fs::exists(out.cache_file, ec)) {
    std::string why;
    const std::string binary = load_payload(out.cache_file, key, why);
    if (!binary.empty()) {
      out.program = build_from_binary(context, device.id, binary, options, why);
      if (out.program) {
        out.outcome = CacheOutcome::hit;
        log().debug("OCL: program binary loaded from {}", out.cache_file);
        return out;
      }
    }
    log().warn("OCL: program cache file {} is unusable ({}); rebuilding from source", out.cache_file, why);
    out.outcome = CacheOutcome::rebuilt;
  }
  out.program = build_from_source(context, device.id, source, options);
  return out;
}

void store_program_binary(cl_program program, const DeviceInfo& device, const std::string& key,
                          const std::string& cache_file) {
  try {
    std::size_t size = 0;
    check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr), "clGetProgramInfo");
    if (size == 0) return;
    std::string payload(size, '\0');
    auto* ptr = reinterpret_cast<unsigned char*>(payload.data());
    check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr), "clGetProgramInfo");
    std::string file(kMagic, sizeof kMagic);
    put(file, kFormatVersion);
    put(file, std::uint32_t(key.size()));
    file += key;
    put(file, std::uint64_t(payload.size()));
    put(file, fnv1a(payload.data(), payload.size()));
    file += payload;
    fs::create_directories(fs::path(cache_file).parent_path());
    const std::string tmp = fmt::format("{}.tmp.{}", cache_file, std::hash<std::thread::id>{}(std::this_thread::get_id()));
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(file.data(), std::streamsize(file.size()));
      if (!out) throw Error(ErrorCode::io, "cannot write " + tmp);
    }
    fs::rename(tmp, cache_file);
    log().debug("OCL: stored program binary for {} ({} bytes) in {}", device.name, payload.size(), cache_file);
  } catch (const std::exception& e) {
    log().warn("OCL: could not store the program binary in {}: {}", cache_file, e.what());
  }
}

}  // namespace autosched::ocl
