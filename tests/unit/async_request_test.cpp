// The core's async machinery: callbacks, wait/wait_for/cancel, failures,
// lifetime. Uses TESTDEV (controlled behaviour) and REF (real computation).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>

#include "tests/unit/restarting_requests.hpp"
#include "tests/unit/test_device.hpp"
#include "tests/unit/watchdog.hpp"

namespace autosched {
namespace {

using namespace std::chrono_literals;
using testing::test_device;

using testing::within;

class AsyncRequestTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { test_device().reset(); }
  Core core;
};

// 1,000 requests through start_async with callbacks that restart their own
// request, on 1, 2 and 4 request objects; REF computes y = relu(x + c).
TEST_P(AsyncRequestTest, ThousandRequestsWithCallbacksOnRef) {
  const int num_objects = GetParam();
  const int total = 1000;
  auto model = testing::add_relu_model(8);
  auto compiled = core.compile_model(model, "REF", {hint::performance_mode(PerformanceMode::THROUGHPUT)});
  std::vector<InferRequest> requests;
  for (int i = 0; i < num_objects; ++i) {
    requests.push_back(compiled.create_infer_request());
    auto x = requests.back().get_input_tensor();
    for (int k = 0; k < 8; ++k) x.data<float>()[k] = float(i + k);
  }
  const auto counts = testing::run_restarting(
      requests, total,
      [&](std::size_t i, std::exception_ptr error) {
        auto y = requests[i].get_output_tensor();
        bool ok = !error && y.size() == 8;
        for (int k = 0; ok && k < 8; ++k) ok = y.data<float>()[k] == std::max(0.f, float(i + k) + float(k) - 4.f);
        return ok;
      },
      120s);
  EXPECT_EQ(counts.completed, total);
  EXPECT_EQ(counts.rejected, 0);  // failed or wrong output
}

// The same on TESTDEV: every request runs exactly once, concurrency never
// exceeds the device's parallel slots.
TEST_P(AsyncRequestTest, ThousandRequestsRunExactlyOnceWithinSlots) {
  const int num_objects = GetParam();
  test_device().parallel_slots = 2;
  auto compiled = core.compile_model(testing::identity_model(), "TESTDEV");
  std::vector<InferRequest> requests;
  std::atomic<int> callbacks{0};
  for (int i = 0; i < num_objects; ++i) {
    requests.push_back(compiled.create_infer_request());
    requests.back().set_callback([&](std::exception_ptr e) {
      EXPECT_FALSE(e);
      ++callbacks;
    });
  }
  within(60s, [&] {
    for (int round = 0; round < 1000 / num_objects; ++round) {
      for (auto& r : requests) r.start_async();
      for (auto& r : requests) r.wait();
    }
  });
  EXPECT_EQ(callbacks.load(), 1000);
  EXPECT_EQ(test_device().calls.load(), 1000);
  EXPECT_LE(test_device().max_running.load(), 2);
  // Every worker runs its set-up once, even one that got no request.
  within(30s, [] {
    while (test_device().workers_started.load() < 2) std::this_thread::sleep_for(1ms);
  });
  std::this_thread::sleep_for(10ms);  // a third start would be a bug; give it the chance to show
  EXPECT_EQ(test_device().workers_started.load(), 2);
}

INSTANTIATE_TEST_SUITE_P(Objects, AsyncRequestTest, ::testing::Values(1, 2, 4));

class AsyncSemanticsTest : public ::testing::Test {
 protected:
  void SetUp() override { test_device().reset(); }
  Core core;
};

TEST_F(AsyncSemanticsTest, WaitOnIdleRequestReturnsAtOnce) {
  auto request = core.compile_model(testing::identity_model(), "TESTDEV").create_infer_request();
  EXPECT_EQ(request.state(), RequestState::idle);
  within(5s, [&] { request.wait(); });
  EXPECT_TRUE(request.wait_for(0ms));
}

TEST_F(AsyncSemanticsTest, WaitForTimesOutWhileRunningThenCompletes) {
  test_device().block_until_cancel = true;
  auto request = core.compile_model(testing::identity_model(), "TESTDEV").create_infer_request();
  request.start_async();
  EXPECT_FALSE(request.wait_for(20ms));
  EXPECT_TRUE(request.state() == RequestState::running || request.state() == RequestState::queued);
  request.cancel();
  within(10s, [&] {
    try {
      request.wait();
      ADD_FAILURE() << "wait() should rethrow the cancellation";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::cancelled);
    }
  });
  EXPECT_EQ(request.state(), RequestState::cancelled);
}

TEST_F(AsyncSemanticsTest, CancelQueuedRequestNeverRunsIt) {
  test_device().parallel_slots = 1;
  test_device().block_until_cancel = true;
  auto compiled = core.compile_model(testing::identity_model(), "TESTDEV");
  auto blocker = compiled.create_infer_request();
  auto queued = compiled.create_infer_request();
  std::atomic<int> callback_calls{0};
  ErrorCode seen = ErrorCode::internal;
  queued.set_callback([&](std::exception_ptr e) {
    ++callback_calls;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const Error& err) {
      seen = err.code();
    }
  });
  blocker.start_async();
  within(10s, [] {
    while (test_device().running.load() == 0) std::this_thread::sleep_for(1ms);
  });
  queued.start_async();
  // The single worker is blocked, so `queued` cannot have started.
  EXPECT_EQ(queued.state(), RequestState::queued);
  queued.cancel();
  EXPECT_EQ(queued.state(), RequestState::cancelled);
  EXPECT_THROW(queued.wait(), Error);
  EXPECT_EQ(callback_calls.load(), 1);
  EXPECT_EQ(seen, ErrorCode::cancelled);
  callback_calls = 0;
  blocker.cancel();
  within(10s, [&] { EXPECT_THROW(blocker.wait(), Error); });
  test_device().block_until_cancel = false;
  // The worker's stale job for the cancelled run must not run it now.
  within(10s, [&] {
    blocker.infer();
    queued.infer();
  });
  EXPECT_EQ(test_device().calls.load(), 3);  // blocker twice, queued once (after its cancel)
}

TEST_F(AsyncSemanticsTest, DeviceErrorReachesWaitAndCallback) {
  test_device().fail_on_call = 2;
  auto request = core.compile_model(testing::identity_model(), "TESTDEV").create_infer_request();
  std::exception_ptr from_callback;
  request.set_callback([&](std::exception_ptr e) { from_callback = e; });
  request.infer();
  EXPECT_FALSE(from_callback);
  request.start_async();
  try {
    request.wait();
    FAIL() << "expected the injected failure";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::device_failure);
    EXPECT_NE(std::string(e.what()).find("injected failure on call 2"), std::string::npos);
  }
  EXPECT_TRUE(from_callback);
  EXPECT_EQ(request.state(), RequestState::failed);
  // The failure sticks until the next run.
  EXPECT_THROW(request.wait(), Error);
  request.infer();
  EXPECT_EQ(request.state(), RequestState::done);
}

TEST_F(AsyncSemanticsTest, NonAutoschedExceptionBecomesDeviceFailure) {
  test_device().fail_on_call = 1;
  test_device().throw_std_exception = true;
  auto request = core.compile_model(testing::identity_model(), "TESTDEV").create_infer_request();
  try {
    request.infer();
    FAIL() << "expected a failure";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::device_failure);
    EXPECT_NE(std::string(e.what()).find("TESTDEV"), std::string::npos);
  }
}

TEST_F(AsyncSemanticsTest, StartWhileRunningIsRejected) {
  test_device().block_until_cancel = true;
  auto request = core.compile_model(testing::identity_model(), "TESTDEV").create_infer_request();
  request.start_async();
  EXPECT_THROW(request.start_async(), Error);
  EXPECT_THROW(request.set_input_tensor(0, Tensor(ElementType::f32, {2, 3})), Error);
  request.cancel();
  within(10s, [&] { EXPECT_THROW(request.wait(), Error); });
}

TEST_F(AsyncSemanticsTest, OutputsCopyInputsInPlace) {
  auto request = core.compile_model(testing::identity_model({4}), "TESTDEV").create_infer_request();
  auto x = request.get_tensor("x");
  for (int i = 0; i < 4; ++i) x.data<float>()[i] = float(i) * 1.5f;
  request.infer();
  auto y = request.get_tensor("y");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y.data<float>()[i], float(i) * 1.5f);
  // Wrapping user memory: the request reads it directly.
  float user[4] = {9, 8, 7, 6};
  request.set_tensor("x", Tensor(ElementType::f32, {4}, user));
  request.infer();
  EXPECT_EQ(request.get_output_tensor().data<float>()[0], 9.f);
}

TEST_F(AsyncSemanticsTest, BadTensorsAreRejectedWithClearErrors) {
  auto request = core.compile_model(testing::identity_model({4}), "TESTDEV").create_infer_request();
  try {
    request.get_tensor("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("valid names: x, y"), std::string::npos);
  }
  EXPECT_THROW(request.set_tensor("x", Tensor(ElementType::i32, {4})), Error);
  EXPECT_THROW(request.set_tensor("x", Tensor(ElementType::f32, {5})), Error);
  EXPECT_THROW(request.get_input_tensor(3), Error);
}

// Dropping the CompiledModel and request handles while requests run: the
// requests finish, nothing hangs, and every device object is released.
TEST_F(AsyncSemanticsTest, DestroyingCompiledModelWithRequestsInFlight) {
  test_device().delay_ms = 5;
  test_device().parallel_slots = 2;
  std::atomic<int> callbacks{0};
  within(30s, [&] {
    {
      auto compiled = core.compile_model(testing::identity_model(), "TESTDEV");
      std::vector<InferRequest> requests;
      for (int i = 0; i < 6; ++i) {
        requests.push_back(compiled.create_infer_request());
        requests.back().set_callback([&](std::exception_ptr) { ++callbacks; });
        requests.back().start_async();
      }
    }  // all handles gone; 6 requests still queued or running
    while (test_device().live_compiled.load() != 0 || test_device().live_requests.load() != 0)
      std::this_thread::sleep_for(1ms);
  });
  EXPECT_EQ(callbacks.load(), 6);
  EXPECT_EQ(test_device().calls.load(), 6);
  EXPECT_EQ(test_device().live_requests.load(), 0);
  EXPECT_EQ(test_device().live_compiled.load(), 0);
}

// A callback that owns the last reference to its compiled model (it drops
// it from the worker thread) must not deadlock the worker joining itself.
TEST_F(AsyncSemanticsTest, LastReferenceReleasedFromCallback) {
  std::promise<void> released;
  within(30s, [&] {
    auto compiled = std::make_shared<CompiledModel>(core.compile_model(testing::identity_model(), "TESTDEV"));
    auto request = std::make_shared<InferRequest>(compiled->create_infer_request());
    auto holder = std::make_shared<std::shared_ptr<InferRequest>>(request);
    request->set_callback([holder, &released, compiled_keep = compiled](std::exception_ptr) mutable {
      compiled_keep.reset();
      holder->reset();  // drops the last user handle of the request from inside its callback
      released.set_value();
    });
    request->start_async();
    request.reset();
    compiled.reset();
    released.get_future().wait();
    while (test_device().live_compiled.load() != 0) std::this_thread::sleep_for(1ms);
  });
  EXPECT_EQ(test_device().live_compiled.load(), 0);
}

TEST_F(AsyncSemanticsTest, RequestCapLimitsWorkers) {
  test_device().parallel_slots = 4;
  test_device().delay_ms = 2;
  auto compiled = core.compile_model(testing::identity_model(), "TESTDEV(1)");
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), 1);
  std::vector<InferRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(compiled.create_infer_request());
  within(30s, [&] {
    for (auto& r : requests) r.start_async();
    for (auto& r : requests) r.wait();
  });
  EXPECT_EQ(test_device().max_running.load(), 1);
}

}  // namespace
}  // namespace autosched
