// Cross-request batching in the core's async machinery: a compiled model with
// max_batch() > 1 gets the requests that wait for a worker in infer_batch()
// calls (same input shapes, at most max_batch() each), with per-item errors,
// cancellation, queue limits and teardown behaving as for single requests.
// BATCHDEV below is a plain ICompiledModel computing y = x + 1 on x [?, 2];
// a gate holds its first single inference so that later requests pile up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "autosched/plugin/device.hpp"
#include "core/compiled_model_impl.hpp"
#include "tests/unit/restarting_requests.hpp"
#include "tests/unit/test_device.hpp"
#include "tests/unit/watchdog.hpp"

namespace autosched {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::within;

// Holds inferences while closed; the test opens it once others have queued.
class Gate {
 public:
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock(mutex_);
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --held_;
  }
  void wait_until_holding() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return held_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  int held_ = 0;
};

// One request as BATCHDEV saw it: its id (every input element holds it) and shape.
struct SeenItem {
  float id;
  Shape shape;
};

// What BATCHDEV did, read by the tests. Outlives the compiled model.
struct BatchLog {
  Gate gate;
  std::atomic<bool> throw_in_batch{false};
  std::mutex mutex;
  std::vector<std::vector<SeenItem>> batches;  // one per infer_batch call, in call order
  std::vector<float> singles;                  // ids run through ISyncInferRequest::infer
  std::vector<std::thread::id> worker_threads;  // filled by on_worker_start
  int wrong_worker = 0;                         // infer_batch calls whose `worker` is not the calling thread's
  int overlapping_worker = 0;                   // infer_batch calls while another ran with the same `worker`
  std::vector<int> worker_busy;

  std::vector<std::vector<float>> batch_ids() {
    std::lock_guard lock(mutex);
    std::vector<std::vector<float>> ids;
    for (const auto& b : batches) {
      ids.emplace_back();
      for (const auto& item : b) ids.back().push_back(item.id);
    }
    return ids;
  }
};

// y = x + 1, with the output taking the input's shape.
void add_one(const Tensor& x, Tensor& y) {
  y.set_shape(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) y.data<float>()[i] = x.data<float>()[i] + 1.f;
}

class BatchSyncRequest : public plugin::ISyncInferRequest {
 public:
  explicit BatchSyncRequest(std::shared_ptr<BatchLog> log) : log_(std::move(log)) {}
  void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
    log_->gate.pass();
    {
      std::lock_guard lock(log_->mutex);
      log_->singles.push_back(inputs[0].data<float>()[0]);
    }
    add_one(inputs[0], outputs[0]);
  }

 private:
  std::shared_ptr<BatchLog> log_;
};

// Item ids -1 and -2 fail in infer_batch (std exception / Error(cancelled)).
class BatchCompiledModel : public plugin::ICompiledModel {
 public:
  BatchCompiledModel(std::shared_ptr<BatchLog> log, unsigned max_batch, unsigned workers)
      : log_(std::move(log)),
        model_(testing::identity_model({1, 2}).reshape({{"x", PartialShape({Dimension::dynamic(), 2})}})),
        max_batch_(max_batch),
        workers_(workers) {
    std::lock_guard lock(log_->mutex);
    log_->worker_threads.assign(workers, std::thread::id());
    log_->worker_busy.assign(workers, 0);
  }
  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override {
    return std::make_unique<BatchSyncRequest>(log_);
  }
  unsigned num_parallel_requests() const override { return workers_; }
  void on_worker_start(unsigned worker) override {
    std::lock_guard lock(log_->mutex);
    log_->worker_threads.at(worker) = std::this_thread::get_id();
  }
  unsigned max_batch() const override { return max_batch_; }
  void infer_batch(unsigned worker, std::vector<plugin::BatchItem>& items) override {
    {
      std::lock_guard lock(log_->mutex);
      if (worker >= workers_ || log_->worker_threads[worker] != std::this_thread::get_id()) ++log_->wrong_worker;
      if (worker < workers_ && log_->worker_busy[worker]++ > 0) ++log_->overlapping_worker;
      auto& seen = log_->batches.emplace_back();
      for (const auto& item : items) seen.push_back({(*item.inputs)[0].data<float>()[0], (*item.inputs)[0].shape()});
    }
    std::this_thread::yield();  // gives an overlapping call on the same worker a chance to show
    {
      std::lock_guard lock(log_->mutex);
      if (worker < workers_) --log_->worker_busy[worker];
    }
    if (log_->throw_in_batch) throw std::runtime_error("batch exploded");
    for (auto& item : items) {
      const float id = (*item.inputs)[0].data<float>()[0];
      if (id == -1.f)
        item.error = std::make_exception_ptr(std::runtime_error("bad item"));
      else if (id == -2.f)
        item.error = std::make_exception_ptr(Error(ErrorCode::cancelled, "BATCHDEV: item cancelled"));
      else
        add_one((*item.inputs)[0], (*item.outputs)[0]);
    }
  }
  std::string get_property(const std::string& name) const override {
    if (name == "optimal_number_of_infer_requests") return std::to_string(workers_);
    if (name == "execution_devices") return "BATCHDEV";
    throw Error(ErrorCode::not_found, "BATCHDEV has no property " + name);
  }
  const Model& model() const override { return model_; }

 private:
  std::shared_ptr<BatchLog> log_;
  Model model_;
  unsigned max_batch_;
  unsigned workers_;
};

// Binds an input of `rows` rows filled with `id`.
void set_input(InferRequest& request, float id, std::int64_t rows = 1) {
  Tensor x(ElementType::f32, {rows, 2});
  std::fill_n(x.data<float>(), x.size(), id);
  request.set_input_tensor(0, x);
}

// The output is the request's own input + 1.
bool output_is(InferRequest& request, float id, std::int64_t rows = 1) {
  const auto y = request.get_output_tensor();
  if (y.shape() != Shape{rows, 2}) return false;
  return std::all_of(y.data<float>(), y.data<float>() + y.size(), [&](float v) { return v == id + 1.f; });
}

// The code of the Error `f` throws; internal when it throws none.
template <class F> ErrorCode thrown_code(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::internal;
}

// Waits for the request: the code of the error its run ended with (internal for none).
ErrorCode wait_error(InferRequest& request) {
  return thrown_code([&] { request.wait(); });
}

class AsyncBatchTest : public ::testing::Test {
 protected:
  CompiledModel compile(unsigned max_batch, unsigned workers = 1, std::size_t max_queue_length = 0) {
    auto compiled = std::make_shared<BatchCompiledModel>(log, max_batch, workers);
    if (max_queue_length == 0) return plugin::wrap_compiled_model(compiled, "BATCHDEV");
    // wrap_compiled_model takes no queue limit; Core::compile_model builds the same from the property.
    return CompiledModel(std::make_shared<detail::CompiledModelImpl>(compiled, "BATCHDEV", 0, max_queue_length));
  }
  // Requests whose inputs hold `ids`, with rows[i] rows (1 when `rows` is empty).
  static std::vector<InferRequest> make_requests(CompiledModel& compiled, const std::vector<float>& ids,
                                                 const std::vector<std::int64_t>& rows = {}) {
    std::vector<InferRequest> requests;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      requests.push_back(compiled.create_infer_request());
      set_input(requests.back(), ids[i], rows.empty() ? 1 : rows[i]);
    }
    return requests;
  }
  // Starts `blocker` (id 0) and returns once the single worker holds it at the gate.
  void occupy_worker(InferRequest& blocker) {
    log->gate.close();
    set_input(blocker, 0);
    blocker.start_async();
    within(10s, [&] { log->gate.wait_until_holding(); });
  }

  std::shared_ptr<BatchLog> log = std::make_shared<BatchLog>();
};

TEST_F(AsyncBatchTest, RequestsQueuedBehindABusyWorkerRunAsOneBatch) {
  auto compiled = compile(4);
  auto blocker = compiled.create_infer_request();
  auto requests = make_requests(compiled, {1, 2, 3, 4, 5});
  std::vector<std::atomic<int>> callbacks(5);
  for (int i = 0; i < 5; ++i) {
    requests[i].set_callback([&, i](std::exception_ptr e) {
      EXPECT_FALSE(e);
      ++callbacks[i];
    });
  }
  occupy_worker(blocker);
  for (auto& r : requests) r.start_async();
  for (auto& r : requests) EXPECT_EQ(r.state(), RequestState::queued);
  log->gate.open();
  within(30s, [&] {
    blocker.wait();
    for (auto& r : requests) r.wait();
  });
  // Four (max_batch) in one call; the fifth, alone by then, through its own infer().
  EXPECT_EQ(log->batch_ids(), (std::vector<std::vector<float>>{{1, 2, 3, 4}}));
  EXPECT_EQ(log->singles, (std::vector<float>{0, 5}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(output_is(requests[i], float(i + 1))) << "request " << i + 1;
    EXPECT_EQ(requests[i].state(), RequestState::done);
    EXPECT_EQ(callbacks[i].load(), 1) << "request " << i + 1;
  }
  EXPECT_EQ(log->wrong_worker, 0);
}

TEST_F(AsyncBatchTest, BatchesHoldOneInputShapeAndAtMostMaxBatch) {
  auto compiled = compile(3);
  auto blocker = compiled.create_infer_request();
  // Ids 1..8 with 1 or 2 rows: 1-row ids 1 3 5 7 8, 2-row ids 2 4 6.
  const std::vector<std::int64_t> rows = {1, 2, 1, 2, 1, 2, 1, 1};
  auto requests = make_requests(compiled, {1, 2, 3, 4, 5, 6, 7, 8}, rows);
  occupy_worker(blocker);
  for (auto& r : requests) r.start_async();
  log->gate.open();
  within(30s, [&] {
    for (auto& r : requests) r.wait();
  });
  // Oldest first; a run of the other shape stays queued, in order, for a later call.
  EXPECT_EQ(log->batch_ids(), (std::vector<std::vector<float>>{{1, 3, 5}, {2, 4, 6}, {7, 8}}));
  for (const auto& batch : log->batches)
    for (const auto& item : batch) EXPECT_EQ(item.shape, batch.front().shape) << "id " << item.id;
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_TRUE(output_is(requests[i], float(i + 1), rows[i]));
}

TEST_F(AsyncBatchTest, ItemErrorFailsOnlyItsRequest) {
  auto compiled = compile(4);
  auto blocker = compiled.create_infer_request();
  auto requests = make_requests(compiled, {1, -1, 2, -2});
  std::vector<std::exception_ptr> from_callback(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i)
    requests[i].set_callback([&, i](std::exception_ptr e) { from_callback[i] = e; });
  occupy_worker(blocker);
  for (auto& r : requests) r.start_async();
  log->gate.open();
  within(30s, [&] {
    for (auto& r : requests) wait_error(r);
  });
  ASSERT_EQ(log->batch_ids(), (std::vector<std::vector<float>>{{1, -1, 2, -2}}));
  EXPECT_NO_THROW(requests[0].wait());
  EXPECT_NO_THROW(requests[2].wait());
  EXPECT_TRUE(output_is(requests[0], 1));
  EXPECT_TRUE(output_is(requests[2], 2));
  EXPECT_FALSE(from_callback[0]);
  EXPECT_FALSE(from_callback[2]);
  // A non-autosched exception becomes device_failure naming the device, as for infer().
  EXPECT_EQ(wait_error(requests[1]), ErrorCode::device_failure);
  EXPECT_THAT([&] { requests[1].wait(); }, ThrowsMessage<Error>(HasSubstr("BATCHDEV: bad item")));
  EXPECT_EQ(requests[1].state(), RequestState::failed);
  EXPECT_TRUE(from_callback[1]);
  EXPECT_EQ(wait_error(requests[3]), ErrorCode::cancelled);
  EXPECT_EQ(requests[3].state(), RequestState::cancelled);
  EXPECT_TRUE(from_callback[3]);
}

TEST_F(AsyncBatchTest, ThrowingInferBatchFailsEveryItem) {
  auto compiled = compile(4);
  auto blocker = compiled.create_infer_request();
  auto requests = make_requests(compiled, {1, 2, 3});
  std::atomic<int> failed_callbacks{0};
  for (auto& r : requests) r.set_callback([&](std::exception_ptr e) { failed_callbacks += e ? 1 : 0; });
  log->throw_in_batch = true;
  occupy_worker(blocker);
  for (auto& r : requests) r.start_async();
  log->gate.open();
  within(30s, [&] {
    for (auto& r : requests) wait_error(r);
  });
  ASSERT_EQ(log->batches.size(), 1u);
  EXPECT_EQ(log->batches[0].size(), 3u);
  for (auto& r : requests) {
    EXPECT_EQ(wait_error(r), ErrorCode::device_failure);
    EXPECT_THAT([&] { r.wait(); }, ThrowsMessage<Error>(HasSubstr("BATCHDEV: batch exploded")));
    EXPECT_EQ(r.state(), RequestState::failed);
  }
  EXPECT_EQ(failed_callbacks.load(), 3);
  // The requests run again afterwards.
  log->throw_in_batch = false;
  within(30s, [&] {
    for (auto& r : requests) r.infer();
  });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(output_is(requests[i], float(i + 1)));
}

TEST_F(AsyncBatchTest, CancelledQueuedRequestIsNeverBatched) {
  auto compiled = compile(4);
  auto blocker = compiled.create_infer_request();
  auto requests = make_requests(compiled, {1, 2, 3, 4});
  std::vector<std::atomic<int>> callbacks(4);
  for (int i = 0; i < 4; ++i) requests[i].set_callback([&, i](std::exception_ptr) { ++callbacks[i]; });
  occupy_worker(blocker);
  for (auto& r : requests) r.start_async();
  // Completes at once, while the worker is still held.
  requests[1].cancel();
  EXPECT_EQ(requests[1].state(), RequestState::cancelled);
  EXPECT_EQ(wait_error(requests[1]), ErrorCode::cancelled);
  EXPECT_EQ(callbacks[1].load(), 1);
  requests[3].cancel();
  // Restarted after its cancel: queued again, behind the others.
  requests[1].start_async();
  log->gate.open();
  within(30s, [&] {
    for (int i : {0, 1, 2}) requests[i].wait();
  });
  EXPECT_EQ(wait_error(requests[3]), ErrorCode::cancelled);
  EXPECT_EQ(log->batch_ids(), (std::vector<std::vector<float>>{{1, 3, 2}}));
  EXPECT_EQ(log->singles, std::vector<float>{0});
  EXPECT_EQ((std::vector<int>{callbacks[0], callbacks[1], callbacks[2], callbacks[3]}),
            (std::vector<int>{1, 2, 1, 1}));
}

// A refused start takes its pending entry back: an entry left behind (here of
// another shape than later runs) would take the job of a later run, which
// then would wait forever.
TEST_F(AsyncBatchTest, RefusedStartLeavesNothingQueued) {
  auto compiled = compile(4, 1, 1);
  auto blocker = compiled.create_infer_request();
  auto requests = make_requests(compiled, {1, 2, 3}, {1, 2, 1});
  auto& first = requests[0];
  auto& refused = requests[1];  // of another shape than the others
  auto& later = requests[2];
  occupy_worker(blocker);
  first.start_async();
  // max_queue_length 1: a second waiting request is refused.
  EXPECT_EQ(thrown_code([&] { refused.start_async(); }), ErrorCode::resource_exhausted);
  EXPECT_EQ(refused.state(), RequestState::idle);
  log->gate.open();
  within(30s, [&] { first.wait(); });
  later.start_async();
  EXPECT_TRUE(later.wait_for(30s)) << "a later request was left without a worker job";
  within(30s, [&] { refused.infer(); });
  EXPECT_TRUE(output_is(first, 1));
  EXPECT_TRUE(output_is(refused, 2, 2));
  EXPECT_TRUE(output_is(later, 3));
  EXPECT_EQ(log->singles, (std::vector<float>{0, 1, 3, 2}));
  EXPECT_TRUE(log->batches.empty());
}

// Dropping every handle while runs wait to be batched: they all complete and
// the compiled model is released afterwards.
TEST_F(AsyncBatchTest, DroppingHandlesWithQueuedRunsCompletesThem) {
  std::atomic<int> callbacks{0};
  {
    auto compiled = compile(4);
    auto blocker = compiled.create_infer_request();
    occupy_worker(blocker);
    for (auto& r : make_requests(compiled, {1, 2, 3, 4, 5, 6})) {
      r.set_callback([&](std::exception_ptr e) {
        EXPECT_FALSE(e);
        ++callbacks;
      });
      r.start_async();
    }
  }  // every handle gone; 6 runs queued, the blocker held
  auto gate_log = log;
  log.reset();
  gate_log->gate.open();
  within(30s, [&] {
    while (gate_log.use_count() > 1) std::this_thread::sleep_for(1ms);  // the model and its requests let go
  });
  EXPECT_EQ(callbacks.load(), 6);
  EXPECT_EQ(gate_log->batch_ids(), (std::vector<std::vector<float>>{{1, 2, 3, 4}, {5, 6}}));
}

// Thousands of runs through requests whose callbacks restart them, on 1, 2
// and 4 workers, two input shapes mixed: every run completes exactly once
// with its own result, and infer_batch keeps to its contract.
class AsyncBatchStressTest : public AsyncBatchTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(AsyncBatchStressTest, RestartingRequestsAllComplete) {
  const unsigned workers = GetParam();
  const int total = 3000;
  auto compiled = compile(4, workers);
  const std::vector<std::int64_t> rows = {1, 2, 1, 2, 1, 2, 1, 2};
  auto requests = make_requests(compiled, {1, 2, 3, 4, 5, 6, 7, 8}, rows);
  const auto counts = testing::run_restarting(
      requests, total,
      [&](std::size_t i, std::exception_ptr error) {
        return !error && output_is(requests[i], float(i + 1), rows[i]);
      },
      120s);
  EXPECT_EQ(counts.completed, total);
  EXPECT_EQ(counts.rejected, 0);  // failed or wrong output
  std::lock_guard lock(log->mutex);
  std::size_t batched = 0;
  for (const auto& batch : log->batches) {
    EXPECT_GE(batch.size(), 2u);
    EXPECT_LE(batch.size(), 4u);
    for (const auto& item : batch) EXPECT_EQ(item.shape, batch.front().shape);
    batched += batch.size();
  }
  EXPECT_EQ(batched + log->singles.size(), std::size_t(total));
  EXPECT_EQ(log->wrong_worker, 0);
  EXPECT_EQ(log->overlapping_worker, 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, AsyncBatchStressTest, ::testing::Values(1u, 2u, 4u));

}  // namespace
}  // namespace autosched
