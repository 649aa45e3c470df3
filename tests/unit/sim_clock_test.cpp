// The SIM clocks: ManualClock waits end exactly when the manual time passes
// their deadline or on cancel; the waiting room makes that observable without
// sleeping. SteadyClock waits reach their deadline and are cancellable.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "devices/sim/sim_clock.hpp"

namespace autosched::sim {
namespace {

using namespace std::chrono_literals;

TEST(SimClock, ManualWaitEndsOnlyWhenTimePassesDeadline) {
  ManualClock clock;
  CancelToken token;
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = clock.wait_until(Duration(10ms), token) ? 1 : 0; });
  ASSERT_TRUE(clock.wait_for_waiters(1));
  clock.advance(9ms);
  EXPECT_EQ(clock.waiting(), 1u);  // exact after advance(): the waiter re-checked and waits again
  EXPECT_EQ(result, -1);
  clock.advance(999us);
  EXPECT_EQ(clock.waiting(), 1u);
  clock.advance(1us);
  EXPECT_EQ(clock.waiting(), 0u);
  waiter.join();
  EXPECT_EQ(result, 1);
  EXPECT_EQ(clock.now(), Duration(10ms));
  ASSERT_EQ(clock.recorded_waits().size(), 1u);
  EXPECT_EQ(clock.recorded_waits()[0], Duration(10ms));
}

TEST(SimClock, ManualCancelWakesEndlessWait) {
  ManualClock clock;
  CancelToken token;
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = clock.wait_until(kForever, token) ? 1 : 0; });
  ASSERT_TRUE(clock.wait_for_waiters(1));
  clock.advance(std::chrono::hours(1000));
  EXPECT_EQ(clock.waiting(), 1u);
  EXPECT_FALSE(clock.advance_to_next_deadline());  // an endless wait has no deadline to jump to
  token.cancel();
  waiter.join();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(clock.recorded_waits().back(), kForever);
}

TEST(SimClock, CancelBeforeWaitReturnsAtOnceUntilReset) {
  ManualClock clock;
  CancelToken token;
  token.cancel();
  EXPECT_FALSE(clock.wait_until(Duration(5ms), token));
  EXPECT_TRUE(token.cancelled());
  token.reset();
  clock.set_auto_advance(true);
  EXPECT_TRUE(clock.wait_until(Duration(5ms), token));
}

TEST(SimClock, PassedDeadlineReturnsAtOnce) {
  ManualClock clock;
  CancelToken token;
  clock.advance(3ms);
  EXPECT_TRUE(clock.wait_until(Duration(2ms), token));
  EXPECT_EQ(clock.waiting(), 0u);
}

TEST(SimClock, AdvanceToNextDeadlineReleasesWaitersInDeadlineOrder) {
  ManualClock clock;
  CancelToken a, b;
  std::atomic<int> finished{0};
  std::thread first([&] { clock.wait_until(Duration(30ms), a); finished += 1; });
  std::thread second([&] { clock.wait_until(Duration(20ms), b); finished += 10; });
  ASSERT_TRUE(clock.wait_for_waiters(2));
  ASSERT_TRUE(clock.advance_to_next_deadline());
  EXPECT_EQ(clock.now(), Duration(20ms));
  EXPECT_EQ(clock.waiting(), 1u);
  second.join();
  EXPECT_EQ(finished, 10);
  ASSERT_TRUE(clock.advance_to_next_deadline());
  EXPECT_EQ(clock.now(), Duration(30ms));
  first.join();
  EXPECT_EQ(finished, 11);
  EXPECT_FALSE(clock.advance_to_next_deadline());
}

TEST(SimClock, AutoAdvanceJumpsToEachDeadline) {
  ManualClock clock;
  clock.set_auto_advance(true);
  CancelToken token;
  EXPECT_TRUE(clock.wait_until(Duration(4ms), token));
  EXPECT_TRUE(clock.wait_until(clock.now() + Duration(6ms), token));
  EXPECT_EQ(clock.now(), Duration(10ms));
  EXPECT_EQ(clock.recorded_waits(), (std::vector<Duration>{Duration(4ms), Duration(6ms)}));
  clock.clear_recorded_waits();
  EXPECT_TRUE(clock.recorded_waits().empty());
}

TEST(SimClock, SteadyWaitReachesDeadline) {
  SteadyClock clock;
  CancelToken token;
  const Duration deadline = clock.now() + Duration(2ms);
  EXPECT_TRUE(clock.wait_until(deadline, token));
  EXPECT_GE(clock.now(), deadline);  // a fresh clock has no early-wake margin yet
}

TEST(SimClock, SteadyEndlessWaitIsCancelledFromAnotherThread) {
  SteadyClock clock;
  CancelToken token;
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = clock.wait_until(kForever, token) ? 1 : 0; });
  token.cancel();  // before or during the wait: either way the wait ends
  waiter.join();
  EXPECT_EQ(result, 0);
}

TEST(SimClock, TestHookSelectsClockForNewDevices) {
  auto manual = std::make_shared<ManualClock>();
  set_clock_for_testing(manual);
  EXPECT_EQ(clock_for_new_devices(), manual);
  set_clock_for_testing(nullptr);
  EXPECT_NE(clock_for_new_devices(), manual);
  EXPECT_NE(dynamic_cast<SteadyClock*>(clock_for_new_devices().get()), nullptr);
}

}  // namespace
}  // namespace autosched::sim
