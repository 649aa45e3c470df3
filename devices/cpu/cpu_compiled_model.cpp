#include "devices/cpu/cpu_compiled_model.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <optional>
#include <set>
#include <sstream>

#include "autosched/plugin/graph.hpp"
#include "core/logging.hpp"
#include "devices/cpu/omp_wait_policy.hpp"

namespace autosched::cpu {

namespace {

// The calling thread's allowed CPUs, e.g. "0,1".
std::string current_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "?";
  std::ostringstream out;
  bool first = true;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      out << (first ? "" : ",") << c;
      first = false;
    }
  return out.str();
}

class CpuSyncRequest : public plugin::ISyncInferRequest {
 public:
  explicit CpuSyncRequest(std::shared_ptr<CpuCompiledModel> model) : model_(std::move(model)) {}

  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    cancel_ = false;
    std::vector<Shape> shapes;
    shapes.reserve(inputs.size());
    for (const auto& t : inputs) shapes.push_back(t.shape());
    reporting_dnnl_errors([&] {
      const ThreadProgram current(model_->programs(), shapes);
      state_for(current.program()).run(inputs, outputs, cancel_);
    });
  }
  void cancel() override { cancel_ = true; }

 private:
  ProgramState& state_for(const std::shared_ptr<const Program>& program) {
    for (auto it = states_.begin(); it != states_.end(); ++it)
      if (&(*it)->program() == program.get()) {
        states_.splice(states_.begin(), states_, it);
        return *states_.front();
      }
    states_.push_front(std::make_unique<ProgramState>(program));
    while (states_.size() > model_->programs().capacity()) states_.pop_back();
    return *states_.front();
  }

  std::shared_ptr<CpuCompiledModel> model_;
  std::list<std::unique_ptr<ProgramState>> states_;  // most recently used first
  std::atomic<bool> cancel_{false};
};

}  // namespace

CpuCompiledModel::CpuCompiledModel(Model model, CpuConfig config)
    : model_(std::move(model)),
      config_(std::move(config)),
      programs_(model_.graph_ptr(), BuildOptions{config_.precision, config_.convolution}, config_.program_cache_capacity),
      worker_affinity_(config_.plan.streams.size()) {
  std::vector<Shape> shapes;
  bool is_static = true;
  for (const auto& port : model_.inputs()) {
    if (!port.shape.is_static()) {
      is_static = false;
      break;
    }
    shapes.push_back(port.shape.to_shape());
  }
  for (const auto& s : config_.plan.streams)
    if (s.threads > 1 && !omp_wait_lease_) omp_wait_lease_.emplace();  // barriers: see omp_wait_policy.hpp
  if (!is_static) return;
  const auto start = std::chrono::steady_clock::now();
  std::set<int> thread_counts;
  for (const auto& s : config_.plan.streams) thread_counts.insert(std::max(1, s.threads));
  for (int threads : thread_counts) {
    OmpThreadsScope scope(threads);
    static_program_ = programs_.get(shapes, threads);
  }
  programs_.fix_thread_counts();  // other team sizes run these programs (as after seal())
  plan_batching();
  compile_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // Every program a static model needs exists now (or, with batching, once the builder thread is
  // done) and holds the weights in its own layouts: drop the source graph's initializers (the
  // application's Model keeps them while it lives) so the process does not carry two copies of the
  // weights for the compiled model's lifetime.
  if (batch_.batch <= 1) programs_.seal();
  auto ports = std::make_shared<ir::Graph>(model_.graph());
  ports->initializers.clear();
  model_ = Model(std::move(ports));
  log().debug("CPU: compiled '{}' in {:.1f} ms: {} steps, arena {} KiB (naive {} KiB), weights {} KiB; {}",
              model_.name(), compile_ms_, static_program_->steps.size(), static_program_->arena_bytes / 1024,
              static_program_->naive_bytes / 1024, held_weight_bytes(false) / 1024, config_.plan.to_string());
  if (batch_.batch > 1) {  // its builder seals the cache once the batch programs exist
    std::vector<ElementType> types;
    for (const auto& port : model_.inputs()) types.push_back(port.element_type);
    stacked_ = std::make_unique<StackedPrograms>(programs_, shapes, types, batch_.batch, thread_counts,
                                                 config_.plan.streams.size(), model_.name());
  }
}

void CpuCompiledModel::plan_batching() {
  const auto requested = config_.max_batch_size;
  const bool wanted = requested > 1 || (requested == 0 && config_.mode == PerformanceMode::THROUGHPUT);
  batch_ = choose_batch(requested, config_.mode, wanted ? batch_blocker(model_) : std::nullopt,
                        held_weight_bytes(false), static_program_->arena_bytes);
}

CpuCompiledModel::~CpuCompiledModel() = default;

void CpuCompiledModel::infer_batch(unsigned worker, std::vector<plugin::BatchItem>& items) {
  stacked_->run(worker, items);  // max_batch() > 1 only with stacked_
}

std::size_t CpuCompiledModel::held_weight_bytes(bool with_source) const {
  std::size_t bytes = 0;
  std::set<const void*> seen;
  auto count = [&](const void* data, std::size_t size) {
    if (data && seen.insert(data).second) bytes += size;
  };
  for (const auto& program : programs_.programs()) {
    for (const auto& memory : program->constants) count(memory.get_data_handle(), memory.get_desc().get_size());
    for (const auto& slot : program->slots)
      if (slot.kind == TensorSlot::Kind::constant && !slot.constant.empty())
        count(slot.constant.data(), slot.constant.byte_size());
  }
  if (auto graph = with_source ? programs_.graph() : nullptr)  // dynamic shapes: the source weights, for programs built later
    for (const auto& [name, tensor] : graph->initializers) count(tensor.data(), tensor.byte_size());
  return bytes;
}

std::size_t CpuCompiledModel::per_request_bytes(std::size_t Program::*field) const {
  std::size_t bytes = 0;
  for (const auto& program : programs_.programs())
    if (!stacked_ || !stacked_->holds(program.get())) bytes = std::max(bytes, (*program).*field);
  return bytes;
}

std::unique_ptr<plugin::ISyncInferRequest> CpuCompiledModel::create_sync_request() {
  return std::make_unique<CpuSyncRequest>(shared_from_this());
}

void CpuCompiledModel::on_worker_start(unsigned worker) {
  const auto& streams = config_.plan.streams;
  if (streams.empty()) return;
  const auto& stream = streams[worker % streams.size()];
  if (config_.plan.pinned && !stream.pus.empty() && !topology::pin_current_thread(stream.pus))
    log().warn("CPU: could not pin stream {} to its PUs", worker);
  omp_set_num_threads(std::max(1, stream.threads));
  const int team = omp_get_max_threads();
  std::lock_guard lock(workers_mutex_);
  if (worker < worker_affinity_.size())
    worker_affinity_[worker] = "cpus=" + current_affinity() + " threads=" + std::to_string(team);
}

std::string CpuCompiledModel::get_property(const std::string& name) const {
  const auto& plan = config_.plan;
  // With batching, enough requests in flight for every stream to fill its batch.
  if (name == "optimal_number_of_infer_requests")
    return to_property_string(std::int64_t(plan.streams.size() * batch_.batch));
  if (name == "max_batch_size") return to_property_string(std::int64_t(batch_.batch));
  // What depends on the batch programs answers once they are built (at most a few hundred ms after
  // compile_model returned).
  static const std::set<std::string> after_batch_programs = {
      "batching", "cpu_batch_build_ms", "cpu_program_cache", "weights_bytes", "activation_bytes_per_request",
      "naive_activation_bytes_per_request", "scratchpad_bytes_per_request", "batch_activation_bytes"};
  if (stacked_ && after_batch_programs.count(name)) stacked_->wait();
  if (name == "batching") {
    const std::string failure = stacked_ ? stacked_->error() : "";
    return failure.empty() ? batch_.reason : "off: building the batch programs failed: " + failure;
  }
  if (name == "cpu_batch_build_ms") return to_property_string(stacked_ ? stacked_->build_ms() : 0.0);
  if (name == "cpu_batches")  // stacked inferences run so far and the requests they carried
    return stacked_ ? stacked_->counts() : "runs=0 requests=0";
  if (name == "execution_devices") return "CPU";
  if (name == "num_streams") return to_property_string(std::int64_t(plan.streams.size()));
  if (name == "inference_num_threads") return to_property_string(std::int64_t(plan.total_threads()));
  if (name == "performance_mode") return to_property_string(config_.mode);
  if (name == "inference_precision") return to_property_string(config_.precision);
  if (name == "enable_cpu_pinning") return to_property_string(plan.pinned);
  if (name == "cpu_isa") return config_.isa;
  if (name == "cpu_convolution") return to_string(config_.convolution);
  if (name == "cpu_stream_plan") return plan.to_string();
  if (name == "cpu_compile_ms") return to_property_string(compile_ms_);
  if (name == "cpu_plan" || name == "cpu_arena_bytes" || name == "cpu_naive_activation_bytes") {
    auto program = static_program_ ? static_program_ : programs_.latest();
    if (!program) return "";
    if (name == "cpu_plan") return program->describe();
    return to_property_string(std::int64_t(name == "cpu_arena_bytes" ? program->arena_bytes : program->naive_bytes));
  }
  if (name == "weights_bytes") return to_property_string(std::int64_t(held_weight_bytes()));
  if (name == "activation_bytes_per_request")
    return to_property_string(std::int64_t(per_request_bytes(&Program::arena_bytes)));
  if (name == "naive_activation_bytes_per_request")
    return to_property_string(std::int64_t(per_request_bytes(&Program::naive_bytes)));
  if (name == "batch_activation_bytes")  // each worker's arena and scratchpad for stacked requests
    return to_property_string(std::int64_t(stacked_ ? stacked_->worker_bytes() : 0));
  if (name == "scratchpad_bytes_per_request")
    return to_property_string(std::int64_t(per_request_bytes(&Program::scratchpad_bytes)));
  if (name == "cpu_program_cache") {
    return "size=" + std::to_string(programs_.size()) + " builds=" + std::to_string(programs_.builds()) +
           " capacity=" + std::to_string(programs_.capacity());
  }
  if (name == "cpu_worker_affinity") {
    std::lock_guard lock(workers_mutex_);
    std::string out;
    for (std::size_t w = 0; w < worker_affinity_.size(); ++w)
      out += (w ? ";" : "") + std::to_string(w) + ":" + worker_affinity_[w];
    return out;
  }
  if (name == "supported_properties")
    return "optimal_number_of_infer_requests,max_batch_size,batching,cpu_batches,cpu_batch_build_ms,execution_devices,num_streams,inference_num_threads,performance_mode,"
           "inference_precision,enable_cpu_pinning,cpu_isa,cpu_convolution,cpu_stream_plan,cpu_compile_ms,cpu_plan,cpu_arena_bytes,"
           "cpu_naive_activation_bytes,cpu_program_cache,cpu_worker_affinity,weights_bytes,"
           "activation_bytes_per_request,naive_activation_bytes_per_request,scratchpad_bytes_per_request,batch_activation_bytes";
  throw Error(ErrorCode::not_found, "CPU compiled model has no property '" + name + "'; supported: " +
                                        get_property("supported_properties"));
}

}  // namespace autosched::cpu
