#include "devices/sim/sim_clock.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace autosched::sim {

// ---------------------------------------------------------------- CancelToken

void CancelToken::cancel() {
  cancelled_ = true;
  Clock* clock = nullptr;
  {
    std::lock_guard lock(mutex_);
    clock = waiting_on_;
  }
  // Outside the token's lock: wake_all takes the clock's lock (order: token, then clock).
  if (clock) clock->wake_all();
}

void Clock::attach(CancelToken& cancel) {
  std::lock_guard lock(cancel.mutex_);
  cancel.waiting_on_ = this;
}

void Clock::detach(CancelToken& cancel) {
  std::lock_guard lock(cancel.mutex_);
  cancel.waiting_on_ = nullptr;
}

namespace {

void lower_timer_slack_once() {
#ifdef __linux__
  thread_local bool lowered = false;
  if (!lowered) {
    lowered = true;
    ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // 1 µs instead of the default 50 µs
  }
#endif
}

// Deadlines this far away are treated as "forever" (avoids overflow in time_point arithmetic).
constexpr Duration kFarFuture = std::chrono::hours(24 * 365 * 100);

}  // namespace

// ---------------------------------------------------------------- SteadyClock

SteadyClock::SteadyClock() : epoch_(std::chrono::steady_clock::now()) {}

Duration SteadyClock::now() const {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - epoch_);
}

bool SteadyClock::wait_until(Duration deadline, CancelToken& cancel) {
  attach(cancel);
  struct Detach {
    CancelToken& token;
    ~Detach() { Clock::detach(token); }
  } detach_at_exit{cancel};
  lower_timer_slack_once();
  std::unique_lock lock(mutex_);
  if (deadline >= kFarFuture) {
    cv_.wait(lock, [&] { return cancel.cancelled(); });
    return false;
  }
  const auto target = epoch_ + deadline;
  const auto start = std::chrono::steady_clock::now();
  if (start >= target) return !cancel.cancelled();
  const auto length = std::chrono::duration_cast<Duration>(target - start);
  const auto octave = std::min<std::size_t>(kOctaves - 1, std::bit_width(std::uint64_t(length.count())));
  const Duration early(std::clamp<std::int64_t>(early_ns_[octave].load(std::memory_order_relaxed), 0,
                                                length.count() / 2));
  const auto wake_at = target - early;
  for (;;) {
    if (cancel.cancelled()) return false;
    if (std::chrono::steady_clock::now() >= wake_at) break;
    cv_.wait_until(lock, wake_at);
  }
  lock.unlock();
  // Median tracking: move the margin 1 µs towards making this wait end on time.
  const bool late = std::chrono::steady_clock::now() > target;
  const auto updated = early_ns_[octave].fetch_add(late ? 1000 : -1000, std::memory_order_relaxed) + (late ? 1000 : -1000);
  if (updated < 0) early_ns_[octave].store(0, std::memory_order_relaxed);
  return true;
}

void SteadyClock::wake_all() {
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

// ---------------------------------------------------------------- ManualClock

Duration ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

bool ManualClock::wait_until(Duration deadline, CancelToken& cancel) {
  attach(cancel);
  struct Detach {
    CancelToken& token;
    ~Detach() { Clock::detach(token); }
  } detach_at_exit{cancel};
  std::unique_lock lock(mutex_);
  if (cancel.cancelled()) return false;
  if (deadline <= now_) {
    recorded_.push_back(Duration(0));
    return true;
  }
  recorded_.push_back(deadline == kForever ? kForever : deadline - now_);
  if (auto_advance_ && deadline != kForever) {
    now_ = deadline;
    waiter_cv_.notify_all();
    return true;
  }
  ++waiting_;
  deadlines_.push_back(deadline);
  test_cv_.notify_all();
  std::uint64_t seen = generation_;
  bool reached = false;
  for (;;) {
    if (cancel.cancelled()) break;
    if (now_ >= deadline) {
      reached = true;
      break;
    }
    waiter_cv_.wait(lock);
    // The lock is held from here until the next wait or the exit, so an
    // advance() waiting for this acknowledgement sees the settled state.
    if (seen != generation_) {
      seen = generation_;
      if (unacknowledged_ > 0) --unacknowledged_;
      test_cv_.notify_all();
    }
  }
  --waiting_;
  deadlines_.erase(std::find(deadlines_.begin(), deadlines_.end(), deadline));
  test_cv_.notify_all();
  return reached;
}

void ManualClock::advance_locked(std::unique_lock<std::mutex>& lock, Duration time) {
  now_ = std::max(now_, time);
  ++generation_;
  unacknowledged_ = waiting_;
  waiter_cv_.notify_all();
  test_cv_.wait(lock, [this] { return unacknowledged_ == 0; });
}

void ManualClock::advance(Duration step) {
  std::lock_guard serial(advance_mutex_);
  std::unique_lock lock(mutex_);
  advance_locked(lock, now_ + std::max(step, Duration(0)));
}

void ManualClock::advance_to(Duration time) {
  std::lock_guard serial(advance_mutex_);
  std::unique_lock lock(mutex_);
  if (time > now_) advance_locked(lock, time);
}

bool ManualClock::advance_to_next_deadline() {
  std::lock_guard serial(advance_mutex_);
  std::unique_lock lock(mutex_);
  Duration next = kForever;
  for (auto d : deadlines_) next = std::min(next, d);
  if (next == kForever) return false;
  advance_locked(lock, next);
  return true;
}

void ManualClock::set_auto_advance(bool on) {
  std::lock_guard lock(mutex_);
  auto_advance_ = on;
}

std::size_t ManualClock::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

bool ManualClock::wait_for_waiters(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return test_cv_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
}

std::vector<Duration> ManualClock::recorded_waits() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

void ManualClock::clear_recorded_waits() {
  std::lock_guard lock(mutex_);
  recorded_.clear();
}

void ManualClock::wake_all() {
  std::lock_guard lock(mutex_);
  waiter_cv_.notify_all();
}

// ---------------------------------------------------------------- clock selection

namespace {

struct ClockSelection {
  std::mutex mutex;
  std::shared_ptr<Clock> for_tests;
  std::shared_ptr<Clock> steady = std::make_shared<SteadyClock>();
};

ClockSelection& selection() {
  static ClockSelection s;
  return s;
}

}  // namespace

std::shared_ptr<Clock> clock_for_new_devices() {
  auto& s = selection();
  std::lock_guard lock(s.mutex);
  return s.for_tests ? s.for_tests : s.steady;
}

void set_clock_for_testing(std::shared_ptr<Clock> clock) {
  auto& s = selection();
  std::lock_guard lock(s.mutex);
  s.for_tests = std::move(clock);
}

Duration from_ms(double ms) {
  const double ns = std::round(ms * 1e6);
  if (!(ns < double(kFarFuture.count()))) return kForever;
  return Duration(std::int64_t(ns));
}

double to_ms(Duration d) { return double(d.count()) / 1e6; }
double to_seconds(Duration d) { return double(d.count()) / 1e9; }

}  // namespace autosched::sim
