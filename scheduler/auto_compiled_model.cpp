#include "scheduler/auto_compiled_model.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/logging.hpp"
#include "scheduler/auto_infer_request.hpp"
#include "scheduler/policy_registry.hpp"

namespace autosched::scheduler {

namespace {

std::atomic<unsigned> next_instance{1};

}  // namespace

PolicyConfig policy_config_for(const AutoConfig& config) {
  PolicyConfig c;
  c.hint = to_property_string(config.mode);
  c.latency_budget_ms = config.latency_budget_ms;
  c.reject_over_budget = config.reject_over_budget;
  return c;
}

std::unique_ptr<Policy> policy_for(const AutoConfig& config) {
  const auto name = config.policy.empty() ? default_policy_for_hint(to_property_string(config.mode)) : config.policy;
  return make_policy(name, policy_config_for(config));
}

namespace {

// The first CPU-class candidate after the target, or kNoDevice.
std::size_t helper_for(const std::vector<Candidate>& candidates, std::size_t target) {
  if (candidates[target].device->device_class() == plugin::DeviceClass::cpu) return kNoDevice;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (i != target && candidates[i].device->device_class() == plugin::DeviceClass::cpu) return i;
  return kNoDevice;
}

// Below this many hardware threads the startup compiles run one after the
// other (helper first) instead of side by side.
constexpr unsigned kConcurrentStartupMinThreads = 4;

// Longest wait for a warm-up inference when no inference_timeout_ms is set.
constexpr double kWarmUpLimitMs = 60000;

// One inference on zero-filled inputs whose result is dropped: devices that
// JIT kernels at their first run (OpenCL) are only really ready after it, and
// the startup race between target and helper should count that. Skipped when
// an input shape is not static. A failure is logged, not fatal: real
// requests then meet runtime fallback.
void warm_up(CompiledCandidate& out, const Model& model, const std::string& device, double timeout_ms) {
  for (const auto& port : model.inputs())
    if (!port.shape.is_static()) return;
  const auto start = std::chrono::steady_clock::now();
  try {
    auto request = out.model.create_infer_request();
    request.start_async();
    const double limit = timeout_ms > 0 ? timeout_ms : kWarmUpLimitMs;
    if (!request.wait_for(std::chrono::milliseconds(std::int64_t(limit)))) {
      request.cancel();
      log().warn("warm-up inference on {} did not finish within {:.0f} ms; cancelled", device, limit);
    }
    request.wait();
    out.warmed_up = true;
    log().debug("warm-up inference on {} took {:.1f} ms", device,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  } catch (const std::exception& e) {
    log().warn("warm-up inference on {} failed: {}", device, e.what());
  }
}

}  // namespace

AutoCompiledModel::AutoCompiledModel(const Model& model, std::vector<Candidate> candidates, AutoConfig config)
    : model_(model), config_(std::move(config)) {
  DeviceSetOptions options;
  options.virtual_name = config_.virtual_name;
  options.label = config_.virtual_name + "#" + std::to_string(next_instance++) + " '" + model.name() + "'";
  options.runtime_fallback = config_.runtime_fallback;
  options.consolidate_on_latency = config_.mode == PerformanceMode::LATENCY;
  options.throughput_handover = config_.mode == PerformanceMode::THROUGHPUT;
  options.inference_timeout_ms = config_.inference_timeout_ms;
  options.priority = config_.model_priority;
  options.latency_budget_ms = config_.latency_budget_ms;
  options.model_gflops = model.flops() / 1e9;
  for (const auto& port : model.outputs()) options.output_ports.push_back(port.name);
  // The compile step of one candidate; the set keeps it for compiles on demand.
  // It holds copies of what it needs, never the compiled model itself.
  options.compile = [model, candidates, props = config_.device_properties,
                     timeout = config_.inference_timeout_ms](std::size_t i, bool warm) {
    const auto& c = candidates[i];
    auto inner = c.device->compile(model, props.for_device(c.name));
    if (!inner) throw Error(ErrorCode::internal, c.name + " returned no compiled model");
    CompiledCandidate out;
    // A device that stacks requests into batches runs up to max_batch() per stream at once: it needs
    // that many in flight to fill its batches (its latency grows with the batch, so slots / median
    // latency still estimates its capacity).
    out.slots = std::max(1u, inner->num_parallel_requests() * std::max(1u, inner->max_batch()));
    if (c.cap) out.slots = std::min(out.slots, c.cap);
    out.optimal_requests = out.slots;
    try {
      out.optimal_requests =
          from_property_string<std::int64_t>("optimal_number_of_infer_requests",
                                             inner->get_property("optimal_number_of_infer_requests"));
    } catch (const std::exception&) {
      // A device that does not answer: one request per slot.
    }
    if (c.cap) out.optimal_requests = std::min<std::int64_t>(out.optimal_requests, c.cap);
    out.model = plugin::wrap_compiled_model(std::move(inner), c.name, c.cap);
    if (warm) warm_up(out, model, c.name, timeout);
    return out;
  };
  devices_ = std::make_shared<DeviceSet>(candidates, policy_for(config_), std::move(options));

  try {
    if (config_.mode == PerformanceMode::CUMULATIVE_THROUGHPUT) {
      compile_all_at_once();
    } else {
      std::size_t helper = config_.startup_fallback ? helper_for(candidates, 0) : kNoDevice;
      if (helper != kNoDevice && candidates[0].device->is_compile_cached(
                                   model, config_.device_properties.for_device(candidates[0].name))) {
        log().info("{}: {} compile is a cache hit; no CPU helper", devices_->options().label, candidates[0].name);
        helper = kNoDevice;
      }
      devices_->set_roles(0, helper);
      if (helper != kNoDevice)
        compile_with_helper(0, helper);
      else
        compile_in_order();
    }
  } catch (...) {
    for (auto& t : compiles_) t.join();
    throw;
  }
  workers_ = devices_->slot_estimate();
}

AutoCompiledModel::~AutoCompiledModel() {
  for (auto& t : compiles_) t.join();
}

void AutoCompiledModel::start_background(std::size_t index) {
  devices_->mark_compiling(index);
  // The startup race: "ready" includes the first-run costs (see warm_up).
  compiles_.emplace_back([devices = devices_, index] { devices->compile_now(index, true); });
}

void AutoCompiledModel::compile_all_at_once() {
  for (std::size_t i = 0; i < devices_->size(); ++i) devices_->mark_compiling(i);
  for (std::size_t i = 1; i < devices_->size(); ++i)
    compiles_.emplace_back([devices = devices_, i] { devices->compile_now(i); });
  devices_->compile_now(0);
  for (auto& t : compiles_) t.join();
  compiles_.clear();
  if (devices_->execution_devices().empty())
    throw Error(ErrorCode::device_failure,
                config_.virtual_name + ": compiling failed on every device: " + devices_->compile_errors());
}

void AutoCompiledModel::compile_with_helper(std::size_t target, std::size_t helper) {
  const auto names = devices_->candidate_names();
  if (std::thread::hardware_concurrency() >= kConcurrentStartupMinThreads) {
    log().info("{}: startup acceleration: compiling on {} while the target {} compiles", devices_->options().label,
               names[helper], names[target]);
    start_background(target);
    start_background(helper);
  } else {
    // Few hardware threads: two compiles at once would only slow both (and a
    // target such as an OpenCL CPU device competes for the same cores), so
    // the helper compiles first and the target starts once it serves.
    log().info("{}: startup acceleration: compiling on {} first, then the target {} in the background",
               devices_->options().label, names[helper], names[target]);
    devices_->mark_compiling(target);  // counted as compiling from now on (no on-demand compile of it)
    devices_->mark_compiling(helper);
    compiles_.emplace_back([devices = devices_, target, helper] {
      devices->compile_now(helper, true);
      devices->compile_now(target, true);
    });
  }
  if (!devices_->wait_for_first_ready())
    throw Error(ErrorCode::device_failure,
                config_.virtual_name + ": compiling failed on every device: " + devices_->compile_errors());
}

void AutoCompiledModel::compile_in_order() {
  // No helper: the candidates in priority order until one compiles.
  for (std::size_t i = 0; i < devices_->size(); ++i) {
    devices_->mark_compiling(i);
    devices_->compile_now(i);
    if (!devices_->execution_devices().empty()) return;
  }
  throw Error(ErrorCode::device_failure,
              config_.virtual_name + ": compiling failed on every device: " + devices_->compile_errors());
}

std::unique_ptr<plugin::ISyncInferRequest> AutoCompiledModel::create_sync_request() {
  return std::make_unique<AutoInferRequest>(devices_);
}

std::string AutoCompiledModel::get_property(const std::string& name) const {
  if (name == "optimal_number_of_infer_requests") return to_property_string(devices_->optimal_requests());
  if (name == "execution_devices") return to_property_string(devices_->execution_devices());
  if (name == "performance_mode") return to_property_string(config_.mode);
  if (name == "schedule_policy") return devices_->policy_name();
  if (name == "device_priorities") return to_property_string(devices_->candidate_names());
  if (name == "enable_startup_fallback") return to_property_string(config_.startup_fallback);
  if (name == "enable_runtime_fallback") return to_property_string(config_.runtime_fallback);
  if (name == "inference_timeout_ms") return to_property_string(config_.inference_timeout_ms);
  if (name == "device_properties") return config_.device_properties.effective_json(devices_->candidate_names());
  if (name == "latency_budget_ms") return to_property_string(config_.latency_budget_ms);
  if (name == "reject_over_budget") return to_property_string(config_.reject_over_budget);
  if (name == "model_priority") return to_property_string(Priority(2 - config_.model_priority));
  if (name == "supported_properties")
    return "optimal_number_of_infer_requests,execution_devices,performance_mode,schedule_policy,device_priorities,"
           "enable_startup_fallback,enable_runtime_fallback,inference_timeout_ms,device_properties,latency_budget_ms,reject_over_budget,"
           "model_priority,supported_properties";
  throw Error(ErrorCode::not_found, config_.virtual_name + " compiled model has no property '" + name +
                                        "'; supported: " + get_property("supported_properties"));
}

}  // namespace autosched::scheduler
