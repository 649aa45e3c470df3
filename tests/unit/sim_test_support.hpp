#pragma once
// Helpers of the SIM device tests: devices built from inline JSON on a
// ManualClock, small models with known flops, and a background inference
// whose progress the test follows through the clock's waiting room.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "autosched/autosched.hpp"
#include "autosched/plugin/device.hpp"
#include "autosched/plugin/graph.hpp"
#include "devices/sim/sim_clock.hpp"
#include "devices/sim/sim_device.hpp"
#include "devices/sim/sim_profile.hpp"

namespace autosched::sim::testing {

using namespace std::chrono_literals;

// y = x · W with x [batch, n] and a constant W [n, n]: 2·batch·n² flops.
inline Model matmul_model(std::int64_t batch, std::int64_t n = 16) {
  auto g = std::make_shared<ir::Graph>();
  g->name = "matmul";
  g->inputs.push_back({"x", ElementType::f32, PartialShape(Shape{batch, n})});
  g->outputs.push_back({"y", ElementType::f32, PartialShape::dynamic_rank()});
  Tensor w(ElementType::f32, {n, n});
  for (std::int64_t i = 0; i < n * n; ++i) w.data<float>()[i] = float(i % 7) - 3.0f;
  g->initializers["w"] = w;
  ir::Node mm;
  mm.name = "mm";
  mm.op_type = "MatMul";
  mm.inputs = {"x", "w"};
  mm.outputs = {"y"};
  g->nodes = {mm};
  g->finalize();
  return Model(g);
}

// Input tensors for `model` (f32 only), filled with small deterministic values.
inline std::vector<Tensor> make_inputs(const Model& model) {
  std::vector<Tensor> inputs;
  for (const auto& port : model.inputs()) {
    Tensor t(port.element_type, port.shape.to_shape());
    for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = float(int(i % 11) - 5) / 4.0f;
    inputs.push_back(t);
  }
  return inputs;
}

inline SimProfile profile(const std::string& json) { return parse_profile(json, "test_profile.json"); }

// A device on `clock` from inline JSON (name defaults to "t", class to accelerator).
inline std::shared_ptr<plugin::IDevice> device(const std::string& fields, std::shared_ptr<Clock> clock) {
  return make_sim_device(profile(R"({"name": "t", "device_class": "accelerator")" +
                                 std::string(fields.empty() ? "" : ", ") + fields + "}"),
                         std::move(clock));
}

// One inference on a background thread; the test drives the ManualClock.
class BackgroundInfer {
 public:
  BackgroundInfer(plugin::ISyncInferRequest& request, std::vector<Tensor> inputs)
      : request_(request), inputs_(std::move(inputs)) {
    thread_ = std::thread([this] {
      try {
        request_.infer(inputs_, outputs_);
      } catch (...) {
        error_ = std::current_exception();
      }
      done_ = true;
    });
  }
  ~BackgroundInfer() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  // Joins; rethrows the inference's error.
  void join() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }
  std::vector<Tensor>& outputs() { return outputs_; }

 private:
  plugin::ISyncInferRequest& request_;
  std::vector<Tensor> inputs_;
  std::vector<Tensor> outputs_;
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Installs a ManualClock for devices created while it lives (Core construction).
class ScopedTestClock {
 public:
  explicit ScopedTestClock(std::shared_ptr<ManualClock> clock) { set_clock_for_testing(std::move(clock)); }
  ~ScopedTestClock() { set_clock_for_testing(nullptr); }
};

// The message of the Error `f` throws; checks its code (fails the test when nothing is thrown).
template <class F> std::string error_message(F&& f, ErrorCode expected) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(to_string(e.code()), std::string(to_string(expected))) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected Error(" << to_string(expected) << "), nothing thrown";
  return {};
}

}  // namespace autosched::sim::testing
