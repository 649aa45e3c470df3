// DeviceSet, request side: acquiring a slot (policy decision over a
// snapshot), completing an attempt (statistics, quarantine, probes).
#include "scheduler/device_set.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "core/logging.hpp"
#include "scheduler/observer_hub.hpp"
#include "scheduler/quarantine.hpp"

namespace autosched::scheduler {

namespace {
constexpr double kMinAutoTimeoutMs = 2000;   // derived hang limit: at least this
constexpr double kAutoTimeoutFactor = 50;    // ... and this many times the average
constexpr std::uint64_t kSamplesForAutoTimeout = 3;

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

namespace {
// model_priority across compiled models: how many requests of each priority
// wait, per device name, in every device set of the process. While a
// higher-priority request waits for a device, lower-priority ones do not
// start on it (strict priority; they re-check every kPriorityRecheck).
constexpr int kPriorityLevels = 3;
constexpr auto kPriorityRecheck = std::chrono::milliseconds(1);

class PriorityBoard {
 public:
  using Counts = std::array<std::atomic<int>, kPriorityLevels>;
  Counts& counts(const std::string& device) {
    std::lock_guard lock(mutex_);
    auto& slot = by_device_[device];
    if (!slot) slot = std::make_unique<Counts>();
    return *slot;  // never erased: stable for the process
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Counts>> by_device_;
};

PriorityBoard& priority_board() {
  static PriorityBoard board;
  return board;
}

int clamp_priority(int p) { return std::clamp(p, 0, kPriorityLevels - 1); }
}  // namespace

DeviceSet::DeviceSet(std::vector<Candidate> candidates, std::unique_ptr<Policy> policy,
                     DeviceSetOptions options)
    : policy_(std::move(policy)), policy_name_(policy_->name()), options_(std::move(options)) {
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto d = std::make_unique<Device>();
    d->candidate = std::move(candidates[i]);
    d->priority = i;
    d->waiting_by_priority = &priority_board().counts(d->candidate.name);
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

// A request waiting in the queue. Lives on the stack of acquire(); linked in
// queue_ while waiting.
struct DeviceSet::Waiter {
  std::uint64_t seq = 0;
  PendingRequest request;
  Attempts* attempts = nullptr;
  std::condition_variable cv;
  bool queued = false;
  bool assigned = false;            // a slot was taken for it: `lease` holds it
  bool rejected = false;            // the policy refused it (admission control)
  bool stuck = false;               // nothing eligible and nothing compiling: acquire() handles it
  bool held_by_priority = false;    // a higher-priority model waits for the chosen device
  const char* reason = "";
  Lease lease;
};

DeviceStats DeviceSet::snapshot_of(std::size_t i, Clock::time_point now) const {
  const auto& d = *devices_[i];
  DeviceStats s;
  s.name = d.candidate.name;
  s.device_class = plugin::to_string(d.candidate.device->device_class());
  s.shares_host_cpu = d.candidate.device->shares_host_cpu();
  s.priority = d.priority;
  s.slots = d.slots;
  s.in_flight = d.in_flight;
  d.stats.fill(s, now);
  switch (d.state) {
    case DeviceState::ready: s.health = d.quarantined ? DeviceHealth::quarantined : DeviceHealth::healthy; break;
    case DeviceState::draining: s.health = DeviceHealth::draining; break;
    case DeviceState::pending:
    case DeviceState::compiling: s.health = DeviceHealth::compiling; break;
    case DeviceState::released:
    case DeviceState::compile_failed: s.health = DeviceHealth::unavailable; break;
  }
  return s;
}

std::vector<DeviceStats> DeviceSet::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceStats> out;
  const auto now = Clock::now();
  for (std::size_t i = 0; i < devices_.size(); ++i) out.push_back(snapshot_of(i, now));
  return out;
}

std::size_t DeviceSet::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

DeviceSet::Scan DeviceSet::scan_locked(const Waiter& w, std::vector<DeviceStats>& view, Clock::time_point now,
                                       bool with_draining) const {
  Scan r;
  const auto& tried = w.attempts->tried;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    const auto& d = *devices_[i];
    view[i].eligible = false;
    if (tried[i]) continue;
    if (d.state == DeviceState::compiling) r.compiling = true;
    if ((d.state == DeviceState::pending || d.state == DeviceState::released) && r.compilable == kNoDevice)
      r.compilable = i;
    const bool serving = d.state == DeviceState::ready || (with_draining && d.state == DeviceState::draining);
    if (!serving) continue;
    if (!d.quarantined) {
      view[i].eligible = true;
    } else if (!d.probing && now >= d.probe_at) {
      view[i].eligible = true;  // probe
    } else {
      r.last_resort = true;
      if (!d.probing) r.next_probe = std::min(r.next_probe, d.probe_at);
    }
    r.any_eligible = r.any_eligible || view[i].eligible;
  }
  return r;
}

void DeviceSet::enqueue_locked(Waiter& w) {
  // Keeps queue_ ordered by (priority, deadline, arrival); usually an append.
  auto before = [](const Waiter* a, const Waiter* b) {
    if (a->request.priority != b->request.priority) return a->request.priority < b->request.priority;
    if (a->request.deadline != b->request.deadline) return a->request.deadline < b->request.deadline;
    return a->seq < b->seq;
  };
  queue_.insert(std::upper_bound(queue_.begin(), queue_.end(), &w, before), &w);
  w.queued = true;
  const int p = clamp_priority(w.request.priority);
  for (const auto& d : devices_) ++(*d->waiting_by_priority)[std::size_t(p)];
}

void DeviceSet::dequeue_locked(Waiter& w) {
  if (!w.queued) return;
  queue_.erase(std::find(queue_.begin(), queue_.end(), &w));
  w.queued = false;
  const int p = clamp_priority(w.request.priority);
  for (const auto& d : devices_) --(*d->waiting_by_priority)[std::size_t(p)];
}

void DeviceSet::assign_locked(Waiter& w, std::size_t i, const Decision& decision) {
  auto& d = *devices_[i];
  auto& lease = w.lease;
  lease = Lease{};
  lease.index = i;
  lease.device = d.candidate.name;
  lease.probe = d.quarantined;
  lease.contended = compiling_ > 0;
  lease.first_run = d.leased == 0 && !d.warmed_up;
  lease.request_id = w.request.id;
  lease.predicted_ms = decision.predicted_latency_ms;
  lease.reason = decision.reason ? decision.reason : "";
  if (lease.probe) d.probing = true;
  ++d.in_flight;
  ++d.leased;
  if (!d.idle.empty()) {
    lease.request = std::move(d.idle.back());
    d.idle.pop_back();
  }
  w.attempts->tried[i] = true;
  ++w.attempts->count;
  w.assigned = true;
  dequeue_locked(w);
  w.cv.notify_one();
}

void DeviceSet::refresh_view_locked(Clock::time_point now) {
  view_.resize(devices_.size());
  for (std::size_t i = 0; i < devices_.size(); ++i) view_[i] = snapshot_of(i, now);
}

void DeviceSet::dispatch_locked(bool view_is_fresh) {
  if (queue_.empty()) return;
  const auto now = Clock::now();
  if (!view_is_fresh) refresh_view_locked(now);
  // One snapshot serves every waiter: scan_locked rewrites each device's
  // eligibility for the waiter at hand, and assignments update in_flight.
  for (std::size_t k = 0; k < queue_.size();) {
    Waiter& w = *queue_[k];
    const bool rerouting = w.attempts->count > 0;
    Scan scan = scan_locked(w, view_, now, false);
    if (!scan.any_eligible && rerouting) scan = scan_locked(w, view_, now, true);
    if (!scan.any_eligible) {
      if (!scan.compiling && !w.stuck) {
        w.stuck = true;  // its own thread compiles on demand, tries a last resort or fails it
        w.cv.notify_one();
      }
      ++k;
      continue;
    }
    w.request.now = now;
    w.request.queued = queue_.size();
    std::optional<Decision> decision;
    if (measuring_throughput_) {
      // THROUGHPUT measuring phase: both candidates of the hand-over get measured runs.
      if (const auto explore = throughput_explore_locked(view_); explore != kNoDevice)
        decision = Decision::run(explore, view_[explore].typical_latency_ms(), "hand-over measurement");
    }
    if (!decision) {
      try {
        decision = policy_->choose(view_, w.request);
      } catch (const std::exception& e) {
        // Breaks the policy contract; the request must not be lost for it.
        log().error("{}: policy '{}' threw: {}; using the first free device", options_.label, policy_->name(), e.what());
        decision = Decision::wait("policy error");
        for (std::size_t i = 0; i < view_.size(); ++i)
          if (view_[i].eligible && view_[i].free_slots() > 0) {
            decision = Decision::run(i, 0, "policy error: first free device");
            break;
          }
      }
    }
    if (decision->kind == Decision::Kind::reject) {
      w.rejected = true;
      w.reason = decision->reason ? decision->reason : "";
      dequeue_locked(w);  // erases queue_[k]
      w.cv.notify_one();
      continue;
    }
    const bool runnable = decision->kind == Decision::Kind::run && decision->device < devices_.size() &&
                          view_[decision->device].eligible && view_[decision->device].free_slots() > 0;
    if (runnable) {
      // model_priority: a higher-priority compiled model waiting for this device goes first.
      const int p = clamp_priority(w.request.priority);
      const auto& counts = *devices_[decision->device]->waiting_by_priority;
      bool held = false;
      for (int q = 0; q < p; ++q) held = held || counts[std::size_t(q)].load() > 0;
      w.held_by_priority = held;
      if (!held) {
        assign_locked(w, decision->device, *decision);  // erases queue_[k]
        ++view_[decision->device].in_flight;
        continue;
      }
      w.cv.notify_one();  // re-checks after kPriorityRecheck
    }
    // Wait: later first attempts would get the same answer; only re-routed
    // requests (which exclude devices) are offered what the head declined.
    if (!rerouting) break;
    ++k;
  }
}

void DeviceSet::changed_locked(bool view_is_fresh) {
  dispatch_locked(view_is_fresh);
  for (auto* w : queue_) w->cv.notify_one();
  changed_.notify_all();
}

DeviceSet::Lease DeviceSet::acquire(Attempts& attempts, const RequestInfo& info, const std::atomic<bool>& cancelled) {
  if (attempts.tried.size() != devices_.size()) attempts.tried.assign(devices_.size(), false);
  Waiter w;
  w.attempts = &attempts;
  w.request.id = info.id;
  w.request.attempt = attempts.count + 1;
  w.request.priority = options_.priority;
  w.request.enqueued = Clock::now();
  if (options_.latency_budget_ms > 0)
    w.request.deadline =
        w.request.enqueued + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double, std::milli>(options_.latency_budget_ms));
  w.request.model_gflops = options_.model_gflops;
  w.request.input_bytes = info.input_bytes;
  std::unique_lock lock(mutex_);
  w.seq = next_seq_++;
  enqueue_locked(w);
  dispatch_locked();
  // Leaves the queue (and returns an assigned slot) on every exit but a lease.
  struct Leave {
    DeviceSet& set;
    Waiter& w;
    std::unique_lock<std::mutex>& lock;
    ~Leave() {
      if (!lock.owns_lock()) lock.lock();
      set.dequeue_locked(w);
      if (w.assigned) {  // taken for us but we are leaving (cancelled, or creating the request failed)
        auto& d = *set.devices_[w.lease.index];
        if (d.in_flight > 0) --d.in_flight;
        if (w.lease.probe) d.probing = false;
        if (w.lease.request) set.garbage_requests_.push_back(std::move(*w.lease.request));
        set.release_if_idle(w.lease.index);
        set.changed_locked();
        set.flush(lock);
      }
    }
  };
  for (;;) {
    if (w.assigned) {
      Lease lease = std::move(w.lease);
      w.assigned = false;
      CompiledModel compiled = devices_[lease.index]->compiled;
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
          w.request.attempt = attempts.count + 1;
          enqueue_locked(w);
          dispatch_locked();
          continue;
        }
      }
      lease.start = Clock::now();
      return lease;
    }
    if (cancelled.load()) {
      Leave leave{*this, w, lock};
      throw Error(ErrorCode::cancelled, options_.virtual_name + ": request cancelled while waiting for a device");
    }
    if (w.rejected) {
      Leave leave{*this, w, lock};
      throw Error(ErrorCode::deadline_exceeded,
                  options_.virtual_name + ": request rejected by the '" + policy_name_ + "' policy: " + w.reason +
                      fmt::format(" (latency budget {:.3f} ms)", options_.latency_budget_ms));
    }
    if (w.stuck) {
      w.stuck = false;
      const auto now = Clock::now();
      view_.resize(devices_.size());
      Scan scan = scan_locked(w, view_, now, attempts.count > 0);
      if (!scan.any_eligible && !scan.compiling) {
        if (scan.compilable != kNoDevice && options_.runtime_fallback && options_.compile) {
          // Runtime fallback needs a device nobody compiled yet (or one released): compile it here.
          const std::size_t c = scan.compilable;
          devices_[c]->state = DeviceState::compiling;
          ++compiling_;
          device_event(DeviceEventKind::compiling, c, "on demand (runtime fallback)");
          // Held for this request through mark_ready: a hand-over or consolidation
          // there drains the device but cannot release it before this request
          // has run on it (else the request would compile it again and again).
          auto& cd = *devices_[c];
          ++cd.in_flight;
          lock.unlock();
          compile_now(c);
          lock.lock();
          if (cd.in_flight > 0) --cd.in_flight;
          // `w` stayed queued while the lock was dropped: a dispatch (mark_ready's
          // own, or one after a re-admission) may have given it a slot already.
          // Assigning again would overwrite that lease and leak its slot.
          if (!w.assigned && (cd.state == DeviceState::ready || cd.state == DeviceState::draining) &&
              !cancelled.load()) {
            assign_locked(w, c, Decision::run(c, 0, "compiled on demand (runtime fallback)"));
            continue;
          }
          release_if_idle(c);
          changed_locked();
          continue;
        }
        if (scan.last_resort) {
          // Every untried device is quarantined: try one anyway rather than fail unseen.
          std::size_t pick = kNoDevice;
          for (std::size_t i = 0; i < devices_.size() && pick == kNoDevice; ++i) {
            const auto& d = *devices_[i];
            const bool serving = d.state == DeviceState::ready || d.state == DeviceState::draining;
            if (!attempts.tried[i] && serving && !d.probing && d.in_flight < d.slots) pick = i;
          }
          if (pick != kNoDevice) {
            assign_locked(w, pick, Decision::run(pick, 0, "last resort: every untried device is quarantined"));
            continue;
          }
        } else {
          std::string message = options_.virtual_name + ": every device failed for this request";
          std::string all;
          for (const auto& e : attempts.errors) all += (all.empty() ? "" : "; ") + e;
          for (std::size_t i = 0; i < devices_.size(); ++i)
            if (!attempts.tried[i] && devices_[i]->state == DeviceState::compile_failed)
              all += (all.empty() ? "" : "; ") + devices_[i]->candidate.name + ": compile failed: " +
                     devices_[i]->compile_error;
          if (all.empty()) all = "no device is available";
          ErrorCode code = ErrorCode::device_failure;
          if (!attempts.codes.empty() && std::all_of(attempts.codes.begin(), attempts.codes.end(),
                                                     [&](ErrorCode c) { return c == attempts.codes[0]; }))
            code = attempts.codes[0];
          Leave leave{*this, w, lock};
          throw Error(code, message + ": " + all);
        }
      }
      if (scan.next_probe != Clock::time_point::max()) {
        w.cv.wait_until(lock, scan.next_probe);
        dispatch_locked();
      } else {
        w.cv.wait(lock);
      }
      continue;
    }
    if (w.held_by_priority) {
      w.cv.wait_for(lock, kPriorityRecheck);
      dispatch_locked();
      continue;
    }
    // Quarantined devices become due for a probe with time, not with an event.
    auto next_probe = Clock::time_point::max();
    for (const auto& d : devices_)
      if (d->quarantined && !d->probing) next_probe = std::min(next_probe, d->probe_at);
    if (next_probe != Clock::time_point::max()) {
      w.cv.wait_until(lock, next_probe);
      dispatch_locked();
    } else {
      w.cv.wait(lock);
    }
  }
}

void DeviceSet::complete(Lease& lease, Outcome outcome, double latency_ms, const std::string& error) {
  auto& d = *devices_[lease.index];
  const auto now = Clock::now();
  // Statistics first, under the device's own lock only. Not in the latency
  // statistics: a device's first run (allocation, lazy init, JIT) unless it
  // was warmed up, and runs that overlapped a compile (which competes for the
  // same cores and would skew the LATENCY choice).
  if (outcome == Outcome::ok) {
    if (!lease.first_run && !lease.contended && compiling_ == 0)
      d.stats.record(latency_ms, now);
    else
      d.stats.record_unmeasured(now);
  } else if (outcome == Outcome::failed) {
    d.stats.record_failure();
  }
  std::unique_lock lock(mutex_);
  if (d.in_flight > 0) --d.in_flight;
  if (lease.probe) d.probing = false;
  switch (outcome) {
    case Outcome::ok:
      d.failure_ratio = next_failure_ratio(d.failure_ratio, false);
      if (d.quarantined) {
        d.quarantined = false;
        d.backoff = std::chrono::milliseconds(0);
        log().info("{}: {} re-admitted after a successful probe", options_.label, d.candidate.name);
        device_event(DeviceEventKind::readmitted, lease.index, "");
        if (lease.index == target_ || lease.index == helper_) hand_over_locked();
      }
      break;
    case Outcome::failed:
      if (options_.runtime_fallback) {
        d.backoff = backoff_after_failure(d.quarantined, d.backoff, d.failure_ratio, options_.initial_backoff,
                                          options_.max_backoff);
        d.quarantined = true;
        d.probe_at = now + d.backoff;
        log().warn("{}: {} quarantined for {} ms after: {}", options_.label, d.candidate.name, d.backoff.count(),
                   error);
        device_event(DeviceEventKind::quarantined, lease.index, error);
      }
      d.failure_ratio = next_failure_ratio(d.failure_ratio, true);
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
  const bool hook = outcome == Outcome::ok || outcome == Outcome::failed;
  if (hook) {
    refresh_view_locked(Clock::now());  // eligibility unset: no request is being placed
    try {
      policy_->on_complete(view_, Completion{lease.request_id, lease.index, latency_ms, outcome == Outcome::ok});
    } catch (const std::exception& e) {
      log().error("{}: policy '{}' threw in on_complete: {}", options_.label, policy_->name(), e.what());
    }
  }
  changed_locked(hook);  // the policy cannot change devices: the snapshot is still current
  flush(lock);
}

void DeviceSet::wake() {
  std::lock_guard lock(mutex_);
  for (auto* w : queue_) w->cv.notify_one();
  changed_.notify_all();
}

double DeviceSet::timeout_ms(std::size_t index) const {
  if (options_.inference_timeout_ms > 0) return options_.inference_timeout_ms;
  std::lock_guard lock(mutex_);
  const auto& d = *devices_[index];
  if (d.stats.samples() < kSamplesForAutoTimeout) return 0;
  return std::max(kMinAutoTimeoutMs, kAutoTimeoutFactor * d.stats.ewma_ms());
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
