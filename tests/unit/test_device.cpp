#include "tests/unit/test_device.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "autosched/plugin/device_registry.hpp"

namespace autosched::testing {

void TestDeviceControl::reset() {
  delay_ms = 0;
  fail_on_call = 0;
  block_until_cancel = false;
  throw_std_exception = false;
  parallel_slots = 2;
  calls = 0;
  running = 0;
  max_running = 0;
  workers_started = 0;
}

TestDeviceControl& test_device() {
  static TestDeviceControl control;
  return control;
}

namespace {

class TestSyncRequest : public plugin::ISyncInferRequest {
 public:
  TestSyncRequest() { ++test_device().live_requests; }
  ~TestSyncRequest() override { --test_device().live_requests; }

  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    auto& c = test_device();
    const int call = ++c.calls;
    const int now = ++c.running;
    int seen = c.max_running.load();
    while (now > seen && !c.max_running.compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      ~Leave() { --test_device().running; }
    } leave;
    if (c.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(c.delay_ms.load()));
    if (c.block_until_cancel) {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return cancelled_; });
      cancelled_ = false;
      throw Error(ErrorCode::cancelled, "TESTDEV: cancelled while running");
    }
    if (c.fail_on_call == call) {
      if (c.throw_std_exception) throw std::runtime_error("TESTDEV: injected std failure");
      throw Error(ErrorCode::device_failure, "TESTDEV: injected failure on call " + std::to_string(call));
    }
    for (std::size_t i = 0; i < outputs.size() && i < inputs.size(); ++i) inputs[i].copy_to(outputs[i]);
  }

  void cancel() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

class TestCompiledModel : public plugin::ICompiledModel {
 public:
  explicit TestCompiledModel(Model model) : model_(std::move(model)), slots_(test_device().parallel_slots) {
    ++test_device().live_compiled;
  }
  ~TestCompiledModel() override { --test_device().live_compiled; }
  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<TestSyncRequest>();
  }
  unsigned num_parallel_requests() const override { return slots_; }
  void on_worker_start(unsigned) override { ++test_device().workers_started; }
  const Model& model() const override { return model_; }
  std::string get_property(const std::string& name) const override {
    if (name == "optimal_number_of_infer_requests") return std::to_string(slots_);
    if (name == "execution_devices") return "TESTDEV";
    throw Error(ErrorCode::not_found, "TESTDEV has no property " + name);
  }

 private:
  Model model_;
  unsigned slots_;
};

class TestDevice : public plugin::IDevice {
 public:
  std::string name() const override { return "TESTDEV"; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::accelerator; }
  std::vector<std::string> capabilities() const override { return {"FP32"}; }
  std::set<std::string> query_model(const Model& model) const override {
    std::set<std::string> s;
    for (const auto& n : model.graph().nodes)
      if (n.op_type == "Identity") s.insert(n.name);
    return s;
  }
  std::shared_ptr<plugin::ICompiledModel> compile(const Model& model, const Properties&) override {
    return std::make_shared<TestCompiledModel>(model);
  }
};

}  // namespace

AUTOSCHED_REGISTER_DEVICE("TESTDEV", 50, [](const plugin::DeviceContext&) {
  return std::vector<std::shared_ptr<plugin::IDevice>>{std::make_shared<TestDevice>()};
});

Model identity_model(const Shape& shape) {
  auto g = std::make_shared<ir::Graph>();
  g->name = "identity";
  g->inputs.push_back({"x", ElementType::f32, PartialShape(shape)});
  g->outputs.push_back({"y", ElementType::f32, PartialShape(shape)});
  ir::Node n;
  n.name = "id";
  n.op_type = "Identity";
  n.inputs = {"x"};
  n.outputs = {"y"};
  g->nodes.push_back(n);
  g->finalize();
  return Model(g);
}

Model add_relu_model(std::int64_t n) {
  auto g = std::make_shared<ir::Graph>();
  g->name = "add_relu";
  g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{n})});
  g->outputs.push_back({"y", ElementType::f32, PartialShape::dynamic_rank()});
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
  g->finalize();
  return Model(g);
}

}  // namespace autosched::testing
