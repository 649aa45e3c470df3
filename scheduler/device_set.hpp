#pragma once
// The mechanism half of AUTO / MULTI: the candidate devices of one compiled
// model with their compiled models, free slots, live statistics and health.
// A request acquires a Lease (a slot plus an inner InferRequest on one
// device) chosen by the Policy (include/autosched/policy.hpp) from a snapshot, runs it, and
// completes the lease with the outcome. Failures quarantine a device (runtime
// fallback) until a probe after an exponential back-off succeeds. Devices
// that stop taking requests (hand-over, LATENCY consolidation) drain: their
// compiled model is released once their last in-flight request ends.
// Requests waiting for a slot form a queue ordered by priority (model_priority),
// then deadline (earliest first), then arrival; whenever a request arrives or
// something changes (a slot frees, a device becomes ready, is quarantined,
// re-admitted or drains) the queue is dispatched: the policy decides for the
// head (and for re-routed requests behind it) which device, wait, or reject.
// Thread-safe: one mutex, held only for bookkeeping and policy decisions
// (never while inferring, compiling or calling observers); live statistics
// have their own per-device lock (LiveStats). Private *_locked / release /
// consolidate helpers expect the caller to hold the mutex.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "autosched/compiled_model.hpp"
#include "autosched/observer.hpp"
#include "autosched/policy.hpp"
#include "scheduler/candidate_selection.hpp"
#include "scheduler/live_stats.hpp"

namespace autosched::scheduler {

inline constexpr std::size_t kNoDevice = std::numeric_limits<std::size_t>::max();

// What compiling one candidate produced.
struct CompiledCandidate {
  CompiledModel model;   // wrapped in the core's async machinery for that device
  unsigned slots = 1;    // requests it runs at once (capped by "NAME(N)")
  std::int64_t optimal_requests = 1;
  bool warmed_up = false;  // one inference already ran (its first-run costs are paid)
};

struct DeviceSetOptions {
  std::string label;           // "AUTO#3 'model'": logs and observer events
  int priority = 1;            // model_priority: 0 HIGH, 1 MEDIUM, 2 LOW (across compiled models on a device)
  double latency_budget_ms = 0;  // > 0: each request's deadline is its arrival + this
  double model_gflops = 0;       // passed to the policy
  std::string virtual_name;    // "AUTO" / "MULTI"
  std::vector<std::string> output_ports;  // the model's output names (binding inner requests)
  bool runtime_fallback = true;
  // LATENCY: once every ready device has `latency_samples` measured runs,
  // keep the fastest and drain the others (logged).
  bool consolidate_on_latency = false;
  unsigned latency_samples = 3;
  // THROUGHPUT hand-over: once the target is ready, target and helper both
  // serve until each has `throughput_samples` measured runs; then the one with
  // the higher measured capacity (slots / median latency) keeps serving and
  // the other drains (logged with the figures).
  bool throughput_handover = false;
  unsigned throughput_samples = 4;
  double inference_timeout_ms = 0;  // 0: derived from measured latency
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Compiles candidate i (blocking; throws on failure), then, when `warm_up`,
  // runs one throw-away inference so that "ready" includes first-run costs
  // (lazy kernel JIT). Used for startup compiles and compiles on demand.
  std::function<CompiledCandidate(std::size_t index, bool warm_up)> compile;
};

enum class DeviceState { pending, compiling, ready, draining, released, compile_failed };
const char* to_string(DeviceState s) noexcept;

class DeviceSet {
 public:
  struct Lease {
    std::size_t index = kNoDevice;
    std::string device;
    std::optional<InferRequest> request;
    bool probe = false;  // the device is quarantined; this run decides re-admission
    bool contended = false;  // a compile or warm-up ran meanwhile: its latency is not representative
    bool first_run = false;  // the device's first run without warm-up: not in the latency statistics
    std::uint64_t request_id = 0;
    double predicted_ms = 0; // the policy's expectation (decision trace)
    const char* reason = "";
    std::chrono::steady_clock::time_point start;
  };
  // Per-request record of devices already tried and their errors.
  struct Attempts {
    std::vector<bool> tried;
    std::vector<std::string> errors;  // "DEVICE: message"
    std::vector<ErrorCode> codes;     // of each failed attempt
    unsigned count = 0;
  };
  // failed: the device failed (quarantined under runtime fallback);
  // rejected: the device refused this request (unsupported) but is healthy.
  enum class Outcome { ok, failed, rejected, cancelled };

  // What the policy learns about a request besides its id.
  struct RequestInfo {
    std::uint64_t id = 0;
    std::size_t input_bytes = 0;
  };

  DeviceSet(std::vector<Candidate> candidates, std::unique_ptr<Policy> policy, DeviceSetOptions options);
  ~DeviceSet();
  DeviceSet(const DeviceSet&) = delete;
  DeviceSet& operator=(const DeviceSet&) = delete;

  // ---- lifecycle (device_set_lifecycle.cpp) ----
  void set_roles(std::size_t target, std::size_t helper);
  void mark_compiling(std::size_t index);
  void mark_ready(std::size_t index, CompiledCandidate compiled);
  void mark_compile_failed(std::size_t index, const std::string& error);
  // Compiles candidate `index` with options.compile and records the result. Never throws.
  void compile_now(std::size_t index, bool warm_up = false);
  // Blocks until a device is ready (true) or no compile is in progress and none is ready (false).
  bool wait_for_first_ready();
  // Errors of failed compiles, "DEVICE: message; ..." (empty when none).
  std::string compile_errors() const;

  // ---- requests (device_set.cpp) ----
  // Queues the request and blocks until the policy chose a device slot for
  // its next attempt. Throws Error(cancelled) once `cancelled` is set (wake()
  // re-checks), Error(deadline_exceeded) when the policy rejects it
  // (admission control), and an Error listing every device's error when no
  // device is left (its code is the attempts' common code, else device_failure).
  Lease acquire(Attempts& attempts, const RequestInfo& request, const std::atomic<bool>& cancelled);
  // Ends an attempt. `latency_ms` is the time on the device.
  void complete(Lease& lease, Outcome outcome, double latency_ms, const std::string& error);
  // Makes waiting acquire() calls re-check their cancel flags.
  void wake();
  // How long an attempt on `index` may run before it counts as hung (0 = no limit).
  double timeout_ms(std::size_t index) const;

  // ---- introspection ----
  std::vector<std::string> execution_devices() const;  // holding a compiled model now
  std::int64_t optimal_requests() const;
  // Slots of ready devices, plus an estimate for devices still compiling.
  unsigned slot_estimate() const;
  std::vector<DeviceStats> snapshot() const;
  std::size_t queued() const;  // requests waiting for a slot
  std::size_t size() const { return devices_.size(); }
  const DeviceSetOptions& options() const { return options_; }
  const std::string& policy_name() const;
  std::vector<std::string> candidate_names() const;

 private:
  struct Device;
  using Clock = std::chrono::steady_clock;

  struct Waiter;
  DeviceStats snapshot_of(std::size_t i, Clock::time_point now) const;
  // Fills view_ for `w` (eligibility, with draining devices for re-routed
  // requests when nothing else is eligible) and reports what it found.
  struct Scan {
    bool any_eligible = false, compiling = false, last_resort = false;
    std::size_t compilable = kNoDevice;
    Clock::time_point next_probe = Clock::time_point::max();
  };
  Scan scan_locked(const Waiter& w, std::vector<DeviceStats>& view, Clock::time_point now, bool with_draining) const;
  // Fills view_ with every device's snapshot (eligibility unset).
  void refresh_view_locked(Clock::time_point now);
  // Offers queued requests to the policy in queue order (see the top);
  // `view_is_fresh`: view_ was just refreshed and nothing changed since.
  void dispatch_locked(bool view_is_fresh = false);
  // Takes a slot on device `i` for waiter `w` (bookkeeping only).
  void assign_locked(Waiter& w, std::size_t i, const Decision& decision);
  void enqueue_locked(Waiter& w);
  void dequeue_locked(Waiter& w);
  // Something changed: dispatch the queue and wake whoever waits on it.
  void changed_locked(bool view_is_fresh = false);
  // Releases a draining device with nothing in flight (moves its compiled
  // model into `garbage_`, destroyed after the lock is dropped).
  void release_if_idle(std::size_t i);
  // Stops giving `index` new requests; it is released when its in-flight requests end.
  void drain_locked(std::size_t index, const std::string& why);
  // THROUGHPUT: starts measuring target vs helper, or applies the decision made.
  void hand_over_locked();
  // THROUGHPUT: decides once both are measured (drains the slower one).
  void decide_throughput_locked();
  // THROUGHPUT while measuring: target or helper still short of samples with a
  // free slot (fewest samples first, then priority), else kNoDevice.
  std::size_t throughput_explore_locked(const std::vector<DeviceStats>& view) const;
  void consolidate_latency();
  void device_event(DeviceEventKind kind, std::size_t i, const std::string& detail);
  // Hands released compiled models / inner requests to the reaper and
  // delivers queued events; call with the lock held (it is released).
  void flush(std::unique_lock<std::mutex>& lock);
  // Queues models / requests for destruction on the reaper thread (never under mutex_).
  void reap(std::vector<CompiledModel> models, std::vector<InferRequest> requests);
  void reaper_main();

  std::vector<std::unique_ptr<Device>> devices_;
  std::unique_ptr<Policy> policy_;
  std::string policy_name_;
  std::vector<Waiter*> queue_;          // waiting requests, in dispatch order
  std::uint64_t next_seq_ = 0;
  std::vector<DeviceStats> view_;  // snapshot scratch of dispatch / on_complete (no allocation per decision)
  DeviceSetOptions options_;
  std::size_t target_ = kNoDevice;
  std::size_t helper_ = kNoDevice;
  bool consolidated_ = false;
  enum class ThroughputChoice { undecided, target, helper };
  ThroughputChoice throughput_choice_ = ThroughputChoice::undecided;
  bool measuring_throughput_ = false;  // target and helper both serve until decided
  std::atomic<unsigned> compiling_{0};  // devices compiling (or warming up) right now

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<DeviceEvent> events_;         // delivered by flush()
  std::vector<CompiledModel> garbage_;      // handed to the reaper by flush()
  std::vector<InferRequest> garbage_requests_;

  // The reaper: dropping the last reference to an inner (wrapped) compiled
  // model destroys its core executor, which joins the device's workers. That
  // must never happen under mutex_ nor on a thread those workers (or the
  // requests they run) may wait for, e.g. an AUTO worker inside acquire() ->
  // compile_now() -> mark_ready(). Released models and inner requests are
  // destroyed here instead; ~DeviceSet drains the queue and joins it.
  std::mutex reap_mutex_;
  std::condition_variable reap_changed_;
  std::vector<CompiledModel> reap_models_;
  std::vector<InferRequest> reap_requests_;
  bool reap_stop_ = false;
  std::thread reaper_;
};

// One candidate's mutable state; guarded by DeviceSet::mutex_.
struct DeviceSet::Device {
  Candidate candidate;
  std::size_t priority = 0;
  DeviceState state = DeviceState::pending;
  CompiledModel compiled;             // empty unless ready / draining
  unsigned slots = 0;
  std::int64_t optimal = 0;
  unsigned in_flight = 0;
  std::vector<InferRequest> idle;     // inner requests ready for reuse
  std::uint64_t leased = 0;           // attempts started on it
  bool warmed_up = false;             // a warm-up inference ran: every completion counts
  LiveStats stats;                    // latency, rate, failures (own lock)
  // Requests waiting for this device name per priority level, over every
  // device set of the process (model_priority); owned by a process-wide board.
  std::array<std::atomic<int>, 3>* waiting_by_priority = nullptr;
  bool quarantined = false;
  bool probing = false;               // a probe run is in flight
  std::chrono::steady_clock::time_point probe_at;
  std::chrono::milliseconds backoff{0};
  double failure_ratio = 0;  // recent, EWMA: sporadic failures skip the back-off (scheduler/quarantine.hpp)
  std::string compile_error;
};

}  // namespace autosched::scheduler
