// The max_queue_length property: a compiled model refuses start_async with
// Error(resource_exhausted) once that many requests wait for a worker,
// instead of letting the queue grow; refused requests stay usable, accepted
// ones all complete.
#include <gtest/gtest.h>

#include <vector>

#include "tests/stress/stress_support.hpp"

namespace autosched::stress {
namespace {

using namespace std::chrono_literals;

TEST(QueueLimit, PropertyIsValidatedAndReported) {
  Core core;
  EXPECT_THROW(validate_properties({{"max_queue_length", "-1"}}), Error);
  EXPECT_THROW(validate_properties({{"max_queue_length", "many"}}), Error);
  EXPECT_NO_THROW(validate_properties({max_queue_length(8)}));
  auto compiled = core.compile_model(identity_model(), "STRESSDEV", {max_queue_length(8)});
  EXPECT_EQ(compiled.get_property("max_queue_length"), "8");
  auto unlimited = core.compile_model(identity_model(), "STRESSDEV");
  EXPECT_EQ(unlimited.get_property("max_queue_length"), "0");
}

TEST(QueueLimit, FullQueueRefusesWithResourceExhausted) {
  stress_device().reset();
  stress_device().parallel_slots = 1;
  stress_device().block_until_cancel = true;
  Watchdog watchdog(120s, "QueueLimit.FullQueueRefusesWithResourceExhausted");
  Core core;
  auto compiled = core.compile_model(identity_model(), "STRESSDEV", {max_queue_length(3)});
  std::vector<InferRequest> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(compiled.create_infer_request());
  requests[0].start_async();  // taken by the only worker (blocks until cancelled)
  while (stress_device().calls == 0) std::this_thread::sleep_for(1ms);
  for (int i = 1; i <= 3; ++i) requests[i].start_async();  // waiting: 3 = the limit
  try {
    requests[4].start_async();
    FAIL() << "a 4th waiting request was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::resource_exhausted);
    EXPECT_NE(std::string(e.what()).find("max_queue_length"), std::string::npos) << e.what();
  }
  EXPECT_EQ(requests[4].state(), RequestState::idle);  // refused: untouched, still usable
  EXPECT_NO_THROW(requests[4].wait());
  stress_device().block_until_cancel = false;
  requests[0].cancel();
  EXPECT_THROW(requests[0].wait(), Error);
  for (int i = 1; i <= 3; ++i) EXPECT_NO_THROW(requests[i].wait());
  requests[4].start_async();  // room again
  EXPECT_NO_THROW(requests[4].wait());
}

// 16 threads hammer a small limit: every start is either refused at once or
// completes exactly once; the queue never exceeds the limit.
TEST(QueueLimit, ConcurrentStartsNeverLoseAcceptedRequests) {
  stress_device().reset();
  stress_device().parallel_slots = 2;
  stress_device().max_delay_us = 200;
  Watchdog watchdog(std::chrono::seconds(scaled(600, 180)), "QueueLimit.ConcurrentStarts");
  Core core;
  auto compiled = core.compile_model(identity_model(), "STRESSDEV", {max_queue_length(4)});
  const std::int64_t rounds = scaled(2000, 200);
  std::atomic<std::int64_t> accepted{0}, refused{0}, completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      std::vector<InferRequest> mine;
      for (int i = 0; i < 4; ++i) mine.push_back(compiled.create_infer_request());
      for (std::int64_t round = 0; round < rounds; ++round) {
        std::vector<bool> started(mine.size());
        for (std::size_t i = 0; i < mine.size(); ++i) {
          try {
            mine[i].start_async();
            started[i] = true;
            ++accepted;
          } catch (const Error& e) {
            if (e.code() != ErrorCode::resource_exhausted) throw;
            ++refused;
          }
        }
        for (std::size_t i = 0; i < mine.size(); ++i)
          if (started[i]) {
            mine[i].wait();
            ++completed;
          }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("[stress] queue limit 4 under 16 threads: accepted %lld, refused %lld, completed %lld\n",
              (long long)accepted.load(), (long long)refused.load(), (long long)completed.load());
  EXPECT_EQ(completed, accepted);
  EXPECT_GT(refused, 0);
  EXPECT_EQ(accepted + refused, 16 * 4 * rounds);
}

}  // namespace
}  // namespace autosched::stress
