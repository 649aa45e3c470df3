#include "scheduler/observer_hub.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <vector>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched {

const char* to_string(RequestEventKind kind) noexcept {
  switch (kind) {
    case RequestEventKind::enqueued: return "enqueued";
    case RequestEventKind::started: return "started";
    case RequestEventKind::finished: return "finished";
    case RequestEventKind::failed: return "failed";
    case RequestEventKind::rerouted: return "rerouted";
    case RequestEventKind::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* to_string(DeviceEventKind kind) noexcept {
  switch (kind) {
    case DeviceEventKind::compiling: return "compiling";
    case DeviceEventKind::ready: return "ready";
    case DeviceEventKind::compile_failed: return "compile_failed";
    case DeviceEventKind::quarantined: return "quarantined";
    case DeviceEventKind::readmitted: return "readmitted";
    case DeviceEventKind::draining: return "draining";
    case DeviceEventKind::released: return "released";
  }
  return "unknown";
}

namespace {

// Copy-on-write list: notify() takes a snapshot under a short lock and calls
// the observers without it, so an observer may register another one.
struct Hub {
  std::mutex mutex;
  std::shared_ptr<const std::vector<std::shared_ptr<Observer>>> list =
      std::make_shared<std::vector<std::shared_ptr<Observer>>>();
  std::atomic<int> count{0};

  std::shared_ptr<const std::vector<std::shared_ptr<Observer>>> snapshot() {
    std::lock_guard lock(mutex);
    return list;
  }
  void add(std::shared_ptr<Observer> observer) {
    std::lock_guard lock(mutex);
    auto next = std::make_shared<std::vector<std::shared_ptr<Observer>>>(*list);
    next->push_back(std::move(observer));
    list = std::move(next);
    count.store(int(list->size()), std::memory_order_relaxed);
  }
  void remove(const std::shared_ptr<Observer>& observer) {
    std::lock_guard lock(mutex);
    auto next = std::make_shared<std::vector<std::shared_ptr<Observer>>>(*list);
    next->erase(std::remove(next->begin(), next->end(), observer), next->end());
    list = std::move(next);
    count.store(int(list->size()), std::memory_order_relaxed);
  }
};

Hub& hub() {
  static Hub h;
  return h;
}

template <class Event> void deliver(const Event& event) {
  if (!scheduler::observers_active()) return;
  const auto observers = hub().snapshot();  // keep the list alive for the whole loop
  for (const auto& observer : *observers) {
    try {
      if constexpr (std::is_same_v<Event, RequestEvent>)
        observer->on_request(event);
      else
        observer->on_device(event);
    } catch (const std::exception& e) {
      log().error("observer threw: {}", e.what());
    } catch (...) {
      log().error("observer threw a non-standard exception");
    }
  }
}

}  // namespace

ObserverRegistration::ObserverRegistration(std::shared_ptr<Observer> observer) : observer_(std::move(observer)) {
  if (observer_) hub().add(observer_);
}
ObserverRegistration::ObserverRegistration(ObserverRegistration&& other) noexcept
    : observer_(std::move(other.observer_)) {}
ObserverRegistration& ObserverRegistration::operator=(ObserverRegistration&& other) noexcept {
  if (this != &other) {
    if (observer_) hub().remove(observer_);
    observer_ = std::move(other.observer_);
  }
  return *this;
}
ObserverRegistration::~ObserverRegistration() {
  if (observer_) hub().remove(observer_);
}

ObserverRegistration add_observer(std::shared_ptr<Observer> observer) {
  if (!observer) throw Error(ErrorCode::invalid_argument, "add_observer: the observer is null");
  return ObserverRegistration(std::move(observer));
}

}  // namespace autosched

namespace autosched::scheduler {

bool observers_active() noexcept { return hub().count.load(std::memory_order_relaxed) > 0; }
void notify(const RequestEvent& event) { deliver(event); }
void notify(const DeviceEvent& event) { deliver(event); }

}  // namespace autosched::scheduler
