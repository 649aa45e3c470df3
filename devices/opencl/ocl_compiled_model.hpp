#pragma once
// A model compiled for one OpenCL device (or sub-device): its own context, the
// kernel program (built once, through the binary cache), the plan, weights
// uploaded once, and one execution slot per parallel request — a slot is an
// in-order command queue with its own kernel objects and activation buffers,
// allocated once and reused by every inference that runs in it.
//
// Where compile time goes and what is cached:
//  * own kernels: one program per compiled model, through the program-binary
//    cache under cache_dir (ocl_program_cache.hpp). The binary is read back
//    after the warm-up run, so PoCL's per-kernel code is inside it.
//  * CLBlast: compiles its GEMM/GEMV kernels on first use; the warm-up run
//    makes that happen inside compile_model instead of the first request.
//    Within a process CLBlast keeps the binaries in its own cache (shared by
//    every context on the device). CLBlast 1.5.3 has no API to export or
//    import them, so across processes they persist only through the driver's
//    cache (PoCL: POCL_CACHE_DIR / ~/.cache/pocl/kcache). OverrideParameters
//    is not used: without tuned parameters for a device it would only force a
//    recompile with the same defaults.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"
#include "autosched/plugin/graph.hpp"
#include "devices/opencl/ocl_api.hpp"
#include "devices/opencl/ocl_device_info.hpp"
#include "devices/opencl/ocl_plan.hpp"
#include "devices/opencl/ocl_program_cache.hpp"

namespace autosched::ocl {

struct CompileOptions {
  std::string device_name;  // "OCL.0"
  unsigned slots = 1;
  PerformanceMode mode = PerformanceMode::LATENCY;
  std::string cache_dir;
  std::int64_t compute_units = 0;  // > 0: ran on a sub-device of this many units
};

// What a device's compiled models share about caching: the program-binary
// cache counters, and the models whose CLBlast kernels this process has built
// (they stay in CLBlast's in-process cache; see above). Thread-safe.
struct CacheState {
  std::atomic<std::int64_t> hits{0}, misses{0}, rebuilt{0};

  void mark_blas_built(std::uint64_t key);
  bool blas_built(std::uint64_t key) const;

 private:
  mutable std::mutex mutex_;
  std::set<std::uint64_t> blas_built_;
};

// Identifies the CLBlast work of compiling `graph` on `device`: the device
// (name, compute units), every node's op, values and the attributes that pick
// GEMM routines, and every value's shape. Cheap: no lowering.
std::uint64_t blas_key(const ir::Graph& graph, const DeviceInfo& device);

class OclCompiledModel : public plugin::ICompiledModel, public std::enable_shared_from_this<OclCompiledModel> {
 public:
  // Builds everything and runs one warm-up inference (so lazy driver and
  // CLBlast code generation happens here, not in the first request). Throws
  // Error(unsupported) for ops it cannot run, Error(device_failure) for CL errors.
  OclCompiledModel(Model model, DeviceInfo device, SubDevice sub_device, CompileOptions options,
                   std::shared_ptr<CacheState> cache);
  ~OclCompiledModel() override;

  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override;
  unsigned num_parallel_requests() const override { return options_.slots; }
  std::string get_property(const std::string& name) const override;
  const Model& model() const override { return model_; }

  // Runs one inference in a free slot (waits for one); thread-safe.
  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, const std::atomic<bool>& cancel);

 private:
  struct Slot;
  std::unique_ptr<Slot> make_slot();
  // Runs the plan; `only` (warm-up) selects a subset of the steps.
  void run(Slot& slot, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
           const std::atomic<bool>* cancel, const std::vector<bool>* only = nullptr);
  std::vector<bool> warmup_steps() const;
  cl_mem resolve(const Slot& slot, const ValueRef& ref) const;

  Model model_;
  DeviceInfo device_;
  SubDevice sub_device_;
  CompileOptions options_;
  std::shared_ptr<CacheState> cache_;
  Context context_;
  BuiltProgram program_;
  Plan plan_;
  std::vector<Buffer> constants_;
  Buffer meta_;
  double compile_ms_ = 0, build_ms_ = 0, warmup_ms_ = 0;

  std::mutex mutex_;
  std::condition_variable slot_freed_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_slots_;
};

}  // namespace autosched::ocl
