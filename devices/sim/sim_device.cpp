#include "devices/sim/sim_device.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"
#include "core/logging.hpp"
#include "devices/sim/sim_random.hpp"
#include "model/reference/graph_executor.hpp"

namespace autosched::sim {

namespace {

std::string mib(std::uint64_t bytes) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << double(bytes) / (1024.0 * 1024.0) << " MiB";
  return s.str();
}

// What the device and its compiled models share: the profile, the clock,
// counters and the memory in use. Thread-safe.
struct DeviceState {
  SimProfile profile;
  std::shared_ptr<Clock> clock;
  Duration created;
  std::optional<Duration> disappear_at;
  std::atomic<std::uint64_t> inferences{0};
  std::atomic<std::uint64_t> compiles{0};
  std::mutex memory_mutex;
  std::uint64_t memory_used = 0;

  DeviceState(SimProfile p, std::shared_ptr<Clock> c)
      : profile(std::move(p)), clock(std::move(c)), created(clock->now()) {
    if (profile.faults.disappear_after_s) disappear_at = created + from_ms(*profile.faults.disappear_after_s * 1e3);
  }

  std::string device_name() const { return "SIM." + profile.name; }
  bool disappeared(Duration now) const { return disappear_at && now >= *disappear_at; }
  [[noreturn]] void throw_disappeared() const {
    std::ostringstream s;
    s << device_name() << ": device disappeared (profile " << profile.source << ": faults.disappear_after_s = "
      << *profile.faults.disappear_after_s << " s)";
    throw Error(ErrorCode::device_failure, s.str());
  }
  // Waits until `deadline` or the disappearance, whichever comes first.
  // Returns false when cancelled; throws device_failure when the device disappeared first.
  bool wait(Duration deadline, CancelToken& cancel) {
    const bool vanishes = disappear_at && *disappear_at <= deadline;
    if (!clock->wait_until(vanishes ? *disappear_at : deadline, cancel)) return false;
    if (vanishes) throw_disappeared();
    return true;
  }
  double seconds_since_creation(Duration now) const { return to_seconds(now - created); }
};

// Memory held by one compiled model; returned to the device when destroyed.
class MemoryReservation {
 public:
  MemoryReservation(std::shared_ptr<DeviceState> state, std::uint64_t bytes) : state_(std::move(state)), bytes_(bytes) {}
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() {
    std::lock_guard lock(state_->memory_mutex);
    state_->memory_used -= bytes_;
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<DeviceState> state_;
  std::uint64_t bytes_;
};

struct CompiledState {
  std::shared_ptr<DeviceState> device;
  Model model;
  std::shared_ptr<const reference::GraphExecutor> executor;  // null when timing_only
  double gflop_per_item = 0.0;
  unsigned streams = 1;
  PerformanceMode mode = PerformanceMode::LATENCY;
  std::string precision = "f32";
  std::unique_ptr<MemoryReservation> memory;
};

class SimSyncRequest : public plugin::ISyncInferRequest {
 public:
  explicit SimSyncRequest(std::shared_ptr<const CompiledState> compiled) : compiled_(std::move(compiled)) {}

  // A cancel() that arrives before the wait starts is kept (not lost), and
  // the token is cleared when infer() returns.
  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    struct ResetAtExit {
      CancelToken& token;
      ~ResetAtExit() { token.reset(); }
    } reset{cancel_};
    auto& device = *compiled_->device;
    const auto& p = device.profile;
    const Duration now = device.clock->now();
    if (device.disappeared(now)) device.throw_disappeared();
    const std::uint64_t k = ++device.inferences;
    const InferenceDraw draw = p.draw_inference(k);
    const bool hang = draw.hang;
    const bool fail = draw.fail;
    Duration deadline = kForever;
    if (!hang) {
      const double ms = p.latency_ms(compiled_->gflop_per_item, batch_of(compiled_->model, inputs),
                                     device.seconds_since_creation(now), draw.z);
      deadline = now + from_ms(ms);
    }
    // Compute first, then wait for the rest of the modelled latency: the
    // request takes max(latency, compute time), not their sum.
    if (!hang && !fail) {
      if (compiled_->executor) {
        compiled_->executor->run(inputs, outputs, cancel_.flag());
      } else {
        outputs.resize(compiled_->model.outputs().size());
        for (std::size_t i = 0; i < outputs.size(); ++i) {
          const auto& port = compiled_->model.outputs()[i];
          if (outputs[i].empty() || outputs[i].element_type() != port.element_type)
            outputs[i] = Tensor(port.element_type, port.shape.to_shape());
          fill_timing_pattern(outputs[i], i);
        }
      }
    }
    if (!device.wait(deadline, cancel_))
      throw Error(ErrorCode::cancelled, device.device_name() + ": inference " + std::to_string(k) +
                                            (hang ? " (hanging by fault injection)" : "") + " cancelled");
    if (fail)
      throw Error(ErrorCode::device_failure, device.device_name() + ": injected failure of inference " +
                                                 std::to_string(k) + " (profile " + p.source +
                                                 ": faults.fail_inferences / faults.fail_probability)");
  }

  void cancel() override { cancel_.cancel(); }

 private:
  std::shared_ptr<const CompiledState> compiled_;
  CancelToken cancel_;
};

class SimCompiledModel : public plugin::ICompiledModel {
 public:
  explicit SimCompiledModel(std::shared_ptr<CompiledState> state) : state_(std::move(state)) {}

  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<SimSyncRequest>(state_);
  }
  unsigned num_parallel_requests() const override { return state_->streams; }
  const Model& model() const override { return state_->model; }

  std::string get_property(const std::string& name) const override {
    const auto& p = state_->device->profile;
    if (name == "optimal_number_of_infer_requests") return to_property_string(std::int64_t(state_->streams));
    if (name == "execution_devices") return state_->device->device_name();
    if (name == "num_streams") return to_property_string(std::int64_t(state_->streams));
    if (name == "performance_mode") return to_property_string(state_->mode);
    if (name == "inference_precision") return state_->precision;
    if (name == "preferred_batch_size") return to_property_string(std::int64_t(p.preferred_batch_size));
    if (name == "batch_efficiency") return to_property_string(p.batch_efficiency);
    if (name == "model_memory_bytes") return to_property_string(std::int64_t(state_->memory->bytes()));
    if (name == "timing_only") return to_property_string(p.timing_only);
    if (name == "supported_properties")
      return "optimal_number_of_infer_requests,execution_devices,num_streams,performance_mode,inference_precision,"
             "preferred_batch_size,batch_efficiency,model_memory_bytes,timing_only,supported_properties";
    throw Error(ErrorCode::not_found, state_->device->device_name() + " compiled model has no property '" + name +
                                          "'; supported: " + get_property("supported_properties"));
  }

 private:
  std::shared_ptr<CompiledState> state_;
};

class SimDevice : public plugin::IDevice {
 public:
  explicit SimDevice(std::shared_ptr<DeviceState> state) : state_(std::move(state)) {}

  std::string name() const override { return state_->device_name(); }
  plugin::DeviceClass device_class() const override { return state_->profile.device_class; }
  // Simulated hardware: its latency is a timed wait, whatever its class.
  bool shares_host_cpu() const override { return false; }
  std::vector<std::string> capabilities() const override { return state_->profile.capabilities(); }

  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> supported;
    for (const auto& node : model.graph().nodes)
      if (unsupported_reason(model.graph(), node).empty()) supported.insert(node.name);
    return supported;
  }

  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    auto& device = *state_;
    const auto& p = device.profile;
    const Duration start = device.clock->now();
    if (device.disappeared(start)) device.throw_disappeared();
    for (const auto& node : model.graph().nodes)
      if (auto why = unsupported_reason(model.graph(), node); !why.empty())
        throw Error(ErrorCode::unsupported, name() + " cannot compile model '" + model.name() + "': " + why);

    auto state = std::make_shared<CompiledState>();
    state->device = state_;
    state->model = model;
    state->mode = get_or(properties, hint::performance_mode, PerformanceMode::LATENCY);
    state->precision = check_precision(properties);
    const auto streams = get_or(properties, num_streams, std::int64_t(p.parallel_slots));
    if (streams < 1 || streams > std::int64_t(p.parallel_slots))
      throw Error(ErrorCode::invalid_argument, name() + ": num_streams = " + std::to_string(streams) +
                                                   " is out of range; valid: 1.." + std::to_string(p.parallel_slots) +
                                                   " (the profile's parallel_slots)");
    state->streams = unsigned(streams);
    if (p.timing_only) {
      for (const auto& port : model.outputs())
        if (!port.shape.is_static())
          throw Error(ErrorCode::unsupported, name() + " (timing_only) needs static output shapes; output '" +
                                                  port.name + "' is " + port.shape.to_string());
    } else {
      state->executor = std::make_shared<reference::GraphExecutor>(model.graph_ptr());
    }
    const double gflop = model.flops() / 1e9;
    state->gflop_per_item = gflop / double(batch_of(model, {}));
    state->memory = reserve_memory(model, state->streams);

    const std::uint64_t c = ++device.compiles;
    const double ms = p.compile_ms(gflop, EventRandom(p.seed, RandomPurpose::compile, c).normal());
    CancelToken never_cancelled;
    device.wait(start + from_ms(ms), never_cancelled);
    if (p.faults.fail_compile)
      throw Error(ErrorCode::device_failure, name() + ": injected compile failure of model '" + model.name() +
                                                 "' (profile " + p.source + ": faults.fail_compile)");
    log().debug("{}: compiled '{}' ({:.3f} GFLOP, {} slots, modelled compile {:.1f} ms)", name(), model.name(), gflop,
                state->streams, ms);
    return std::make_shared<SimCompiledModel>(std::move(state));
  }

  std::vector<std::string> supported_properties() const override {
    auto names = IDevice::supported_properties();
    for (const char* n : {"parallel_slots", "preferred_batch_size", "batch_efficiency", "memory_mb", "timing_only",
                          "sim_profile"})
      names.push_back(n);
    return names;
  }

  std::string get_property(const std::string& name) const override {
    const auto& p = state_->profile;
    if (name == "device_full_name") return p.full_name;
    if (name == "parallel_slots") return to_property_string(std::int64_t(p.parallel_slots));
    if (name == "preferred_batch_size") return to_property_string(std::int64_t(p.preferred_batch_size));
    if (name == "batch_efficiency") return to_property_string(p.batch_efficiency);
    if (name == "memory_mb") return to_property_string(p.memory_mb);
    if (name == "timing_only") return to_property_string(p.timing_only);
    if (name == "sim_profile") return p.source;
    return IDevice::get_property(name);
  }

 private:
  // "" when the device runs `node`; otherwise why not (names op, node, type).
  std::string unsupported_reason(const ir::Graph& graph, const ir::Node& node) const {
    const auto& p = state_->profile;
    if (!p.supports_op(node.op_type)) {
      std::string list;
      for (const auto& op : p.supported_ops) list += (list.empty() ? "" : ", ") + op;
      return "op '" + node.op_type + "' (node '" + node.name + "') is not supported; supported ops: " +
             (list.empty() ? "the reference op set" : list);
    }
    auto check = [&](const std::string& value, const char* role) -> std::string {
      if (value.empty() || graph.is_constant(value) || !graph.values.count(value)) return "";
      const auto type = graph.values.at(value).element_type;
      if (type == ElementType::undefined || p.supports_precision(type)) return "";
      return std::string("element type ") + to_string(type) + " of " + role + " '" + value + "' (node '" +
             node.name + "', op " + node.op_type + ") is not supported; supported precisions: " +
             to_property_string(capabilities());
    };
    for (const auto& v : node.inputs)
      if (auto why = check(v, "input"); !why.empty()) return why;
    for (const auto& v : node.outputs)
      if (auto why = check(v, "output"); !why.empty()) return why;
    return "";
  }

  std::string check_precision(const Properties& properties) const {
    const auto& p = state_->profile;
    const auto wanted = get_or(properties, hint::inference_precision, ElementType::f32);
    if (!p.supports_precision(wanted)) {
      if (properties.count(hint::inference_precision.name))
        throw Error(ErrorCode::unsupported, name() + " does not support inference_precision " +
                                                to_string(wanted) + "; supported: " + to_property_string(capabilities()));
      return to_string(p.supported_precisions.front());
    }
    return to_string(wanted);
  }

  std::unique_ptr<MemoryReservation> reserve_memory(const Model& model, unsigned streams) {
    const auto& p = state_->profile;
    const auto estimate = estimate_memory(model);
    const std::uint64_t need = estimate.total(streams);
    std::lock_guard lock(state_->memory_mutex);
    if (p.memory_mb > 0) {
      const auto capacity = std::uint64_t(p.memory_mb * 1024.0 * 1024.0);
      const auto used = state_->memory_used;
      if (used + need > capacity)
        throw Error(ErrorCode::resource_exhausted,
                    name() + ": out of memory compiling model '" + model.name() + "': needs " + mib(need) +
                        " (weights " + mib(estimate.weights_bytes) + " + " + std::to_string(streams) +
                        " slots x activations " + mib(estimate.activation_bytes) + "), available " +
                        mib(capacity > used ? capacity - used : 0) + " of " + mib(capacity) + " (" + mib(used) +
                        " held by other compiled models; profile memory_mb = " + to_property_string(p.memory_mb) + ")");
    }
    state_->memory_used += need;
    return std::make_unique<MemoryReservation>(state_, need);
  }

  std::shared_ptr<DeviceState> state_;
};

}  // namespace

std::shared_ptr<plugin::IDevice> make_sim_device(SimProfile profile, std::shared_ptr<Clock> clock) {
  return std::make_shared<SimDevice>(std::make_shared<DeviceState>(std::move(profile), std::move(clock)));
}

MemoryEstimate estimate_memory(const Model& model) {
  MemoryEstimate e;
  const auto& graph = model.graph();
  for (const auto& [name, tensor] : graph.initializers) e.weights_bytes += tensor.byte_size();
  for (const auto& [name, info] : graph.values) {
    if (graph.is_constant(name) || !info.shape.is_static()) continue;
    e.activation_bytes += std::uint64_t(shape_size(info.shape.to_shape())) * element_size(info.element_type);
  }
  return e;
}

void fill_timing_pattern(Tensor& output, std::size_t k) {
  const std::size_t n = output.size();
  auto pattern = [k](std::size_t i) { return (i + 31 * k) % 256; };
  switch (output.element_type()) {
    case ElementType::f32: {
      auto* d = output.data<float>();
      for (std::size_t i = 0; i < n; ++i) d[i] = float(pattern(i)) / 256.0f;
      break;
    }
    case ElementType::f64: {
      auto* d = output.data<double>();
      for (std::size_t i = 0; i < n; ++i) d[i] = double(pattern(i)) / 256.0;
      break;
    }
    case ElementType::f16: {
      auto* d = output.data<float16>();
      for (std::size_t i = 0; i < n; ++i) d[i] = float16(float(pattern(i)) / 256.0f);
      break;
    }
    case ElementType::bf16: {
      auto* d = output.data<bfloat16>();
      for (std::size_t i = 0; i < n; ++i) d[i] = bfloat16(float(pattern(i)) / 256.0f);
      break;
    }
    case ElementType::i64: {
      auto* d = output.data<std::int64_t>();
      for (std::size_t i = 0; i < n; ++i) d[i] = std::int64_t(pattern(i) % 128);
      break;
    }
    case ElementType::i32: {
      auto* d = output.data<std::int32_t>();
      for (std::size_t i = 0; i < n; ++i) d[i] = std::int32_t(pattern(i) % 128);
      break;
    }
    case ElementType::i8: {
      auto* d = output.data<std::int8_t>();
      for (std::size_t i = 0; i < n; ++i) d[i] = std::int8_t(pattern(i) % 128);
      break;
    }
    case ElementType::u8: {
      auto* d = output.data<std::uint8_t>();
      for (std::size_t i = 0; i < n; ++i) d[i] = std::uint8_t(pattern(i) % 128);
      break;
    }
    case ElementType::boolean: {
      auto* d = output.data<bool>();
      for (std::size_t i = 0; i < n; ++i) d[i] = (i + k) % 2 == 1;
      break;
    }
    case ElementType::undefined: break;
  }
}

std::uint64_t batch_of(const Model& model, const std::vector<Tensor>& inputs) {
  if (model.inputs().empty() || model.inputs()[0].shape.rank() < 2) return 1;
  if (!inputs.empty() && inputs[0].shape().size() >= 2) return std::uint64_t(std::max<std::int64_t>(inputs[0].shape()[0], 1));
  const auto& dim = model.inputs()[0].shape[0];
  return dim.is_static() ? std::uint64_t(std::max<std::int64_t>(dim.length, 1)) : 1;
}

// SIM devices: the builtins plus the profiles named by the AUTOSCHED_SIM_PROFILES
// environment variable and the sim_profiles core property (paths separated by
// ',' or ':'). A bad profile throws Error(io | invalid_argument) naming the
// file and field; the Core constructor passes such configuration errors on.
AUTOSCHED_REGISTER_DEVICE("SIM", 90, [](const plugin::DeviceContext& context) {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("AUTOSCHED_SIM_PROFILES"))
    for (auto& path : split_profile_paths(env)) paths.push_back(std::move(path));
  if (auto it = context.core_properties.find(sim_profiles.name); it != context.core_properties.end())
    for (auto& path : split_profile_paths(it->second)) paths.push_back(std::move(path));
  auto clock = clock_for_new_devices();
  std::vector<std::shared_ptr<plugin::IDevice>> devices;
  for (auto& profile : load_profiles(paths)) devices.push_back(make_sim_device(std::move(profile), clock));
  return devices;
});

}  // namespace autosched::sim
