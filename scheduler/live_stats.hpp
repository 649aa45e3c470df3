#pragma once
// Live statistics of one device serving one compiled model: what policies
// see through DeviceStats. Updated on every completion under the device's own
// small lock (never the scheduler's lock), read by snapshots.
//
// Robust to one-off outliers (a page fault, a noisy neighbour):
//  * percentiles come from a sliding window of the latest `window` samples,
//    so one spike moves p50 not at all and leaves p90/p99 after `window`
//    completions;
//  * the EWMA clips each sample to [ewma / clip_factor, ewma * clip_factor]
//    before averaging, so one 100x spike moves it by at most
//    weight * (clip_factor - 1) of itself; a real, lasting slowdown still
//    gets through within a few samples (each step raises the clip).
// Times are passed in, so the simulator drives the same code on a virtual clock.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "autosched/policy.hpp"

namespace autosched::scheduler {

struct LiveStatsOptions {
  std::size_t window = 16;         // latency samples in the percentiles
  double ewma_weight = 0.2;        // weight of the newest sample
  double clip_factor = 3.0;        // EWMA outlier clipping
  std::chrono::milliseconds rate_window{1000};  // completions per second over this (10 buckets)
};

class LiveStats {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LiveStats(LiveStatsOptions options = {});

  // A completed run measured for latency (`latency_ms` on the device).
  void record(double latency_ms, Clock::time_point now, unsigned batch_size = 1);
  // A completed run that counts for the rate but not the latency (warm-up, contended).
  void record_unmeasured(Clock::time_point now);
  void record_failure();
  // Forgets the latency samples (e.g. after the device was re-admitted), keeping counts.
  void reset_latency();

  // Fills the statistics fields of `out` (samples, latencies, rate, batch,
  // completed, failed); leaves name, slots, in_flight, health, eligible alone.
  void fill(DeviceStats& out, Clock::time_point now) const;

  std::uint64_t samples() const;
  double ewma_ms() const;
  double p50_ms() const;

 private:
  void refresh_locked() const;  // recomputes percentiles when samples changed

  LiveStatsOptions options_;
  mutable std::mutex mutex_;
  std::uint64_t completed_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t samples_ = 0;
  double ewma_ = 0;
  unsigned batch_ = 1;
  std::vector<double> window_;       // ring of the latest samples
  std::size_t window_next_ = 0;
  // Completions per time bucket (rate_window / kRateBuckets each), a ring
  // indexed by bucket number: the rate costs O(buckets), whatever the rate.
  static constexpr std::size_t kRateBuckets = 10;
  struct RateBucket {
    std::int64_t index = -1;
    std::uint64_t count = 0;
  };
  RateBucket buckets_[kRateBuckets];
  Clock::duration bucket_length_{};
  std::int64_t bucket_of(Clock::time_point t) const { return t.time_since_epoch() / bucket_length_; }
  void count_completion_locked(Clock::time_point now);
  mutable bool dirty_ = false;
  mutable double p50_ = 0, p90_ = 0, p99_ = 0;
  mutable std::vector<double> scratch_;
};

}  // namespace autosched::scheduler
