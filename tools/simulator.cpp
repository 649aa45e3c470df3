// The discrete-event engine of autosched-simulate. Virtual time is an
// integer count of nanoseconds from 0; policies and LiveStats see it as a
// steady_clock::time_point at that offset from the clock's epoch.
#include "tools/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <random>

#include "autosched/error.hpp"
#include "autosched/plugin/device.hpp"
#include "scheduler/live_stats.hpp"
#include "scheduler/quarantine.hpp"

namespace autosched::tools {

namespace {

using Clock = std::chrono::steady_clock;
using Tick = std::int64_t;  // virtual nanoseconds
constexpr Tick kNever = std::numeric_limits<Tick>::max();

// The real scheduler's derived hang limit (scheduler/device_set.cpp): a hang
// counts as a failure after max(2 s, 50 × the device's EWMA latency).
constexpr double kMinHangTimeoutMs = 2000;
constexpr double kHangTimeoutFactor = 50;

Tick ticks_of_ms(double ms) { return Tick(std::llround(ms * 1e6)); }
double ms_of_ticks(Tick t) { return double(t) / 1e6; }
Clock::time_point time_point_of(Tick t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(t)));
}

enum class EventKind : std::uint8_t { arrival, finish, probe };

struct Event {
  Tick at = 0;
  std::uint64_t seq = 0;  // insertion order: ties at one instant resolve deterministically
  EventKind kind = EventKind::arrival;
  std::uint32_t device = 0;
  std::uint32_t request = 0;  // finish: the request's slot in the pool
};
struct Later {
  bool operator()(const Event& a, const Event& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
};

// A request in the system (queued or running).
struct Request {
  std::uint64_t id = 0;
  Tick arrival = 0;         // first entry: end-to-end latency is measured from here
  Tick enqueued = 0;        // this attempt's entry into the queue (PendingRequest::enqueued)
  unsigned attempt = 1;
  std::uint64_t tried = 0;  // bit i: failed on device i
  // The running attempt.
  double attempt_ms = 0;
  bool attempt_ok = true;
  bool probe = false;
  bool measured = true;  // counts in the latency statistics (not a device's first run)
};

// The request queue: pool indices on a growing ring buffer (no allocation per push once grown).
class IndexQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::uint32_t front() const { return ring_[head_]; }
  void pop() {
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
  std::uint32_t at(std::size_t k) const { return ring_[(head_ + k) % ring_.size()]; }
  void push(std::uint32_t v) {
    if (size_ == ring_.size()) grow();
    ring_[(head_ + size_) % ring_.size()] = v;
    ++size_;
  }
  // Removes element k in O(k): the ones before it move up by one.
  void erase(std::size_t k) {
    for (std::size_t i = k; i > 0; --i) ring_[(head_ + i) % ring_.size()] = ring_[(head_ + i - 1) % ring_.size()];
    pop();
  }

 private:
  void grow() {
    std::vector<std::uint32_t> bigger(std::max<std::size_t>(16, ring_.size() * 2));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
    ring_ = std::move(bigger);
    head_ = 0;
  }
  std::vector<std::uint32_t> ring_;
  std::size_t head_ = 0, size_ = 0;
};

struct Device {
  const FleetDevice* spec = nullptr;
  scheduler::LiveStats stats;
  unsigned in_flight = 0;
  std::uint64_t inferences = 0;  // k of the profile's draw_inference(k)
  bool quarantined = false;
  bool probing = false;
  Tick probe_at = 0;
  std::uint64_t leased = 0;       // attempts started on it
  double backoff_ms = 0;
  double failure_ratio = 0;  // as the device set's (scheduler/quarantine.hpp)
  Tick disappear_at = kNever;
  Tick busy = 0;                  // slot-nanoseconds spent running attempts
  std::uint64_t stats_version = 0;  // bumped when `stats` changes
  std::uint64_t filled_version = ~0ULL;
  Tick filled_at = -1;
  DeviceResult result;
};

class Simulation {
 public:
  Simulation(const SimulationConfig& config, const SimulationProgress& progress)
      : config_(config), progress_(progress), devices_(config.fleet.size()), rng_(config.seed) {
    policy_ = make_policy(config.policy, config.policy_config);
    result_.policy = policy_->name();
    result_.requests = config.requests;
    result_.latency_budget_ms = config.policy_config.latency_budget_ms;
    snapshot_.resize(devices_.size());
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      auto& d = devices_[i];
      d.spec = &config.fleet[i];
      const auto& p = d.spec->profile;
      if (p.faults.disappear_after_s) d.disappear_at = ticks_of_ms(*p.faults.disappear_after_s * 1e3);
      auto& s = snapshot_[i];
      s.name = d.spec->name;
      s.device_class = plugin::to_string(p.device_class);
      s.priority = i;
      s.slots = p.parallel_slots;
      d.result.name = d.spec->name;
      d.result.profile = p.name;
      d.result.device_class = s.device_class;
      d.result.slots = p.parallel_slots;
      d.result.mean_latency_ms = p.mean_latency_ms(config.workload.gflop_per_item, config.workload.batch);
      d.result.oracle_rate_per_s = device_rate_per_s(*d.spec, config.workload);
      total_slots_ += p.parallel_slots;
    }
    all_tried_ = devices_.size() >= 64 ? ~0ULL : (1ULL << devices_.size()) - 1;
    clients_ = config.arrivals.clients ? config.arrivals.clients : 2 * total_slots_;
    latencies_.reserve(config.requests);
    finishes_.reserve(config.requests);
    std::vector<Event> storage;
    storage.reserve(std::size_t(total_slots_) + devices_.size() + 16);
    events_ = decltype(events_)(Later{}, std::move(storage));
  }

  SimulationResult run() {
    if (config_.arrivals.kind == ArrivalProcess::Kind::closed) {
      for (std::uint64_t c = 0; c < clients_ && issued_ < config_.requests; ++c) issue(0);
      dispatch();
    } else {
      schedule_arrival(0);
    }
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      now_ = e.at;
      switch (e.kind) {
        case EventKind::arrival:
          issue(now_);
          if (issued_ < config_.requests) schedule_arrival(now_);
          break;
        case EventKind::finish: finish(e.device, e.request); break;
        case EventKind::probe: break;  // a back-off ended: the quarantined device may take a probe
      }
      dispatch();
    }
    result_.stranded = queue_.size();
    summarise();
    return std::move(result_);
  }

 private:
  void push_event(Tick at, EventKind kind, std::uint32_t device, std::uint32_t request) {
    events_.push(Event{at, ++seq_, kind, device, request});
  }

  void schedule_arrival(Tick after) {
    const double u = (double(rng_() >> 11) + 0.5) * 0x1.0p-53;  // uniform in (0, 1)
    const double gap_s = -std::log(u) / config_.arrivals.rate_per_s;
    push_event(after + Tick(std::llround(gap_s * 1e9)), EventKind::arrival, 0, 0);
  }

  // A new request enters the fresh queue.
  void issue(Tick at) {
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = std::uint32_t(pool_.size());
      pool_.emplace_back();
    }
    pool_[slot] = Request{};
    pool_[slot].id = ++issued_;
    pool_[slot].arrival = at;
    pool_[slot].enqueued = at;
    queue_.push(slot);
  }

  // A request leaves the system (completed, rejected or failed everywhere).
  void retire(std::uint32_t slot) {
    free_.push_back(slot);
    ++finished_;
    last_done_ = now_;
    if (progress_ && (finished_ & 0x3fff) == 0) progress_(finished_, config_.requests);
    if (config_.arrivals.kind == ArrivalProcess::Kind::closed && issued_ < config_.requests) issue(now_);
  }

  // Refreshes the statistics part of snapshot_ for now_ (LiveStats::fill; cached per device and instant).
  void refresh_snapshot() {
    const auto at = time_point_of(now_);
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      auto& d = devices_[i];
      auto& s = snapshot_[i];
      if (d.filled_version != d.stats_version || d.filled_at != now_) {
        d.stats.fill(s, at);
        d.filled_version = d.stats_version;
        d.filled_at = now_;
      }
      s.in_flight = d.in_flight;
      s.health = d.quarantined ? DeviceHealth::quarantined : DeviceHealth::healthy;
      s.eligible = false;
    }
  }

  struct Scan {
    bool any_eligible = false;
    bool last_resort = false;  // an untried device is quarantined and not (yet) due for a probe
  };

  // Eligibility for `r`, as DeviceSet::scan_locked: not tried by it, and
  // healthy, or quarantined and due for its one probe.
  Scan scan(const Request& r) {
    Scan out;
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      const auto& d = devices_[i];
      auto& s = snapshot_[i];
      s.eligible = false;
      if (r.tried & (1ULL << i)) continue;
      if (!d.quarantined || (!d.probing && now_ >= d.probe_at))
        s.eligible = true;
      else
        out.last_resort = true;
      out.any_eligible = out.any_eligible || s.eligible;
    }
    return out;
  }

  // As DeviceSet::dispatch_locked: the queue in order; each request is
  // offered to the policy; a first attempt that waits stops the pass (the
  // ones behind it would get the same answer), a re-routed one that waits is
  // passed over (it excludes devices, so the next may still run).
  void dispatch() {
    refresh_snapshot();
    for (std::size_t k = 0; k < queue_.size();) {
      const std::uint32_t slot = queue_.at(k);
      const Request& r = pool_[slot];
      const bool rerouting = r.attempt > 1;
      const Scan found = scan(r);
      if (!found.any_eligible) {
        // The device set's "stuck" path: a last resort on the first untried,
        // quarantined device with a free slot (not through the policy), or,
        // with no untried device left, the request fails.
        if (!found.last_resort) {
          queue_.erase(k);
          ++result_.failed;
          retire(slot);
          continue;
        }
        const auto pick = last_resort(r);
        if (pick < devices_.size()) {
          queue_.erase(k);
          start(pick, slot);
          continue;
        }
        ++k;
        continue;
      }
      PendingRequest pending;
      pending.id = r.id;
      pending.attempt = r.attempt;
      pending.enqueued = time_point_of(r.enqueued);
      if (config_.policy_config.latency_budget_ms > 0)
        pending.deadline = time_point_of(r.enqueued + ticks_of_ms(config_.policy_config.latency_budget_ms));
      pending.now = time_point_of(now_);
      pending.queued = queue_.size();
      pending.model_gflops = config_.workload.gflop_per_item * double(config_.workload.batch);
      pending.input_bytes = config_.workload.input_bytes;
      ++result_.decisions;
      const Decision decision = policy_->choose(snapshot_, pending);
      if (decision.kind == Decision::Kind::reject) {
        queue_.erase(k);
        ++result_.rejected;
        retire(slot);
        continue;
      }
      if (decision.kind == Decision::Kind::run) {
        if (decision.device < snapshot_.size() && snapshot_[decision.device].eligible &&
            snapshot_[decision.device].free_slots() > 0) {
          queue_.erase(k);
          start(decision.device, slot);
          continue;
        }
        ++result_.invalid_decisions;
      }
      ++result_.waits;
      if (!rerouting) return;
      ++k;
    }
  }

  // The first untried, quarantined device that is not probing and has a free slot, or none (size()).
  std::size_t last_resort(const Request& r) const {
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      const auto& d = devices_[i];
      if (!(r.tried & (1ULL << i)) && !d.probing && d.in_flight < d.spec->profile.parallel_slots) return i;
    }
    return devices_.size();
  }

  void start(std::size_t index, std::uint32_t slot) {
    auto& d = devices_[index];
    auto& r = pool_[slot];
    const auto& p = d.spec->profile;
    const auto draw = p.draw_inference(++d.inferences);
    double ms;
    bool ok = !draw.fail;
    if (now_ >= d.disappear_at) {
      ms = 0;
      ok = false;
    } else if (draw.hang) {
      ms = d.stats.samples() >= 3 ? std::max(kMinHangTimeoutMs, kHangTimeoutFactor * d.stats.ewma_ms())
                                  : kMinHangTimeoutMs;
      ok = false;
    } else {
      ms = p.latency_ms(config_.workload.gflop_per_item, config_.workload.batch, double(now_) / 1e9, draw.z);
    }
    Tick end = now_ + ticks_of_ms(ms);
    if (end >= d.disappear_at && d.disappear_at > now_) {  // in progress when the device disappears
      end = d.disappear_at;
      ok = false;
    }
    r.attempt_ms = ms_of_ticks(end - now_);
    r.attempt_ok = ok;
    r.probe = d.quarantined;
    // As the device set: a device's first run (not warmed up) counts for the rate, not the latency.
    r.measured = d.leased++ > 0;
    if (r.probe) d.probing = true;
    ++d.in_flight;
    ++snapshot_[index].in_flight;
    d.busy += end - now_;
    push_event(end, EventKind::finish, std::uint32_t(index), slot);
  }

  void finish(std::size_t index, std::uint32_t slot) {
    auto& d = devices_[index];
    auto& r = pool_[slot];
    --d.in_flight;
    if (r.probe) d.probing = false;
    const auto at = time_point_of(now_);
    if (r.attempt_ok) {
      if (r.measured)
        d.stats.record(r.attempt_ms, at);
      else
        d.stats.record_unmeasured(at);
      ++d.result.completed;
      d.failure_ratio = scheduler::next_failure_ratio(d.failure_ratio, false);
      if (d.quarantined) {  // the probe succeeded: re-admitted
        d.quarantined = false;
        d.backoff_ms = 0;
      }
    } else {
      d.stats.record_failure();
      ++d.result.failed;
      // As the real device set (scheduler/quarantine.hpp): none after a
      // sporadic failure, else a back-off doubled after each failed probe.
      const auto backoff = scheduler::backoff_after_failure(
          d.quarantined, std::chrono::milliseconds(std::int64_t(d.backoff_ms)), d.failure_ratio,
          std::chrono::milliseconds(std::int64_t(config_.initial_backoff_ms)),
          std::chrono::milliseconds(std::int64_t(config_.max_backoff_ms)));
      d.backoff_ms = double(backoff.count());
      d.failure_ratio = scheduler::next_failure_ratio(d.failure_ratio, true);
      if (!d.quarantined) ++d.result.quarantines;
      d.quarantined = true;
      d.probe_at = now_ + ticks_of_ms(d.backoff_ms);
      push_event(d.probe_at, EventKind::probe, std::uint32_t(index), 0);
    }
    ++d.stats_version;
    refresh_snapshot();  // (eligible stays false, as in the device set's on_complete snapshot)
    policy_->on_complete(snapshot_, Completion{r.id, index, r.attempt_ms, r.attempt_ok});
    if (r.attempt_ok) {
      latencies_.push_back(ms_of_ticks(now_ - r.arrival));
      finishes_.push_back({now_, std::uint32_t(index)});
      ++result_.completed;
      retire(slot);
      return;
    }
    r.tried |= 1ULL << index;
    if ((r.tried & all_tried_) == all_tried_) {
      ++result_.failed;
      retire(slot);
      return;
    }
    // Re-enqueued at the back as a new attempt, as acquire() does after a failure.
    ++r.attempt;
    r.enqueued = now_;
    ++result_.retries;
    queue_.push(slot);
  }

  void summarise() {
    auto& res = result_;
    const Tick end = last_done_;  // not a back-off timer firing after the last request
    res.duration_s = double(end) / 1e9;
    res.oracle_per_s = oracle_rate_per_s(config_.fleet, config_.workload);
    res.throughput_per_s = res.duration_s > 0 ? double(res.completed) / res.duration_s : 0;
    res.oracle_pct = res.oracle_per_s > 0 ? 100.0 * res.throughput_per_s / res.oracle_per_s : 0;
    if (!latencies_.empty()) {
      double sum = 0;
      for (double v : latencies_) sum += v;
      res.latency_mean_ms = sum / double(latencies_.size());
      if (res.latency_budget_ms > 0)
        res.within_budget = std::uint64_t(std::count_if(latencies_.begin(), latencies_.end(),
                                                        [&](double v) { return v <= res.latency_budget_ms; }));
      std::sort(latencies_.begin(), latencies_.end());
      const auto rank = [&](double q) {  // nearest rank, as LiveStats
        const auto n = latencies_.size();
        const auto k = std::size_t(std::ceil(q * double(n)));
        return latencies_[std::min(n - 1, k == 0 ? 0 : k - 1)];
      };
      res.latency_p50_ms = rank(0.50);
      res.latency_p90_ms = rank(0.90);
      res.latency_p99_ms = rank(0.99);
      res.latency_max_ms = latencies_.back();
    }
    if (res.latency_budget_ms > 0 && res.requests > 0)
      res.slo_attainment = double(res.within_budget) / double(res.requests);
    const unsigned buckets = std::max(1u, config_.buckets);
    res.bucket_s = res.duration_s / buckets;
    for (auto& d : devices_) {
      d.result.timeline.assign(buckets, 0);
      d.result.utilisation = end > 0 ? double(d.busy) / (double(end) * d.spec->profile.parallel_slots) : 0;
    }
    for (const auto& [at, device] : finishes_) {
      auto b = end > 0 ? std::size_t(double(at) / double(end) * buckets) : 0;
      devices_[device].result.timeline[std::min<std::size_t>(b, buckets - 1)]++;
    }
    for (auto& d : devices_) res.devices.push_back(std::move(d.result));
  }

  const SimulationConfig& config_;
  const SimulationProgress& progress_;
  std::unique_ptr<Policy> policy_;
  std::vector<Device> devices_;  // sized once (LiveStats cannot move)
  std::vector<DeviceStats> snapshot_;
  std::vector<Request> pool_;
  std::vector<std::uint32_t> free_;
  IndexQueue queue_;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::mt19937_64 rng_;  // arrivals (the engine's output is the same on every platform)
  std::uint64_t seq_ = 0, issued_ = 0, finished_ = 0, all_tried_ = 0;
  unsigned total_slots_ = 0, clients_ = 0;
  Tick now_ = 0, last_done_ = 0;
  std::vector<double> latencies_;
  std::vector<std::pair<Tick, std::uint32_t>> finishes_;
  SimulationResult result_;
};

}  // namespace

SimulationResult simulate(const SimulationConfig& config, const SimulationProgress& progress) {
  if (config.fleet.empty()) throw Error(ErrorCode::invalid_argument, "simulate: the fleet is empty");
  if (config.fleet.size() > kMaxFleetDevices)
    throw Error(ErrorCode::invalid_argument, "simulate: at most " + std::to_string(kMaxFleetDevices) + " devices");
  if (config.requests == 0) throw Error(ErrorCode::invalid_argument, "simulate: --requests must be at least 1");
  Simulation simulation(config, progress);
  return simulation.run();
}

}  // namespace autosched::tools
