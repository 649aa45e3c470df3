#include "tests/unit/auto_test_devices.hpp"

#include <chrono>
#include <condition_variable>
#include <thread>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::testing {

std::map<float, int> FakeDeviceControl::completed_values() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

void FakeDeviceControl::record(float value) {
  std::lock_guard lock(mutex_);
  ++completed_[value];
}

Properties FakeDeviceControl::compile_properties() const {
  std::lock_guard lock(mutex_);
  return compile_properties_;
}

Properties FakeDeviceControl::cache_query_properties() const {
  std::lock_guard lock(mutex_);
  return cache_query_properties_;
}

void FakeDeviceControl::record_compile(const Properties& properties) {
  std::lock_guard lock(mutex_);
  compile_properties_ = properties;
}

void FakeDeviceControl::record_cache_query(const Properties& properties) {
  std::lock_guard lock(mutex_);
  cache_query_properties_ = properties;
}

void FakeDeviceControl::reset() {
  compile_ms = 0;
  fail_compile = false;
  compile_cached = false;
  latency_ms = 0;
  fail_every = 0;
  fail_all = false;
  hang_on_call = 0;
  slots = 2;
  compiles = 0;
  calls = 0;
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  running = 0;
  max_running = 0;
  std::lock_guard lock(mutex_);
  completed_.clear();
  compile_properties_.clear();
  cache_query_properties_.clear();
}

namespace {

const char* kSuffixes[] = {"gpu", "igpu", "npu", "cpu", "cpu2"};

FakeDeviceControl& control_at(std::size_t i) {
  static FakeDeviceControl controls[std::size(kSuffixes)];
  return controls[i];
}

class FakeSyncRequest : public plugin::ISyncInferRequest {
 public:
  FakeSyncRequest(FakeDeviceControl& c, std::string name) : c_(c), name_(std::move(name)) {}

  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    struct Reset {
      FakeSyncRequest& r;
      ~Reset() {
        std::lock_guard lock(r.mutex_);
        r.cancel_ = false;
      }
    } reset{*this};
    const int call = ++c_.calls;
    const int now = ++c_.running;
    int seen = c_.max_running.load();
    while (now > seen && !c_.max_running.compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      std::atomic<int>& running;
      ~Leave() { --running; }
    } leave{c_.running};
    const bool hang = c_.hang_on_call == call;
    {
      std::unique_lock lock(mutex_);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c_.latency_ms.load());
      const bool woke = hang ? (cv_.wait(lock, [&] { return cancel_; }), true)
                             : cv_.wait_until(lock, deadline, [&] { return cancel_; });
      if (woke && cancel_) {
        ++c_.cancelled;
        throw Error(ErrorCode::cancelled, name_ + ": cancelled" + (hang ? " (was hanging)" : ""));
      }
    }
    if (c_.fail_all || (c_.fail_every > 0 && call % c_.fail_every == 0)) {
      ++c_.failed;
      throw Error(ErrorCode::device_failure, name_ + ": injected failure of call " + std::to_string(call));
    }
    for (std::size_t i = 0; i < outputs.size() && i < inputs.size(); ++i) inputs[i].copy_to(outputs[i]);
    if (!inputs.empty() && inputs[0].size() > 0) c_.record(inputs[0].data<float>()[0]);
    ++c_.succeeded;
  }

  void cancel() override {
    std::lock_guard lock(mutex_);
    cancel_ = true;
    cv_.notify_all();
  }

 private:
  FakeDeviceControl& c_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool cancel_ = false;
};

class FakeCompiledModel : public plugin::ICompiledModel {
 public:
  FakeCompiledModel(FakeDeviceControl* c, std::string name, Model model)
      : c_(c), name_(std::move(name)), model_(std::move(model)), slots_(c ? c->slots.load() : 1) {
    if (c_) ++c_->live_compiled;
  }
  ~FakeCompiledModel() override {
    if (c_) --c_->live_compiled;
  }
  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<FakeSyncRequest>(*c_, name_);
  }
  unsigned num_parallel_requests() const override { return slots_; }
  const Model& model() const override { return model_; }
  std::string get_property(const std::string& name) const override {
    if (name == "optimal_number_of_infer_requests") return std::to_string(slots_);
    if (name == "execution_devices") return name_;
    throw Error(ErrorCode::not_found, name_ + " has no property " + name);
  }

 private:
  FakeDeviceControl* c_;
  std::string name_;
  Model model_;
  unsigned slots_;
};

class FakeDevice : public plugin::IDevice {
 public:
  FakeDevice(std::string name, plugin::DeviceClass c, FakeDeviceControl* control, std::vector<std::string> caps,
             bool identity_only, std::optional<bool> default_candidate)
      : name_(std::move(name)),
        class_(c),
        control_(control),
        caps_(std::move(caps)),
        identity_only_(identity_only),
        default_candidate_(default_candidate) {}

  std::string name() const override { return name_; }
  plugin::DeviceClass device_class() const override { return class_; }
  std::vector<std::string> capabilities() const override { return caps_; }
  bool default_candidate() const override {
    return default_candidate_ ? *default_candidate_ : IDevice::default_candidate();
  }
  bool is_compile_cached(const Model&, const Properties& properties) const override {
    if (control_) control_->record_cache_query(properties);
    return control_ && control_->compile_cached;
  }
  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> s;
    for (const auto& n : model.graph().nodes)
      if (!identity_only_ || n.op_type == "Identity") s.insert(n.name);
    return s;
  }
  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties& properties) override {
    if (!control_) throw Error(ErrorCode::unsupported, name_ + " is a selection-only test device");
    control_->record_compile(properties);
    ++control_->compiles;
    std::this_thread::sleep_for(std::chrono::milliseconds(control_->compile_ms.load()));
    if (control_->fail_compile) throw Error(ErrorCode::device_failure, name_ + ": injected compile failure");
    return std::make_shared<FakeCompiledModel>(control_, name_, model);
  }

 private:
  std::string name_;
  plugin::DeviceClass class_;
  FakeDeviceControl* control_;
  std::vector<std::string> caps_;
  bool identity_only_;
  std::optional<bool> default_candidate_;
};

plugin::DeviceClass class_of(const std::string& suffix) {
  if (suffix == "gpu") return plugin::DeviceClass::discrete_gpu;
  if (suffix == "igpu") return plugin::DeviceClass::integrated_gpu;
  if (suffix == "npu") return plugin::DeviceClass::accelerator;
  return plugin::DeviceClass::cpu;
}

}  // namespace

FakeDeviceControl& fake(const std::string& suffix) {
  for (std::size_t i = 0; i < std::size(kSuffixes); ++i)
    if (suffix == kSuffixes[i]) return control_at(i);
  throw Error(ErrorCode::not_found, "no fake device FAKE." + suffix);
}

void reset_fakes() {
  for (std::size_t i = 0; i < std::size(kSuffixes); ++i) control_at(i).reset();
}

std::shared_ptr<plugin::IDevice> make_fake_device(const std::string& name, plugin::DeviceClass device_class,
                                                  std::vector<std::string> capabilities,
                                                  std::optional<bool> default_candidate, bool identity_only) {
  return std::make_shared<FakeDevice>(name, device_class, nullptr, std::move(capabilities), identity_only,
                                      default_candidate);
}

namespace {
std::vector<std::shared_ptr<plugin::IDevice>> provide_fakes(const plugin::DeviceContext&) {
  std::vector<std::shared_ptr<plugin::IDevice>> devices;
  for (std::size_t i = 0; i < std::size(kSuffixes); ++i) {
    const std::string suffix = kSuffixes[i];
    devices.push_back(std::make_shared<FakeDevice>("FAKE." + suffix, class_of(suffix), &control_at(i),
                                                   std::vector<std::string>{"FP32"}, suffix == "npu", false));
  }
  return devices;
}
}  // namespace

AUTOSCHED_REGISTER_DEVICE("FAKE", 60, provide_fakes);

}  // namespace autosched::testing
