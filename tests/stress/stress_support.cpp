#include "tests/stress/stress_support.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "autosched/plugin/device_registry.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::stress {

bool short_mode() {
  const char* s = std::getenv("AUTOSCHED_STRESS_SHORT");
  return !(s && std::string(s) == "0");
}

std::int64_t scaled(std::int64_t full, std::int64_t short_value) { return short_mode() ? short_value : full; }

void dump_threads() {
  // Yama (ptrace_scope=1) only lets an ancestor attach; allow our gdb child.
  ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  if (std::system("command -v gdb >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "watchdog: gdb not installed; no thread dump (install gdb, or attach a debugger to pid %d)\n",
                 int(::getpid()));
    return;
  }
  const std::string cmd = "timeout 120 gdb -p " + std::to_string(::getpid()) +
                          " -batch -nx -ex 'set pagination off' -ex 'thread apply all bt' 1>&2 2>/dev/null";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "watchdog: gdb could not attach (ptrace not permitted?); no thread dump\n");
}

Watchdog::Watchdog(std::chrono::seconds limit, std::string what) {
  thread_ = std::thread([this, limit, what = std::move(what)] {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
    std::fprintf(stderr, "\nWATCHDOG: '%s' did not finish within %llds: probable deadlock or lost request. "
                 "Thread dump follows.\n", what.c_str(), static_cast<long long>(limit.count()));
    std::fflush(stderr);
    dump_threads();
    std::fprintf(stderr, "WATCHDOG: failing the test binary\n");
    std::fflush(stderr);
    std::_Exit(3);
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

Model one_op_model(const std::string& name, std::int64_t n, bool add_relu) {
  auto g = std::make_shared<ir::Graph>();
  g->name = name;
  g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{n})});
  g->outputs.push_back({"y", ElementType::f32, PartialShape(Shape{n})});
  if (!add_relu) {
    ir::Node id;
    id.name = "id";
    id.op_type = "Identity";
    id.inputs = {"x"};
    id.outputs = {"y"};
    g->nodes.push_back(id);
  } else {
    Tensor c(ElementType::f32, {n});
    for (std::int64_t i = 0; i < n; ++i) c.data<float>()[i] = float(i) - float(n) / 2;
    g->initializers["c"] = c;
    ir::Node add;
    add.name = "add";
    add.op_type = "Add";
    add.inputs = {"x", "c"};
    add.outputs = {"s"};
    ir::Node relu;
    relu.name = "relu";
    relu.op_type = "Relu";
    relu.inputs = {"s"};
    relu.outputs = {"y"};
    g->nodes = {add, relu};
  }
  g->finalize();
  return Model(g);
}

class StressSyncRequest : public plugin::ISyncInferRequest {
 public:
  StressSyncRequest() : rng_(std::random_device{}()) { ++stress_device().live_requests; }
  ~StressSyncRequest() override { --stress_device().live_requests; }

  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    auto& c = stress_device();
    const auto call = ++c.calls;
    const int max_delay = c.max_delay_us;
    {
      std::unique_lock lock(mutex_);
      if (c.block_until_cancel) {
        cv_.wait(lock, [this] { return cancel_; });
      } else if (max_delay > 0) {
        const auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, max_delay)(rng_));
        cv_.wait_for(lock, delay, [this] { return cancel_; });
      }
      const bool cancelled = cancel_;
      cancel_ = false;
      if (cancelled) {
        ++c.cancelled;
        throw Error(ErrorCode::cancelled, "STRESSDEV: cancelled while running");
      }
    }
    if (c.fail_every > 0 && call % c.fail_every == 0) {
      ++c.failed;
      throw Error(ErrorCode::device_failure, "STRESSDEV: injected failure on call " + std::to_string(call));
    }
    for (std::size_t i = 0; i < outputs.size() && i < inputs.size(); ++i) inputs[i].copy_to(outputs[i]);
  }

  // May arrive before, during or after infer(); a cancel that arrives after
  // the run is dropped by the next infer() only if it is still pending then,
  // which a real device would also do — the core promises "best effort".
  void cancel() override {
    std::lock_guard lock(mutex_);
    cancel_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool cancel_ = false;
  std::mt19937 rng_;
};

class StressCompiledModel : public plugin::ICompiledModel {
 public:
  explicit StressCompiledModel(Model model) : model_(std::move(model)), slots_(stress_device().parallel_slots) {
    ++stress_device().live_compiled;
  }
  ~StressCompiledModel() override { --stress_device().live_compiled; }
  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<StressSyncRequest>();
  }
  unsigned num_parallel_requests() const override { return slots_; }
  const Model& model() const override { return model_; }
  std::string get_property(const std::string& name) const override {
    if (name == "optimal_number_of_infer_requests") return std::to_string(slots_);
    if (name == "execution_devices") return "STRESSDEV";
    throw Error(ErrorCode::not_found, "STRESSDEV has no property '" + name +
                                          "'; supported: optimal_number_of_infer_requests, execution_devices");
  }

 private:
  Model model_;
  unsigned slots_;
};

class StressDevice : public plugin::IDevice {
 public:
  std::string name() const override { return "STRESSDEV"; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::accelerator; }
  std::vector<std::string> capabilities() const override { return {"FP32"}; }
  bool default_candidate() const override { return false; }
  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> s;
    for (const auto& n : model.graph().nodes)
      if (n.op_type == "Identity") s.insert(n.name);
    return s;
  }
  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties&) override {
    return std::make_shared<StressCompiledModel>(model);
  }
};

}  // namespace

void StressDeviceControl::reset() {
  max_delay_us = 0;
  fail_every = 0;
  block_until_cancel = false;
  parallel_slots = 4;
  calls = 0;
  failed = 0;
  cancelled = 0;
}

StressDeviceControl& stress_device() {
  static StressDeviceControl control;
  return control;
}

Model identity_model(std::int64_t n) { return one_op_model("identity", n, false); }
Model add_relu_model(std::int64_t n) { return one_op_model("add_relu", n, true); }

AUTOSCHED_REGISTER_DEVICE("STRESSDEV", 50, [](const plugin::DeviceContext&) {
  return std::vector<std::shared_ptr<plugin::IDevice>>{std::make_shared<StressDevice>()};
});

}  // namespace autosched::stress
