// The built-in trace observer: Chrome / Perfetto JSON trace format
// ("traceEvents" with complete "X" slices, instant "i" events and
// "thread_name" metadata), one track (tid) per device plus one for the
// scheduler itself.
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "autosched/error.hpp"
#include "autosched/observer.hpp"

namespace autosched {

struct ChromeTraceObserver::Impl {
  std::string path;
  mutable std::mutex mutex;
  std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
  std::map<std::string, int> tracks;  // device name -> tid (0: scheduler)
  std::vector<nlohmann::json> events;

  double micros(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration<double, std::micro>(t - origin).count();
  }
  int track(const std::string& device) {
    const std::string key = device.empty() ? "scheduler" : device;
    auto [it, added] = tracks.emplace(key, int(tracks.size()) + 1);
    if (added)
      events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", it->second},
                        {"args", {{"name", key}}}});
    return it->second;
  }
};

ChromeTraceObserver::ChromeTraceObserver(std::string path) : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(path);
}

ChromeTraceObserver::~ChromeTraceObserver() {
  try {
    flush();
  } catch (...) {
    // A destructor must not throw; flush() reports the error to callers that ask.
  }
}

void ChromeTraceObserver::on_request(const RequestEvent& e) {
  std::lock_guard lock(impl_->mutex);
  const int tid = impl_->track(e.device);
  const std::string name = "req " + std::to_string(e.request);
  nlohmann::json args = {{"model", e.compiled_model}, {"attempt", e.attempt}};
  if (!e.detail.empty()) args["detail"] = e.detail;
  // The decision trace: why this device, and what the policy expected.
  if (!e.policy.empty()) args["policy"] = e.policy;
  if (!e.reason.empty()) args["reason"] = e.reason;
  if (e.predicted_latency_ms > 0) args["predicted_ms"] = e.predicted_latency_ms;
  if (e.kind == RequestEventKind::finished || e.kind == RequestEventKind::rerouted) args["actual_ms"] = e.latency_ms;
  switch (e.kind) {
    case RequestEventKind::finished:
    case RequestEventKind::rerouted: {
      // A slice for the attempt: it ended now and took latency_ms.
      const double end = impl_->micros(e.time);
      const double dur = e.latency_ms * 1e3;
      impl_->events.push_back({{"name", name + (e.kind == RequestEventKind::rerouted ? " (failed)" : "")},
                               {"cat", "inference"}, {"ph", "X"}, {"pid", 1}, {"tid", tid},
                               {"ts", end - dur}, {"dur", dur}, {"args", args}});
      if (e.kind == RequestEventKind::rerouted)
        impl_->events.push_back({{"name", "rerouted"}, {"cat", "scheduler"}, {"ph", "i"}, {"s", "t"},
                                 {"pid", 1}, {"tid", tid}, {"ts", end}, {"args", args}});
      break;
    }
    case RequestEventKind::failed:
    case RequestEventKind::cancelled:
      impl_->events.push_back({{"name", name + " " + to_string(e.kind)}, {"cat", "scheduler"}, {"ph", "i"},
                               {"s", "t"}, {"pid", 1}, {"tid", tid}, {"ts", impl_->micros(e.time)}, {"args", args}});
      break;
    case RequestEventKind::enqueued:
    case RequestEventKind::started:
      break;  // the slice covers the run; queueing is visible as the gap
  }
}

void ChromeTraceObserver::on_device(const DeviceEvent& e) {
  std::lock_guard lock(impl_->mutex);
  const int tid = impl_->track(e.device);
  nlohmann::json args = {{"model", e.compiled_model}};
  if (!e.detail.empty()) args["detail"] = e.detail;
  impl_->events.push_back({{"name", std::string("device ") + to_string(e.kind)}, {"cat", "device"}, {"ph", "i"},
                           {"s", "t"}, {"pid", 1}, {"tid", tid}, {"ts", impl_->micros(e.time)}, {"args", args}});
}

void ChromeTraceObserver::flush() {
  nlohmann::json doc;
  {
    std::lock_guard lock(impl_->mutex);
    doc["traceEvents"] = impl_->events;
  }
  doc["displayTimeUnit"] = "ms";
  std::ofstream out(impl_->path);
  if (!out) throw Error(ErrorCode::io, "trace file '" + impl_->path + "' cannot be opened for writing");
  out << doc.dump() << '\n';
  if (!out) throw Error(ErrorCode::io, "writing trace file '" + impl_->path + "' failed");
}

std::size_t ChromeTraceObserver::event_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->events.size();
}

}  // namespace autosched
