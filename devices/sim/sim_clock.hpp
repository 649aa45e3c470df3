#pragma once
// The time source of SIM devices. Every simulated duration (compile time,
// inference latency, hangs, the slowdown schedule, disappearance) is read and
// spent through a Clock, so tests swap the real clock for a ManualClock and
// check every timing behaviour deterministically, without sleeping.
//
// Times are Durations since the clock's own epoch (construction). Waits are
// blocking calls that sleep on a condition variable: they never spin, so many
// SIM devices can wait side by side on a 2-core machine.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace autosched::sim {

using Duration = std::chrono::nanoseconds;
// A deadline that never passes: the wait ends only by cancellation.
inline constexpr Duration kForever = Duration::max();

class Clock;

// Cancels a wait from another thread. cancel() wakes the wait in progress and
// makes every later wait return at once until reset(). Thread-safe. The
// token must outlive the waits that use it.
class CancelToken {
 public:
  void cancel();
  void reset() noexcept { cancelled_ = false; }
  bool cancelled() const noexcept { return cancelled_; }
  // The raw flag, for code that polls between steps (reference::GraphExecutor).
  const std::atomic<bool>* flag() const noexcept { return &cancelled_; }

 private:
  friend class Clock;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  Clock* waiting_on_ = nullptr;  // the clock of the wait in progress
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Time since this clock's epoch. Thread-safe, never blocks for long.
  virtual Duration now() const = 0;
  // Blocks until now() reaches `deadline` (returns true) or `cancel` is
  // cancelled (returns false; also at once when it already is). Thread-safe;
  // any number of threads may wait at once. Never burns CPU. (SteadyClock:
  // "reaches" within the OS wake-up jitter, see there.)
  virtual bool wait_until(Duration deadline, CancelToken& cancel) = 0;

 protected:
  // Wakes every waiter so that it re-checks its token (called by cancel()).
  virtual void wake_all() = 0;
  // Registers / unregisters `cancel` as belonging to a wait on this clock.
  // Call attach before taking the clock's own lock (lock order: token, then clock).
  void attach(CancelToken& cancel);
  static void detach(CancelToken& cancel);

  friend class CancelToken;
};

// The real clock: std::chrono::steady_clock. Waits sleep in
// condition_variable::wait_until (no CPU use). The OS wakes a sleeper some
// tens of µs late (more on VMs), which would make a 1 ms simulated latency
// ~5 % too long, so two corrections apply: on Linux the waiting thread's
// timer slack is lowered to 1 µs, and each wait aims early by a self-tuning
// margin per wait-length octave (a median tracker: +1 µs after a late wake,
// −1 µs after an early one, at most half the wait). A wait therefore ends
// *around* its deadline — the median error is ~0, individual waits may end a
// few µs before it. ManualClock has no such error.
class SteadyClock final : public Clock {
 public:
  SteadyClock();
  Duration now() const override;
  bool wait_until(Duration deadline, CancelToken& cancel) override;

 private:
  void wake_all() override;
  static constexpr std::size_t kOctaves = 32;
  std::chrono::steady_clock::time_point epoch_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<std::int64_t> early_ns_[kOctaves] = {};  // the margin per octave of wait length (ns)
};

// A clock for tests: time stands still until the test calls advance(). Waits
// block until the manual time reaches their deadline or they are cancelled.
// The "waiting room" (waiting(), wait_for_waiters()) lets a test know that a
// thread is blocked in a wait without sleeping. Thread-safe.
class ManualClock final : public Clock {
 public:
  Duration now() const override;
  bool wait_until(Duration deadline, CancelToken& cancel) override;

  // Moves time forward by `step` (>= 0). Returns only after every thread that
  // was waiting has re-checked its deadline: those whose deadline passed have
  // left wait_until, the others are waiting again. So right after advance(),
  // waiting() is exact.
  void advance(Duration step);
  void advance_to(Duration time);  // no-op when `time` is not after now()
  // Advances to the earliest deadline of the threads now waiting (not kForever);
  // returns false when nobody waits on a finite deadline.
  bool advance_to_next_deadline();
  // When on, a wait with a finite deadline moves time to its deadline at once
  // and returns (for sampling many latencies quickly on one thread).
  void set_auto_advance(bool on);

  // Threads blocked in wait_until right now.
  std::size_t waiting() const;
  // Blocks the caller (real time) until at least `n` threads wait; false on timeout.
  bool wait_for_waiters(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The durations (deadline - now at entry) of every wait so far, in order of
  // arrival; kForever for endless waits. Waits whose deadline had already passed are recorded as 0.
  std::vector<Duration> recorded_waits() const;
  void clear_recorded_waits();

 private:
  void wake_all() override;
  void advance_locked(std::unique_lock<std::mutex>& lock, Duration time);

  mutable std::mutex mutex_;
  std::mutex advance_mutex_;            // one advance at a time
  std::condition_variable waiter_cv_;   // waiters sleep here
  std::condition_variable test_cv_;     // advance() and wait_for_waiters() sleep here
  Duration now_{0};
  bool auto_advance_ = false;
  std::size_t waiting_ = 0;
  std::uint64_t generation_ = 0;        // bumped by each advance
  std::size_t unacknowledged_ = 0;      // waiters that have not re-checked the last advance
  std::vector<Duration> deadlines_;     // deadlines of the threads waiting (multiset)
  std::vector<Duration> recorded_;
};

// The clock that SIM devices created from now on use: the process-wide
// SteadyClock unless a test installed its own. Thread-safe.
std::shared_ptr<Clock> clock_for_new_devices();
// Test hook: devices created after this call (e.g. by constructing a Core)
// use `clock`; nullptr restores the real clock. Existing devices keep theirs.
void set_clock_for_testing(std::shared_ptr<Clock> clock);

// Conversions for the profile's millisecond/second numbers (rounded to ns).
Duration from_ms(double ms);
double to_ms(Duration d);
double to_seconds(Duration d);

}  // namespace autosched::sim
