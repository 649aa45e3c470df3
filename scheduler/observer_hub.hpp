#pragma once
// Delivers scheduler events to the registered observers (observer.hpp).
// Cheap when nobody listens: one relaxed atomic load.
#include "autosched/observer.hpp"

namespace autosched::scheduler {

// True when at least one observer is registered (build events only then).
bool observers_active() noexcept;
// Calls every observer; an observer that throws is logged and skipped.
void notify(const RequestEvent& event);
void notify(const DeviceEvent& event);

}  // namespace autosched::scheduler
