#pragma once
// TESTDEV: a device registered only in the unit-test binary whose behaviour
// the tests control (delay, failure on the k-th inference, blocking until
// cancelled) and whose object counts they read, to check the core's async
// machinery deterministically. It runs Identity-like models: output i is a
// copy of input i.
#include <atomic>
#include <memory>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched::testing {

struct TestDeviceControl {
  std::atomic<int> delay_ms{0};
  std::atomic<int> fail_on_call{0};  // 1-based index of the call that throws (0 = never)
  std::atomic<bool> block_until_cancel{false};
  std::atomic<bool> throw_std_exception{false};  // throw std::runtime_error instead of Error
  std::atomic<unsigned> parallel_slots{2};
  std::atomic<int> calls{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> live_requests{0};
  std::atomic<int> live_compiled{0};
  std::atomic<int> workers_started{0};

  void reset();
};

TestDeviceControl& test_device();

// A finalized graph: input "x" f32 of `shape` → Identity → output "y".
Model identity_model(const Shape& shape = {2, 3});
// A finalized graph: y = Relu(x + c) with a constant c, shape [n].
Model add_relu_model(std::int64_t n = 8);

}  // namespace autosched::testing
