#pragma once
// Observers of the scheduler (AUTO / MULTI): hooks on each request's way
// through the virtual device (enqueued, started on a device, finished,
// failed, re-routed to another device) and on device state changes (ready,
// quarantined, re-admitted, released, compile failed). Std-only.
//
// Observers are registered process-wide and see the events of every AUTO and
// MULTI compiled model; `compiled_model` in each event tells them apart.
// Hooks are called synchronously from scheduler and worker threads, possibly
// concurrently: they must be thread-safe, cheap and must not block or throw
// (an exception is caught and logged).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace autosched {

enum class RequestEventKind {
  enqueued,   // the request entered the scheduler and waits for a device slot
  started,    // dispatched to `device` (attempt 1, 2, ... after re-routing)
  finished,   // completed on `device`
  failed,     // failed for good (`detail` holds the error); after every device failed
  rerouted,   // failed on `device` (`detail`: its error); will run on another device
  cancelled,  // cancelled by the application
};
enum class DeviceEventKind {
  compiling,       // compile started
  ready,           // compiled; takes requests
  compile_failed,  // `detail` holds the error
  quarantined,     // stops taking requests after a failure (`detail`: the error)
  readmitted,      // a probe inference after the back-off succeeded
  draining,        // takes no new requests; released when its in-flight ones end
  released,        // its compiled model is gone (memory returned)
};
const char* to_string(RequestEventKind kind) noexcept;
const char* to_string(DeviceEventKind kind) noexcept;

struct RequestEvent {
  RequestEventKind kind;
  std::string compiled_model;  // "AUTO#3 (model name)"
  std::uint64_t request = 0;   // unique per inference run
  unsigned attempt = 0;        // 1 for the first device tried
  std::string device;          // empty for enqueued / cancelled before dispatch
  double latency_ms = 0;       // finished / rerouted / failed: time on `device`
  std::string detail;
  std::chrono::steady_clock::time_point time;
  // Decision trace (started / finished / rerouted): why the policy chose
  // `device` and what latency it expected; compare with latency_ms.
  std::string policy;               // the policy's name
  std::string reason;               // the policy's short reason
  double predicted_latency_ms = 0;  // 0 when the policy made no prediction
};

struct DeviceEvent {
  DeviceEventKind kind;
  std::string compiled_model;
  std::string device;
  std::string detail;
  std::chrono::steady_clock::time_point time;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_request(const RequestEvent& event) { (void)event; }
  virtual void on_device(const DeviceEvent& event) { (void)event; }
};

// Keeps an observer registered; unregisters it when destroyed. Movable.
class ObserverRegistration {
 public:
  ObserverRegistration() = default;
  explicit ObserverRegistration(std::shared_ptr<Observer> observer);
  ObserverRegistration(ObserverRegistration&& other) noexcept;
  ObserverRegistration& operator=(ObserverRegistration&& other) noexcept;
  ObserverRegistration(const ObserverRegistration&) = delete;
  ObserverRegistration& operator=(const ObserverRegistration&) = delete;
  ~ObserverRegistration();

 private:
  std::shared_ptr<Observer> observer_;
};

// Registers `observer` for all AUTO / MULTI compiled models of the process
// until the returned handle is destroyed. Thread-safe.
[[nodiscard]] ObserverRegistration add_observer(std::shared_ptr<Observer> observer);

// Writes a Chrome / Perfetto trace (JSON "traceEvents"): one track per device
// with a slice per inference attempt, instant events for device state changes
// and re-routing. The file is written by flush() and by the destructor.
class ChromeTraceObserver : public Observer {
 public:
  explicit ChromeTraceObserver(std::string path);
  ~ChromeTraceObserver() override;
  void on_request(const RequestEvent& event) override;
  void on_device(const DeviceEvent& event) override;
  // Writes everything recorded so far; throws Error(io) when the file cannot be written.
  void flush();
  std::size_t event_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace autosched
