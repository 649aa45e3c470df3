// OCL.<n>: every OpenCL device found through the ICD loader (GPU-typed ones
// also answer to GPU / GPU.<n>). Compiling builds the own-kernel program once
// per compiled model (through the program-binary cache when cache_dir is set),
// uploads the weights and runs GEMMs through CLBlast. Without any OpenCL
// platform the provider returns no device (debug log), which is not an error.
// is_compile_cached answers without building anything (AUTO then skips its CPU helper).
#include <memory>
#include <mutex>

#include "autosched/plugin/device_registry.hpp"
#include "core/logging.hpp"
#include "devices/opencl/ocl_compiled_model.hpp"
#include "devices/opencl/ocl_device_info.hpp"
#include "devices/opencl/ocl_kernels.hpp"
#include "devices/opencl/ocl_lowering.hpp"

namespace autosched::ocl {

namespace {

class OclDevice : public plugin::IDevice {
 public:
  OclDevice(DeviceInfo info, std::string name, std::vector<std::string> aliases)
      : info_(std::move(info)), name_(std::move(name)), aliases_(std::move(aliases)) {}

  std::string name() const override { return name_; }
  std::vector<std::string> aliases() const override { return aliases_; }
  plugin::DeviceClass device_class() const override {
    if (!info_.gpu) return plugin::DeviceClass::accelerator;
    return info_.unified_memory ? plugin::DeviceClass::integrated_gpu : plugin::DeviceClass::discrete_gpu;
  }
  bool shares_host_cpu() const override { return (info_.type & CL_DEVICE_TYPE_CPU) != 0; }
  std::vector<std::string> capabilities() const override { return {"FP32"}; }

  std::set<std::string> query_model(const Model& model) const override { return supported_nodes(model.graph()); }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    CompileOptions options;
    options.device_name = name_;
    options.mode = get_or(properties, hint::performance_mode, PerformanceMode::LATENCY);
    options.slots = options.mode == PerformanceMode::LATENCY ? 1u : 2u;
    options.slots = unsigned(get_or(properties, num_streams, std::int64_t(options.slots)));
    if (options.slots == 0) options.slots = 1;
    options.cache_dir = get_or(properties, cache_dir, std::string());
    options.compute_units = get_or(properties, ocl_compute_units, std::int64_t(0));
    SubDevice sub;
    DeviceInfo target = compile_target(options.compute_units, sub);
    return std::make_shared<OclCompiledModel>(model, std::move(target), std::move(sub), std::move(options),
                                              cache_);
  }

  // True when every program the compile would build is at hand: cache_dir
  // holds a valid binary of the own-kernel program (one per device or
  // sub-device; its key does not depend on the model), and the model either
  // needs no CLBlast kernel or this process already built its CLBlast kernels
  // on this device. CLBlast's kernels are in no file we control (see
  // ocl_compiled_model.hpp): with the driver's cache cold they cost seconds
  // even when the own program is a hit, so a new process answers false for
  // models with Gemm / MatMul / Conv. Reads one file, builds nothing.
  bool is_compile_cached(const Model& model, const Properties& properties) const override {
    try {
      const auto dir = get_or(properties, cache_dir, std::string());
      if (dir.empty()) return false;
      SubDevice sub;
      const DeviceInfo target = compile_target(get_or(properties, ocl_compute_units, std::int64_t(0)), sub);
      if (!has_cached_program(target, kernel_source(), build_options(target.fp64), dir)) return false;
      return !may_use_blas(model.graph()) || cache_->blas_built(blas_key(model.graph(), target));
    } catch (const std::exception& e) {
      log().debug("OCL: {}: no compile-cache answer ({}); treated as a miss", name_, e.what());
      return false;
    }
  }

  std::vector<std::string> supported_properties() const override {
    auto names = IDevice::supported_properties();
    for (const char* n : {"device_vendor", "ocl_platform", "ocl_device_version", "ocl_driver_version",
                          "ocl_opencl_c_version", "ocl_compute_units", "ocl_global_memory", "ocl_local_memory",
                          "ocl_max_allocation", "ocl_fp16", "ocl_fp64", "ocl_unified_memory", "ocl_sub_devices",
                          "ocl_cache_hits", "ocl_cache_misses", "ocl_cache_rebuilt"})
      names.emplace_back(n);
    return names;
  }

  std::string get_property(const std::string& name) const override {
    if (name == "device_full_name") return info_.name;
    if (name == "device_vendor") return info_.vendor;
    if (name == "ocl_platform") return info_.platform_name + " (" + info_.platform_version + ")";
    if (name == "ocl_device_version") return info_.device_version;
    if (name == "ocl_driver_version") return info_.driver_version;
    if (name == "ocl_opencl_c_version") return info_.opencl_c_version;
    if (name == "ocl_compute_units") return to_property_string(std::int64_t(info_.compute_units));
    if (name == "ocl_global_memory") return to_property_string(std::int64_t(info_.global_memory));
    if (name == "ocl_local_memory") return to_property_string(std::int64_t(info_.local_memory));
    if (name == "ocl_max_allocation") return to_property_string(std::int64_t(info_.max_allocation));
    if (name == "ocl_fp16") return to_property_string(info_.fp16);
    if (name == "ocl_fp64") return to_property_string(info_.fp64);
    if (name == "ocl_unified_memory") return to_property_string(info_.unified_memory);
    if (name == "ocl_sub_devices") return to_property_string(info_.partition_by_counts);
    if (name == "ocl_cache_hits") return to_property_string(cache_->hits.load());
    if (name == "ocl_cache_misses") return to_property_string(cache_->misses.load());
    if (name == "ocl_cache_rebuilt") return to_property_string(cache_->rebuilt.load());
    return IDevice::get_property(name);
  }

 private:
  // The device a compile runs on: this one, or a sub-device of `compute_units`
  // units (kept alive by `sub`). Throws for a count the device cannot give.
  DeviceInfo compile_target(std::int64_t compute_units, SubDevice& sub) const {
    if (compute_units > 0 && compute_units < std::int64_t(info_.compute_units)) {
      if (!info_.partition_by_counts)
        throw Error(ErrorCode::unsupported, name_ + " (" + info_.name +
                                                ") cannot be partitioned by counts; ocl_compute_units is not available");
      const cl_device_partition_property props[] = {CL_DEVICE_PARTITION_BY_COUNTS,
                                                    cl_device_partition_property(compute_units),
                                                    CL_DEVICE_PARTITION_BY_COUNTS_LIST_END, 0};
      cl_uint count = 0;
      cl_device_id id = nullptr;
      check(clCreateSubDevices(info_.id, props, 1, &id, &count), "clCreateSubDevices");
      sub = SubDevice(id);
      DeviceInfo target = read_device_info(info_.platform, id);
      log().debug("OCL: {} runs on a sub-device of {} compute units", name_, target.compute_units);
      return target;
    }
    if (compute_units > std::int64_t(info_.compute_units))
      throw Error(ErrorCode::invalid_argument, "ocl_compute_units=" + std::to_string(compute_units) + " exceeds the " +
                                                   std::to_string(info_.compute_units) + " compute units of " + name_ +
                                                   " (" + info_.name + ")");
    return info_;
  }

  DeviceInfo info_;
  std::string name_;
  std::vector<std::string> aliases_;
  std::shared_ptr<CacheState> cache_ = std::make_shared<CacheState>();
};

std::vector<std::shared_ptr<plugin::IDevice>> provide_devices(const plugin::DeviceContext&) {
  std::vector<std::shared_ptr<plugin::IDevice>> out;
  std::vector<DeviceInfo> infos;
  try {
    infos = enumerate_devices();
  } catch (const std::exception& e) {
    log().warn("OCL: OpenCL enumeration failed, no OCL device: {}", e.what());
    return out;
  }
  int gpus = 0;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    std::vector<std::string> aliases;
    if (infos[i].gpu) {
      if (gpus == 0) aliases.emplace_back("GPU");
      aliases.push_back("GPU." + std::to_string(gpus++));
    }
    log().debug("OCL: OCL.{} is '{}' ({}, {} compute units)", i, infos[i].name, infos[i].platform_name,
                infos[i].compute_units);
    out.push_back(std::make_shared<OclDevice>(std::move(infos[i]), "OCL." + std::to_string(i), std::move(aliases)));
  }
  return out;
}

}  // namespace

AUTOSCHED_REGISTER_DEVICE("OCL", 20, provide_devices);

}  // namespace autosched::ocl
