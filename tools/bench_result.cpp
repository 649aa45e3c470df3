#include "tools/bench_result.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace autosched::tools {

namespace {

// Nearest-rank percentile of a sorted, non-empty sample.
double percentile(const std::vector<double>& sorted, double p) {
  const double rank = std::ceil(p / 100.0 * double(sorted.size()));
  const auto index = std::size_t(std::clamp(rank, 1.0, double(sorted.size()))) - 1;
  return sorted[index];
}

}  // namespace

LatencyStats latency_stats(std::vector<double> sample_ms, double custom_percentile) {
  LatencyStats s;
  s.count = sample_ms.size();
  if (sample_ms.empty()) return s;
  std::sort(sample_ms.begin(), sample_ms.end());
  const std::size_t n = sample_ms.size();
  s.median = n % 2 ? sample_ms[n / 2] : (sample_ms[n / 2 - 1] + sample_ms[n / 2]) / 2;
  s.avg = std::accumulate(sample_ms.begin(), sample_ms.end(), 0.0) / double(n);
  s.min = sample_ms.front();
  s.max = sample_ms.back();
  s.p90 = percentile(sample_ms, 90);
  s.p99 = percentile(sample_ms, 99);
  s.custom = percentile(sample_ms, custom_percentile);
  return s;
}

void compute_device_shares(BenchResult& result) {
  result.per_device.clear();
  std::map<std::string, std::vector<double>> by_device;
  for (const auto& c : result.device_completions) by_device[c.device].push_back(c.device_ms);
  const std::size_t total = result.device_completions.size();
  for (auto& [device, sample] : by_device) {
    DeviceShare d;
    d.device = device;
    d.count = sample.size();
    d.share = total ? double(d.count) / double(total) : 0;
    d.latency = latency_stats(std::move(sample), result.percentile);
    result.per_device.push_back(std::move(d));
  }
  std::sort(result.per_device.begin(), result.per_device.end(),
            [](const DeviceShare& a, const DeviceShare& b) { return a.count > b.count; });
}

}  // namespace autosched::tools

namespace autosched::tools {

Timeline make_timeline(const BenchResult& result, std::size_t max_buckets) {
  Timeline t;
  const double duration_s = std::max(result.duration_ms / 1e3, 1e-3);
  t.bucket_s = std::max(duration_s / double(max_buckets), 0.01);
  const auto buckets = std::size_t(std::ceil(duration_s / t.bucket_s));
  for (const auto& c : result.device_completions) {
    auto& series = t.throughput[c.device];
    series.resize(buckets, 0.0);
    const auto i = std::min(buckets - 1, std::size_t(std::max(0.0, c.end_s) / t.bucket_s));
    series[i] += 1.0 / t.bucket_s;
  }
  return t;
}

Histogram make_histogram(const BenchResult& result, std::size_t bins) {
  Histogram h;
  if (result.completions.empty() || bins == 0) return h;
  double lo = result.completions.front().latency_ms, hi = lo;
  for (const auto& c : result.completions) {
    lo = std::min(lo, c.latency_ms);
    hi = std::max(hi, c.latency_ms);
  }
  if (hi - lo < 1e-6) hi = lo + 1e-3;
  const double width = (hi - lo) / double(bins);
  for (std::size_t i = 0; i <= bins; ++i) h.edges_ms.push_back(lo + width * double(i));
  h.counts.assign(bins, 0);
  for (const auto& c : result.completions)
    ++h.counts[std::min(bins - 1, std::size_t((c.latency_ms - lo) / width))];
  return h;
}

}  // namespace autosched::tools
