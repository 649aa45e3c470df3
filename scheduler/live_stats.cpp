#include "scheduler/live_stats.hpp"

#include <algorithm>
#include <cmath>

namespace autosched::scheduler {

LiveStats::LiveStats(LiveStatsOptions options) : options_(options) {
  if (options_.window == 0) options_.window = 1;
  if (options_.rate_window.count() < std::int64_t(kRateBuckets)) options_.rate_window = std::chrono::milliseconds(kRateBuckets);
  bucket_length_ = std::chrono::duration_cast<Clock::duration>(options_.rate_window) / kRateBuckets;
  if (options_.clip_factor < 1) options_.clip_factor = 1;
  window_.reserve(options_.window);
  scratch_.reserve(options_.window);
}

void LiveStats::record(double latency_ms, Clock::time_point now, unsigned batch_size) {
  if (!(latency_ms >= 0) || !std::isfinite(latency_ms)) latency_ms = 0;
  std::lock_guard lock(mutex_);
  if (samples_ == 0) {
    ewma_ = latency_ms;
  } else {
    const double clipped = std::clamp(latency_ms, ewma_ / options_.clip_factor, ewma_ * options_.clip_factor);
    ewma_ = (1 - options_.ewma_weight) * ewma_ + options_.ewma_weight * clipped;
  }
  ++samples_;
  if (window_.size() < options_.window)
    window_.push_back(latency_ms);
  else
    window_[window_next_] = latency_ms;
  window_next_ = (window_next_ + 1) % options_.window;
  batch_ = batch_size == 0 ? 1 : batch_size;
  dirty_ = true;
  count_completion_locked(now);
}

void LiveStats::record_unmeasured(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  count_completion_locked(now);
}

void LiveStats::count_completion_locked(Clock::time_point now) {
  ++completed_;
  const std::int64_t index = bucket_of(now);
  auto& b = buckets_[std::size_t(((index % std::int64_t(kRateBuckets)) + std::int64_t(kRateBuckets)) %
                                 std::int64_t(kRateBuckets))];
  if (b.index != index) {
    b.index = index;
    b.count = 0;
  }
  ++b.count;
}

void LiveStats::record_failure() {
  std::lock_guard lock(mutex_);
  ++failed_;
}

void LiveStats::reset_latency() {
  std::lock_guard lock(mutex_);
  samples_ = 0;
  ewma_ = 0;
  window_.clear();
  window_next_ = 0;
  dirty_ = true;
}

void LiveStats::refresh_locked() const {
  if (!dirty_) return;
  dirty_ = false;
  if (window_.empty()) {
    p50_ = p90_ = p99_ = 0;
    return;
  }
  scratch_.assign(window_.begin(), window_.end());
  std::sort(scratch_.begin(), scratch_.end());
  // Nearest-rank percentiles: with a 16-sample window p99 is the maximum.
  const auto rank = [&](double q) {
    const auto n = scratch_.size();
    auto k = static_cast<std::size_t>(std::ceil(q * double(n)));
    return scratch_[std::min(n - 1, k == 0 ? 0 : k - 1)];
  };
  p50_ = rank(0.50);
  p90_ = rank(0.90);
  p99_ = rank(0.99);
}

void LiveStats::fill(DeviceStats& out, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  refresh_locked();
  out.completed = completed_;
  out.failed = failed_;
  out.samples = samples_;
  out.ewma_latency_ms = ewma_;
  out.p50_latency_ms = p50_;
  out.p90_latency_ms = p90_;
  out.p99_latency_ms = p99_;
  out.batch_size = batch_;
  // Completions in the buckets of the window ending with now's bucket.
  const std::int64_t current = bucket_of(now);
  std::uint64_t n = 0;
  for (const auto& b : buckets_)
    if (b.index > current - std::int64_t(kRateBuckets) && b.index <= current) n += b.count;
  out.completions_per_s = double(n) / std::chrono::duration<double>(options_.rate_window).count();
}

std::uint64_t LiveStats::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

double LiveStats::ewma_ms() const {
  std::lock_guard lock(mutex_);
  return ewma_;
}

double LiveStats::p50_ms() const {
  std::lock_guard lock(mutex_);
  refresh_locked();
  return p50_;
}

}  // namespace autosched::scheduler
