// DeviceSet, request side: acquiring a slot (policy decision over a
// snapshot), completing an attempt (statistics, quarantine, probes).
#include "scheduler/device_set.hpp"

#include <algorithm>

#include "core/logging.hpp"
#include "scheduler/observer_hub.hpp"

namespace autosched::scheduler {

namespace {
constexpr double kEwmaWeight = 0.2;          // weight of the newest sample
constexpr double kMinAutoTimeoutMs = 2000;   // derived hang limit: at least this
constexpr double kAutoTimeoutFactor = 50;    // ... and this many times the average
constexpr std::uint64_t kSamplesForAutoTimeout = 3;
constexpr std::size_t kLatencyWindow = 16;       // samples in the median

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}
}  // namespace

const char* to_string(DeviceState s) noexcept {
  switch (s) {
    case DeviceState::pending: return "pending";
    case DeviceState::compiling: return "compiling";
    case DeviceState::ready: return "ready";
    case DeviceState::draining: return "draining";
    case DeviceState::released: return "released";
    case DeviceState::compile_failed: return "compile_failed";
  }
  return "unknown";
}

DeviceSet::DeviceSet(std::vector<Candidate> candidates, std::unique_ptr<SchedulingPolicy> policy,
                     DeviceSetOptions options)
    : policy_(std::move(policy)), options_(std::move(options)) {
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto d = std::make_unique<Device>();
    d->candidate = std::move(candidates[i]);
    d->priority = i;
    devices_.push_back(std::move(d));
  }
  reaper_ = std::thread([this] { reaper_main(); });
}

DeviceSet::~DeviceSet() {
  {
    std::lock_guard lock(reap_mutex_);
    reap_stop_ = true;
  }
  reap_changed_.notify_all();
  if (reaper_.joinable()) {
    if (reaper_.get_id() == std::this_thread::get_id())
      reaper_.detach();  // cannot happen (the reaper holds no reference to the set); defensive
    else
      reaper_.join();
  }
}

void DeviceSet::reap(std::vector<CompiledModel> models, std::vector<InferRequest> requests) {
  if (models.empty() && requests.empty()) return;
  {
    std::lock_guard lock(reap_mutex_);
    for (auto& m : models) reap_models_.push_back(std::move(m));
    for (auto& r : requests) reap_requests_.push_back(std::move(r));
  }
  reap_changed_.notify_one();
}

void DeviceSet::reaper_main() {
  std::unique_lock lock(reap_mutex_);
  for (;;) {
    reap_changed_.wait(lock, [&] { return reap_stop_ || !reap_models_.empty() || !reap_requests_.empty(); });
    if (reap_models_.empty() && reap_requests_.empty()) {
      if (reap_stop_) return;
      continue;
    }
    auto models = std::move(reap_models_);
    reap_models_.clear();
    auto requests = std::move(reap_requests_);
    reap_requests_.clear();
    lock.unlock();
    requests.clear();  // inner requests first: they hold their compiled model
    models.clear();
    lock.lock();
  }
}

DeviceSnapshot DeviceSet::snapshot_of(std::size_t i) const {
  const auto& d = *devices_[i];
  DeviceSnapshot s;
  s.name = d.candidate.name;
  s.device_class = d.candidate.device->device_class();
  s.priority = d.priority;
  s.slots = d.slots;
  s.in_flight = d.in_flight;
  s.completed = d.completed;
  s.failed = d.failed;
  s.samples = d.samples;
  s.ewma_latency_ms = d.ewma_ms;
  s.median_latency_ms = d.median_ms;
  s.quarantined = d.quarantined;
  return s;
}

std::vector<DeviceSnapshot> DeviceSet::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceSnapshot> out;
  for (std::size_t i = 0; i < devices_.size(); ++i) out.push_back(snapshot_of(i));
  return out;
}

DeviceSet::Lease DeviceSet::acquire(Attempts& attempts, std::uint64_t request_id,
                                    const std::atomic<bool>& cancelled) {
  if (attempts.tried.size() != devices_.size()) attempts.tried.assign(devices_.size(), false);
  std::unique_lock lock(mutex_);
  std::vector<DeviceSnapshot> view(devices_.size());
  // Takes a slot on device i for this request (lock held; returns with it
  // released), or records a failure to create the inner request and returns
  // nullopt with the lock held again.
  const auto lease_on = [&](std::size_t i) -> std::optional<Lease> {
    auto& d = *devices_[i];
    Lease lease;
    lease.index = i;
    lease.device = d.candidate.name;
    lease.probe = d.quarantined;
    lease.contended = compiling_ > 0;
    if (lease.probe) d.probing = true;
    ++d.in_flight;
    CompiledModel compiled = d.compiled;
    if (!d.idle.empty()) {
      lease.request = std::move(d.idle.back());
      d.idle.pop_back();
    }
    attempts.tried[i] = true;
    ++attempts.count;
    lock.unlock();
    if (!lease.request) {
      try {
        lease.request = compiled.create_infer_request();
      } catch (const std::exception& e) {
        const std::string why = std::string("creating an infer request failed: ") + e.what();
        attempts.errors.push_back(lease.device + ": " + why);
        attempts.codes.push_back(ErrorCode::device_failure);
        complete(lease, Outcome::failed, 0, why);
        // The device may have been released meanwhile: `compiled` may be the last reference.
        std::vector<CompiledModel> last;
        last.push_back(std::move(compiled));
        reap(std::move(last), {});
        lock.lock();
        return std::nullopt;
      }
    }
    lease.start = Clock::now();
    return lease;
  };
  for (;;) {
    if (cancelled.load()) {
      lock.unlock();
      throw Error(ErrorCode::cancelled, options_.virtual_name + ": request cancelled while waiting for a device");
    }
    const auto now = Clock::now();
    bool any_eligible = false, compiling = false, last_resort = false;
    std::size_t compilable = kNoDevice;
    auto next_probe = Clock::time_point::max();
    // A request re-routed after a failure may also fall back on a draining
    // device (hand-over, LATENCY consolidation) while it still holds its
    // compiled model; a released one is compiled on demand below.
    const bool rerouting = attempts.count > 0;
    bool with_draining = false;
    const auto serving = [&](const Device& d) {
      return d.state == DeviceState::ready || (with_draining && d.state == DeviceState::draining);
    };
    const auto scan = [&] {
      any_eligible = compiling = last_resort = false;
      compilable = kNoDevice;
      next_probe = Clock::time_point::max();
      for (std::size_t i = 0; i < devices_.size(); ++i) {
        auto& d = *devices_[i];
        view[i] = snapshot_of(i);
        if (attempts.tried[i]) continue;
        if (d.state == DeviceState::compiling) compiling = true;
        if ((d.state == DeviceState::pending || d.state == DeviceState::released) && compilable == kNoDevice)
          compilable = i;
        if (!serving(d)) continue;
        if (!d.quarantined) {
          view[i].eligible = true;
        } else if (!d.probing && now >= d.probe_at) {
          view[i].eligible = true;  // probe
        } else {
          last_resort = true;
          if (!d.probing) next_probe = std::min(next_probe, d.probe_at);
        }
        any_eligible = any_eligible || view[i].eligible;
      }
    };
    scan();
    if (!any_eligible && rerouting) {
      // Ready devices first; a draining one only when none of them can take the request now.
      with_draining = true;
      scan();
    }
    if (!any_eligible && !compiling) {
      if (compilable != kNoDevice && options_.runtime_fallback && options_.compile) {
        // Runtime fallback needs a device nobody compiled yet (or one released): compile it here.
        devices_[compilable]->state = DeviceState::compiling;
        ++compiling_;
        device_event(DeviceEventKind::compiling, compilable, "on demand (runtime fallback)");
        // Held for this request through mark_ready: a hand-over or consolidation
        // there drains the device but cannot release it before this request
        // has run on it (else the request would compile it again and again).
        auto& cd = *devices_[compilable];
        ++cd.in_flight;
        lock.unlock();
        compile_now(compilable);
        lock.lock();
        if (cd.in_flight > 0) --cd.in_flight;
        if ((cd.state == DeviceState::ready || cd.state == DeviceState::draining) && !cancelled.load()) {
          if (auto lease = lease_on(compilable)) return std::move(*lease);
          continue;
        }
        release_if_idle(compilable);
        changed_.notify_all();
        continue;
      }
      if (last_resort) {
        // Every untried device is quarantined: try them anyway rather than fail unseen.
        for (std::size_t i = 0; i < devices_.size(); ++i)
          if (!attempts.tried[i] && serving(*devices_[i]) && !devices_[i]->probing) {
            view[i].eligible = true;
            any_eligible = true;
          }
      }
      if (!any_eligible && !last_resort) {
        std::string message = options_.virtual_name + ": every device failed for this request";
        std::string all;
        for (const auto& e : attempts.errors) all += (all.empty() ? "" : "; ") + e;
        for (std::size_t i = 0; i < devices_.size(); ++i)
          if (!attempts.tried[i] && devices_[i]->state == DeviceState::compile_failed)
            all += (all.empty() ? "" : "; ") + devices_[i]->candidate.name + ": compile failed: " +
                   devices_[i]->compile_error;
        if (all.empty()) all = "no device is available";
        ErrorCode code = ErrorCode::device_failure;
        if (!attempts.codes.empty() &&
            std::all_of(attempts.codes.begin(), attempts.codes.end(), [&](ErrorCode c) { return c == attempts.codes[0]; }))
          code = attempts.codes[0];
        lock.unlock();
        throw Error(code, message + ": " + all);
      }
    }
    std::optional<std::size_t> choice;
    if (any_eligible && measuring_throughput_) {
      // THROUGHPUT measuring phase: both candidates of the hand-over get measured runs.
      if (const auto explore = throughput_explore_locked(view); explore != kNoDevice) choice = explore;
    }
    if (any_eligible && !choice) choice = policy_->choose(view, RequestSnapshot{request_id, attempts.count + 1});
    if (choice && *choice < devices_.size() && view[*choice].eligible && view[*choice].free_slots() > 0) {
      if (auto lease = lease_on(*choice)) return std::move(*lease);
      continue;
    }
    if (next_probe != Clock::time_point::max())
      changed_.wait_until(lock, next_probe);
    else
      changed_.wait(lock);
  }
}

void DeviceSet::complete(Lease& lease, Outcome outcome, double latency_ms, const std::string& error) {
  std::unique_lock lock(mutex_);
  auto& d = *devices_[lease.index];
  if (d.in_flight > 0) --d.in_flight;
  if (lease.probe) d.probing = false;
  switch (outcome) {
    case Outcome::ok:
      ++d.completed;
      // Not in the latency statistics: a device's first run (allocation, lazy
      // init, JIT) unless it was warmed up, and runs that overlapped a compile
      // (which competes for the same cores and would skew the LATENCY choice).
      if ((d.completed > 1 || d.warmed_up) && !lease.contended && compiling_ == 0) {
        d.ewma_ms = d.samples == 0 ? latency_ms : (1 - kEwmaWeight) * d.ewma_ms + kEwmaWeight * latency_ms;
        ++d.samples;
        if (d.window.size() < kLatencyWindow)
          d.window.push_back(latency_ms);
        else
          d.window[d.window_next] = latency_ms;
        d.window_next = (d.window_next + 1) % kLatencyWindow;
        d.median_ms = median_of(d.window);
      }
      if (d.quarantined) {
        d.quarantined = false;
        d.backoff = std::chrono::milliseconds(0);
        log().info("{}: {} re-admitted after a successful probe", options_.label, d.candidate.name);
        device_event(DeviceEventKind::readmitted, lease.index, "");
        if (lease.index == target_ || lease.index == helper_) hand_over_locked();
      }
      break;
    case Outcome::failed:
      ++d.failed;
      if (options_.runtime_fallback) {
        d.backoff = d.quarantined ? std::min(d.backoff * 2, options_.max_backoff) : options_.initial_backoff;
        if (d.backoff.count() == 0) d.backoff = options_.initial_backoff;
        d.quarantined = true;
        d.probe_at = Clock::now() + d.backoff;
        log().warn("{}: {} quarantined for {} ms after: {}", options_.label, d.candidate.name, d.backoff.count(),
                   error);
        device_event(DeviceEventKind::quarantined, lease.index, error);
      }
      break;
    case Outcome::rejected:
    case Outcome::cancelled: break;
  }
  // A request that failed may have left its inner request in a state we do not trust: drop it.
  if (lease.request && outcome != Outcome::failed && d.state == DeviceState::ready)
    d.idle.push_back(std::move(*lease.request));
  else if (lease.request)
    garbage_requests_.push_back(std::move(*lease.request));
  lease.request.reset();
  release_if_idle(lease.index);
  if (outcome == Outcome::ok && options_.consolidate_on_latency && !consolidated_) consolidate_latency();
  if (outcome == Outcome::ok && measuring_throughput_) decide_throughput_locked();
  changed_.notify_all();
  flush(lock);
}

void DeviceSet::wake() {
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

double DeviceSet::timeout_ms(std::size_t index) const {
  if (options_.inference_timeout_ms > 0) return options_.inference_timeout_ms;
  std::lock_guard lock(mutex_);
  const auto& d = *devices_[index];
  if (d.samples < kSamplesForAutoTimeout) return 0;
  return std::max(kMinAutoTimeoutMs, kAutoTimeoutFactor * d.ewma_ms);
}

void DeviceSet::device_event(DeviceEventKind kind, std::size_t i, const std::string& detail) {
  if (!observers_active()) return;
  events_.push_back({kind, options_.label, devices_[i]->candidate.name, detail, Clock::now()});
}

void DeviceSet::flush(std::unique_lock<std::mutex>& lock) {
  auto events = std::move(events_);
  events_.clear();
  auto garbage = std::move(garbage_);
  garbage_.clear();
  auto requests = std::move(garbage_requests_);
  garbage_requests_.clear();
  lock.unlock();
  reap(std::move(garbage), std::move(requests));
  for (const auto& e : events) notify(e);
}

}  // namespace autosched::scheduler
