#include "devices/opencl/ocl_compiled_model.hpp"

#include <clblast.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "core/logging.hpp"
#include "devices/opencl/ocl_kernels.hpp"
#include "devices/opencl/ocl_lowering.hpp"

namespace autosched::ocl {

namespace {
double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void check_blas(clblast::StatusCode status, const std::string& label) {
  if (status == clblast::StatusCode::kSuccess) return;
  const int code = int(status);
  std::string message = "OCL: CLBlast GEMM of '" + label + "' failed with status " + std::to_string(code);
  if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES || code == CL_OUT_OF_HOST_MEMORY)
    message += " (out of device memory or resources)";
  throw Error(ErrorCode::device_failure, message);
}

// Equal spacing of a GEMM batch's offsets (strided batched), or 0 when irregular.
bool uniform(const std::vector<std::size_t>& offsets, std::size_t& stride) {
  stride = offsets.size() > 1 ? offsets[1] - offsets[0] : 0;
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] - offsets[i - 1] != stride || offsets[i] < offsets[i - 1]) return false;
  return true;
}
}  // namespace

void CacheState::mark_blas_built(std::uint64_t key) {
  std::lock_guard lock(mutex_);
  blas_built_.insert(key);
}

bool CacheState::blas_built(std::uint64_t key) const {
  std::lock_guard lock(mutex_);
  return blas_built_.count(key) != 0;
}

std::uint64_t blas_key(const ir::Graph& graph, const DeviceInfo& device) {
  std::uint64_t h = fnv1a(device.name.data(), device.name.size());
  auto add = [&h](const std::string& text) { h = fnv1a(text.data(), text.size() + 1, h); };  // with the '\0'
  add(std::to_string(device.compute_units));
  for (const auto& node : graph.nodes) {
    add(node.op_type);
    for (const auto& v : node.inputs) add(v);
    for (const auto& v : node.outputs) add(v);
    for (const char* attr : {"transA", "transB", "group"}) add(std::to_string(node.get_int(attr, -1)));
  }
  for (const auto& [name, info] : graph.values) {
    add(name);
    add(info.shape.to_string());
  }
  return h;
}

struct OclCompiledModel::Slot {
  Queue queue;
  std::vector<Kernel> kernels;  // by KernelId
  std::vector<Buffer> pool;
  std::vector<Buffer> inputs;
  Buffer scratch;
};

class OclSyncRequest : public plugin::ISyncInferRequest {
 public:
  explicit OclSyncRequest(std::shared_ptr<OclCompiledModel> model) : model_(std::move(model)) {}
  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    cancel_ = false;
    model_->infer(inputs, outputs, cancel_);
  }
  void cancel() override { cancel_ = true; }

 private:
  std::shared_ptr<OclCompiledModel> model_;
  std::atomic<bool> cancel_{false};
};

OclCompiledModel::OclCompiledModel(Model model, DeviceInfo device, SubDevice sub_device, CompileOptions options,
                                   std::shared_ptr<CacheState> cache)
    : model_(std::move(model)),
      device_(std::move(device)),
      sub_device_(std::move(sub_device)),
      options_(std::move(options)),
      cache_(std::move(cache)) {
  const auto start = std::chrono::steady_clock::now();
  plan_ = lower_graph(model_.graph());  // unsupported ops fail before any CL work
  context_ = create_context(device_.id);
  const auto build_start = std::chrono::steady_clock::now();
  program_ = build_program(context_.get(), device_, kernel_source(), build_options(device_.fp64), options_.cache_dir);
  build_ms_ = ms_since(build_start);
  switch (program_.outcome) {
    case CacheOutcome::hit: ++cache_->hits; break;
    case CacheOutcome::miss: ++cache_->misses; break;
    case CacheOutcome::rebuilt: ++cache_->rebuilt; break;
    case CacheOutcome::disabled: break;
  }
  for (const Tensor& t : plan_.constants)
    constants_.push_back(create_buffer(context_.get(), t.byte_size(), t.data(), CL_MEM_READ_ONLY));
  meta_ = create_buffer(context_.get(), plan_.meta.size() * sizeof(std::int32_t),
                        plan_.meta.empty() ? nullptr : plan_.meta.data(), CL_MEM_READ_ONLY);
  for (unsigned s = 0; s < options_.slots; ++s) {
    slots_.push_back(make_slot());
    free_slots_.push_back(slots_.back().get());
  }
  // Warm-up on zero inputs: PoCL generates per-kernel code and CLBlast
  // compiles its GEMM kernels on first use; both belong to compile time.
  const auto warmup_start = std::chrono::steady_clock::now();
  std::vector<Tensor> inputs, outputs;
  for (const auto& port : model_.inputs()) inputs.emplace_back(port.element_type, port.shape.to_shape());
  const std::vector<bool> steps = warmup_steps();
  run(*slots_.front(), inputs, outputs, nullptr, &steps);
  warmup_ms_ = ms_since(warmup_start);
  cache_->mark_blas_built(blas_key(model_.graph(), device_));
  if (program_.outcome == CacheOutcome::miss || program_.outcome == CacheOutcome::rebuilt)
    store_program_binary(program_.program.get(), device_,
                         program_cache_key(device_, kernel_source(), build_options(device_.fp64)), program_.cache_file);
  compile_ms_ = ms_since(start);
  log().debug("OCL: compiled '{}' for {}: {} steps, {} pool buffers ({} KiB, naive {} KiB), {} fused, {} folded, "
              "program {} in {:.1f} ms, warm-up {:.1f} ms, total {:.1f} ms",
              model_.name(), options_.device_name, plan_.steps.size(), plan_.pool_bytes.size(),
              [&] { std::size_t b = 0; for (auto x : plan_.pool_bytes) b += x; return b / 1024; }(),
              plan_.naive_pool_bytes / 1024, plan_.fused_nodes, plan_.folded_nodes, to_string(program_.outcome),
              build_ms_, warmup_ms_, compile_ms_);
}

OclCompiledModel::~OclCompiledModel() {
  for (auto& slot : slots_)
    if (slot->queue) clFinish(slot->queue.get());
}

std::unique_ptr<OclCompiledModel::Slot> OclCompiledModel::make_slot() {
  auto slot = std::make_unique<Slot>();
  slot->queue = create_queue(context_.get(), device_.id);
  for (int k = 0; k < int(KernelId::count); ++k) {
    cl_int status = CL_SUCCESS;
    slot->kernels.emplace_back(clCreateKernel(program_.program.get(), kernel_name(KernelId(k)), &status));
    check(status, "clCreateKernel");
  }
  for (std::size_t bytes : plan_.pool_bytes) slot->pool.push_back(create_buffer(context_.get(), bytes));
  for (const auto& port : model_.inputs())
    slot->inputs.push_back(
        create_buffer(context_.get(), std::size_t(shape_size(port.shape.to_shape())) * element_size(port.element_type),
                      nullptr, CL_MEM_READ_ONLY));
  slot->scratch = create_buffer(context_.get(), plan_.scratch_bytes);
  return slot;
}

cl_mem OclCompiledModel::resolve(const Slot& slot, const ValueRef& ref) const {
  switch (ref.kind) {
    case ValueRef::Kind::input: return slot.inputs.at(std::size_t(ref.index)).get();
    case ValueRef::Kind::constant: return constants_.at(std::size_t(ref.index)).get();
    case ValueRef::Kind::pool: return slot.pool.at(std::size_t(ref.index)).get();
    case ValueRef::Kind::scratch: return slot.scratch.get();
    case ValueRef::Kind::meta: return meta_.get();
    case ValueRef::Kind::none: break;
  }
  throw Error(ErrorCode::internal, "OCL: unresolved buffer reference");
}

// The steps a warm-up must run so every driver/CLBlast compilation happens:
// each own kernel once per global size (PoCL generates code per work-group
// size, which follows the global size) and, per GEMM routine and
// transposition, the smallest and the largest product (CLBlast picks its
// direct or indirect kernels by size). Outputs of a warm-up are meaningless.
std::vector<bool> OclCompiledModel::warmup_steps() const {
  std::vector<bool> run(plan_.steps.size(), false);
  std::set<std::pair<int, std::size_t>> kernels;
  std::map<std::tuple<int, bool, bool>, std::pair<std::size_t, std::size_t>> smallest, largest;  // → (size, step)
  for (std::size_t i = 0; i < plan_.steps.size(); ++i) {
    if (const auto* k = std::get_if<KernelLaunch>(&plan_.steps[i].body)) {
      run[i] = kernels.insert({int(k->kernel), k->global_size}).second;
      continue;
    }
    const auto& g = std::get<GemmCall>(plan_.steps[i].body);
    const int routine = g.m == 1 && g.c_offsets.size() == 1 ? 0 : (g.c_offsets.size() > 1 ? 1 : 2);
    const auto key = std::make_tuple(routine, g.trans_a, g.trans_b);
    const std::size_t size = g.m * g.n * g.k;
    if (!smallest.count(key) || size < smallest[key].first) smallest[key] = {size, i};
    if (!largest.count(key) || size > largest[key].first) largest[key] = {size, i};
  }
  for (const auto* group : {&smallest, &largest})
    for (const auto& [key, entry] : *group) run[entry.second] = true;
  return run;
}

void OclCompiledModel::run(Slot& slot, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                           const std::atomic<bool>* cancel, const std::vector<bool>* only) {
  cl_command_queue queue = slot.queue.get();
  for (std::size_t k = 0; k < inputs.size(); ++k)
    check(clEnqueueWriteBuffer(queue, slot.inputs[k].get(), CL_FALSE, 0, inputs[k].byte_size(), inputs[k].data(), 0,
                               nullptr, nullptr),
          "clEnqueueWriteBuffer");
  static const bool profile = std::getenv("AUTOSCHED_OCL_PROFILE") != nullptr;
  std::map<std::string, double> profile_ms;  // by step kind
  auto step_start = std::chrono::steady_clock::now();
  auto account = [&](const Step& step) {
    if (!profile) return;
    clFinish(queue);
    const std::size_t open = step.label.rfind('[');
    std::string kind = step.label.substr(0, step.label.find(' '));
    if (open != std::string::npos) kind.append(1, ' ').append(step.label, open, std::string::npos);
    profile_ms[kind] += ms_since(step_start);
    step_start = std::chrono::steady_clock::now();
  };
  for (const Step& step : plan_.steps) {
    if (only && !(*only)[std::size_t(&step - plan_.steps.data())]) continue;
    if (profile && &step != &plan_.steps.front()) account(*(&step - 1));
    if (cancel && cancel->load()) {
      clFinish(queue);
      throw Error(ErrorCode::cancelled, "OCL: inference of '" + model_.name() + "' was cancelled");
    }
    if (const auto* launch = std::get_if<KernelLaunch>(&step.body)) {
      cl_kernel kernel = slot.kernels[std::size_t(launch->kernel)].get();
      for (std::size_t a = 0; a < launch->args.size(); ++a) {
        const KernelArg& arg = launch->args[a];
        cl_int status = CL_SUCCESS;
        if (arg.kind == KernelArg::Kind::buffer) {
          cl_mem mem = resolve(slot, arg.buffer);
          status = clSetKernelArg(kernel, cl_uint(a), sizeof mem, &mem);
        } else if (arg.kind == KernelArg::Kind::i32) {
          status = clSetKernelArg(kernel, cl_uint(a), sizeof arg.i, &arg.i);
        } else {
          status = clSetKernelArg(kernel, cl_uint(a), sizeof arg.f, &arg.f);
        }
        check(status, "clSetKernelArg");
      }
      const std::size_t global = launch->global_size;
      const cl_int status = clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr);
      if (status != CL_SUCCESS) check(status, ("clEnqueueNDRangeKernel (" + step.label + ")").c_str());
      continue;
    }
    const auto& g = std::get<GemmCall>(step.body);
    const auto ta = g.trans_a ? clblast::Transpose::kYes : clblast::Transpose::kNo;
    const auto tb = g.trans_b ? clblast::Transpose::kYes : clblast::Transpose::kNo;
    cl_mem a = resolve(slot, g.a), b = resolve(slot, g.b), c = resolve(slot, g.c);
    std::size_t sa = 0, sb = 0, sc = 0;
    const std::size_t batch = g.c_offsets.size();
    if (g.m == 1 && batch == 1) {  // one row (batch-1 Gemm/MatMul): GEMV reads the weights once, no padding copies
      const auto tv = g.trans_b ? clblast::Transpose::kNo : clblast::Transpose::kYes;
      check_blas(clblast::Gemv<float>(clblast::Layout::kRowMajor, tv, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n,
                                      g.alpha, b, g.b_offsets[0], g.ldb, a, g.a_offsets[0], g.trans_a ? g.lda : 1,
                                      g.beta, c, g.c_offsets[0], 1, &queue),
                 step.label);
      continue;
    }
    if (batch > 1 && uniform(g.a_offsets, sa) && uniform(g.b_offsets, sb) && uniform(g.c_offsets, sc)) {
      check_blas(clblast::GemmStridedBatched<float>(clblast::Layout::kRowMajor, ta, tb, g.m, g.n, g.k, g.alpha, a,
                                                    g.a_offsets[0], g.lda, sa, b, g.b_offsets[0], g.ldb, sb, g.beta, c,
                                                    g.c_offsets[0], g.ldc, sc, batch, &queue),
                 step.label);
      continue;
    }
    for (std::size_t i = 0; i < batch; ++i)
      check_blas(clblast::Gemm<float>(clblast::Layout::kRowMajor, ta, tb, g.m, g.n, g.k, g.alpha, a, g.a_offsets[i],
                                      g.lda, b, g.b_offsets[i], g.ldb, g.beta, c, g.c_offsets[i], g.ldc, &queue),
                 step.label);
  }
  if (profile && !plan_.steps.empty()) {
    account(plan_.steps.back());
    for (const auto& [kind, t] : profile_ms) log().info("OCL profile {}: {:<40} {:9.2f} ms", model_.name(), kind, t);
  }
  const auto& ports = model_.outputs();
  outputs.resize(ports.size());
  for (std::size_t k = 0; k < ports.size(); ++k) {
    const OutputSource& source = plan_.outputs[k];
    const Shape shape = source.host ? source.host.shape() : ports[k].shape.to_shape();
    const ElementType type = source.host ? source.host.element_type() : ElementType::f32;
    if (outputs[k].empty() || outputs[k].element_type() != type) outputs[k] = Tensor(type, shape);
    else if (outputs[k].shape() != shape) outputs[k].set_shape(shape);
    if (source.host) {
      std::memcpy(outputs[k].data(), source.host.data(), source.host.byte_size());
      continue;
    }
    check(clEnqueueReadBuffer(queue, resolve(slot, source.value), CL_FALSE, 0, outputs[k].byte_size(),
                              outputs[k].data(), 0, nullptr, nullptr),
          "clEnqueueReadBuffer");
  }
  check(clFinish(queue), "clFinish");
}

void OclCompiledModel::infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                             const std::atomic<bool>& cancel) {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mutex_);
    slot_freed_.wait(lock, [&] { return !free_slots_.empty(); });
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  struct Release {
    OclCompiledModel* self;
    Slot* slot;
    ~Release() {
      {
        std::lock_guard lock(self->mutex_);
        self->free_slots_.push_back(slot);
      }
      self->slot_freed_.notify_one();
    }
  } release{this, slot};
  run(*slot, inputs, outputs, &cancel);
}

std::unique_ptr<plugin::ISyncInferRequest> OclCompiledModel::create_sync_request() {
  return std::make_unique<OclSyncRequest>(shared_from_this());
}

std::string OclCompiledModel::get_property(const std::string& name) const {
  if (name == "optimal_number_of_infer_requests" || name == "num_streams")
    return to_property_string(std::int64_t(options_.slots));
  if (name == "execution_devices") return options_.device_name;
  if (name == "performance_mode") return to_property_string(options_.mode);
  if (name == "inference_precision") return "f32";
  if (name == "device_full_name") return device_.name;
  if (name == "ocl_compute_units") return to_property_string(std::int64_t(device_.compute_units));
  if (name == "ocl_program_cache") return to_string(program_.outcome);
  if (name == "ocl_cache_hits") return to_property_string(cache_->hits.load());
  if (name == "ocl_compile_ms") return to_property_string(compile_ms_);
  if (name == "ocl_program_build_ms") return to_property_string(build_ms_);
  if (name == "ocl_warmup_ms") return to_property_string(warmup_ms_);
  if (name == "ocl_plan_steps") return to_property_string(std::int64_t(plan_.steps.size()));
  if (name == "ocl_pool_buffers") return to_property_string(std::int64_t(plan_.pool_bytes.size()));
  if (name == "supported_properties")
    return "optimal_number_of_infer_requests,execution_devices,num_streams,performance_mode,inference_precision,"
           "device_full_name,ocl_compute_units,ocl_program_cache,ocl_cache_hits,ocl_compile_ms,"
           "ocl_program_build_ms,ocl_warmup_ms,ocl_plan_steps,ocl_pool_buffers";
  throw Error(ErrorCode::not_found, options_.device_name + " compiled model has no property '" + name +
                                        "'; supported: " + get_property("supported_properties"));
}

}  // namespace autosched::ocl
