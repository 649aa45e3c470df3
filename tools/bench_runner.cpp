#include "tools/bench_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>

namespace autosched::tools {

namespace {

double ms_between(BenchClock::time_point a, BenchClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A one-line progress bar on stdout (only drawn when stdout is a terminal).
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void draw(double fraction, std::size_t done) {
    if (!enabled_) return;
    fraction = std::clamp(fraction, 0.0, 1.0);
    constexpr int kWidth = 40;
    const int filled = int(fraction * kWidth + 0.5);
    std::printf("\r[%.*s%*s] %3d%%  %zu inferences", filled, "########################################",
                kWidth - filled, "", int(fraction * 100 + 0.5), done);
    std::fflush(stdout);
    drawn_ = true;
  }
  void finish() {
    if (!drawn_) return;
    std::printf("\r%*s\r", 70, "");
    std::fflush(stdout);
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

// The stop rule shared by both APIs: whichever limit comes first.
struct Limits {
  std::int64_t niter;
  double time_limit_s;
  BenchClock::time_point start;
  bool may_start(std::int64_t started, BenchClock::time_point now) const {
    if (niter > 0 && started >= niter) return false;
    if (time_limit_s > 0 && std::chrono::duration<double>(now - start).count() >= time_limit_s) return false;
    return true;
  }
  double progress(std::int64_t done, BenchClock::time_point now) const {
    double p = 0;
    if (niter > 0) p = double(done) / double(niter);
    if (time_limit_s > 0) p = std::max(p, std::chrono::duration<double>(now - start).count() / time_limit_s);
    return p;
  }
};

RunOutput run_sync(CompiledModel& compiled, const RunSettings& settings) {
  auto request = compiled.create_infer_request();
  if (settings.prepare) settings.prepare(request);
  ProgressBar bar(settings.progress_bar);
  RunOutput out;
  out.start = BenchClock::now();
  Limits limits{settings.niter, settings.time_limit_s, out.start};
  auto last_draw = out.start;
  for (std::int64_t n = 0; limits.may_start(n, BenchClock::now()); ++n) {
    const auto t0 = BenchClock::now();
    request.infer();
    const auto t1 = BenchClock::now();
    out.completions.push_back({ms_between(out.start, t1) / 1e3, ms_between(t0, t1)});
    if (ms_between(last_draw, t1) > 100) {
      bar.draw(limits.progress(n + 1, t1), std::size_t(n + 1));
      last_draw = t1;
    }
  }
  out.duration_ms = ms_between(out.start, BenchClock::now());
  bar.finish();
  return out;
}

RunOutput run_async(CompiledModel& compiled, const RunSettings& settings) {
  std::vector<InferRequest> requests;
  for (int i = 0; i < settings.nireq; ++i) {
    requests.push_back(compiled.create_infer_request());
    if (settings.prepare) settings.prepare(requests.back());
  }
  std::mutex mutex;
  std::condition_variable all_done;
  std::exception_ptr first_error;
  std::int64_t started = 0, finished = 0;
  std::vector<BenchClock::time_point> start_times(requests.size());
  RunOutput out;
  out.completions.reserve(settings.niter > 0 ? std::size_t(settings.niter) : 4096);
  Limits limits{settings.niter, settings.time_limit_s, {}};

  // Each callback records its completion and restarts its request while the limits allow.
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].set_callback([&, i](std::exception_ptr error) {
      const auto now = BenchClock::now();
      std::unique_lock lock(mutex);
      ++finished;
      if (error && !first_error) first_error = error;
      if (!error) out.completions.push_back({ms_between(out.start, now) / 1e3, ms_between(start_times[i], now)});
      if (!first_error && limits.may_start(started, now)) {
        ++started;
        start_times[i] = BenchClock::now();
        lock.unlock();
        requests[i].start_async();  // the callback may restart its own request
        return;
      }
      if (finished == started) all_done.notify_all();
    });
  }
  ProgressBar bar(settings.progress_bar);
  {
    std::unique_lock lock(mutex);
    out.start = BenchClock::now();
    limits.start = out.start;
    for (std::size_t i = 0; i < requests.size() && limits.may_start(started, BenchClock::now()); ++i) {
      ++started;
      start_times[i] = BenchClock::now();
      lock.unlock();
      requests[i].start_async();
      lock.lock();
    }
    while (!all_done.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == started; }))
      bar.draw(limits.progress(finished, BenchClock::now()), std::size_t(finished));
    out.duration_ms = ms_between(out.start, BenchClock::now());
  }
  bar.finish();
  for (auto& r : requests) {
    try {
      r.wait();
    } catch (...) {
      // Already recorded through the callback.
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  return out;
}

}  // namespace

void SchedulerRecorder::on_request(const RequestEvent& event) {
  if (event.kind != RequestEventKind::finished) return;
  std::lock_guard lock(mutex_);
  finished_.push_back({event.device, event.latency_ms, event.time});
}

void SchedulerRecorder::on_device(const DeviceEvent& event) {
  std::lock_guard lock(mutex_);
  device_events_.push_back(event);
}

std::vector<DeviceCompletion> SchedulerRecorder::completions_since(BenchClock::time_point run_start) const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceCompletion> out;
  for (const auto& f : finished_)
    if (f.time >= run_start) out.push_back({f.device, ms_between(run_start, f.time) / 1e3, f.device_ms});
  return out;
}

std::vector<DeviceEventRecord> SchedulerRecorder::device_events(BenchClock::time_point origin) const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceEventRecord> out;
  for (const auto& e : device_events_) out.push_back({ms_between(origin, e.time), e.device, to_string(e.kind), e.detail});
  return out;
}

std::optional<HandOver> SchedulerRecorder::hand_over(BenchClock::time_point origin,
                                                     BenchClock::time_point run_start) const {
  // The scheduler announces it as the helper "draining" with "hand-over to <target>".
  static const std::string kPrefix = "hand-over to ";
  std::lock_guard lock(mutex_);
  for (const auto& e : device_events_) {
    if (e.kind != DeviceEventKind::draining || e.detail.rfind(kPrefix, 0) != 0) continue;
    return HandOver{e.device, e.detail.substr(kPrefix.size()), ms_between(origin, e.time),
                    ms_between(run_start, e.time) / 1e3};
  }
  return std::nullopt;
}

RunOutput run_inferences(CompiledModel& compiled, const RunSettings& settings) {
  return settings.sync_api ? run_sync(compiled, settings) : run_async(compiled, settings);
}

double first_inference(CompiledModel& compiled, const RunSettings& settings) {
  auto request = compiled.create_infer_request();
  if (settings.prepare) settings.prepare(request);
  const auto t0 = BenchClock::now();
  request.infer();
  return ms_between(t0, BenchClock::now());
}

}  // namespace autosched::tools
