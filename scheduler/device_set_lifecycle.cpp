// DeviceSet, device side: compiles finishing or failing, hand-over from the
// CPU helper to the target, draining and releasing compiled models, the
// LATENCY consolidation onto the measured-fastest device, introspection.
#include <algorithm>

#include "core/logging.hpp"
#include "scheduler/device_set.hpp"
#include "scheduler/observer_hub.hpp"

namespace autosched::scheduler {

namespace {
// Slots assumed for a device whose compile has not finished (its real count is
// unknown until then); extra outer workers only wait for a slot.
constexpr unsigned kCompilingSlotEstimate = 8;
}  // namespace

void DeviceSet::set_roles(std::size_t target, std::size_t helper) {
  std::lock_guard lock(mutex_);
  target_ = target;
  helper_ = helper;
}

void DeviceSet::mark_compiling(std::size_t index) {
  std::unique_lock lock(mutex_);
  if (devices_[index]->state != DeviceState::compiling) ++compiling_;
  devices_[index]->state = DeviceState::compiling;
  device_event(DeviceEventKind::compiling, index, "");
  flush(lock);
}

void DeviceSet::mark_ready(std::size_t index, CompiledCandidate compiled) {
  std::unique_lock lock(mutex_);
  auto& d = *devices_[index];
  if (d.state == DeviceState::compiling && compiling_ > 0) --compiling_;
  garbage_.push_back(std::move(d.compiled));  // normally empty; never dropped under the lock
  d.compiled = std::move(compiled.model);
  d.slots = std::max(1u, compiled.slots);
  d.optimal = std::max<std::int64_t>(1, compiled.optimal_requests);
  d.state = DeviceState::ready;
  d.warmed_up = compiled.warmed_up;
  d.compile_error.clear();
  log().info("{}: {} ready ({} slots){}", options_.label, d.candidate.name, d.slots,
             index == helper_ ? " as the CPU helper" : "");
  device_event(DeviceEventKind::ready, index, "slots=" + std::to_string(d.slots));
  hand_over_locked();
  changed_locked();
  flush(lock);
}

void DeviceSet::hand_over_locked() {
  // THROUGHPUT: once the target is ready, the target does not take over on its
  // static rank alone: target and helper both serve until each is measured,
  // then the faster keeps the requests (decide_throughput_locked). After that
  // decision, a device coming back (compiled on demand, re-admitted) drains the
  // other one again. (A helper compiled on demand while the target is
  // quarantined stays until the target is healthy.)
  if (!options_.throughput_handover || helper_ == kNoDevice || target_ == kNoDevice) return;
  const auto& target = *devices_[target_];
  const auto& helper = *devices_[helper_];
  if (target.state != DeviceState::ready || target.quarantined || helper.state != DeviceState::ready) return;
  switch (throughput_choice_) {
    case ThroughputChoice::target:
      log().info("{}: hand-over: new requests go to {}", options_.label, target.candidate.name);
      drain_locked(helper_, "hand-over to " + target.candidate.name);
      return;
    case ThroughputChoice::helper:
      if (helper.quarantined) return;
      drain_locked(target_, "THROUGHPUT: " + helper.candidate.name + " measured faster");
      return;
    case ThroughputChoice::undecided:
      if (!measuring_throughput_) {
        measuring_throughput_ = true;
        log().info("{}: THROUGHPUT: {} is ready; measuring it against the CPU helper {} ({} runs each) before the "
                   "hand-over",
                   options_.label, target.candidate.name, helper.candidate.name, options_.throughput_samples);
      }
      decide_throughput_locked();
      return;
  }
}

namespace {
// Requests per second a device sustains with every slot busy at its median latency.
double capacity_per_s(unsigned slots, double median_ms) { return slots * 1000.0 / std::max(median_ms, 1e-3); }
}  // namespace

void DeviceSet::decide_throughput_locked() {
  if (!measuring_throughput_ || throughput_choice_ != ThroughputChoice::undecided) return;
  const auto& target = *devices_[target_];
  const auto& helper = *devices_[helper_];
  if (target.state != DeviceState::ready || helper.state != DeviceState::ready || target.quarantined ||
      helper.quarantined)
    return;
  if (target.stats.samples() < options_.throughput_samples || helper.stats.samples() < options_.throughput_samples)
    return;
  measuring_throughput_ = false;
  const double target_rate = capacity_per_s(target.slots, target.stats.p50_ms());
  const double helper_rate = capacity_per_s(helper.slots, helper.stats.p50_ms());
  const auto figures = [](const Device& d, double rate) {
    return fmt::format("{} ({:.0f} inf/s: {} slots, median {:.3f} ms over {} runs)", d.candidate.name, rate, d.slots,
                       d.stats.p50_ms(), d.stats.samples());
  };
  if (target_rate > helper_rate) {
    throughput_choice_ = ThroughputChoice::target;
    log().info("{}: THROUGHPUT: handing over to {} from {}", options_.label, figures(target, target_rate),
               figures(helper, helper_rate));
    drain_locked(helper_, "hand-over to " + target.candidate.name);
  } else {
    throughput_choice_ = ThroughputChoice::helper;
    log().info("{}: THROUGHPUT: keeping {} over {}", options_.label, figures(helper, helper_rate),
               figures(target, target_rate));
    drain_locked(target_, "THROUGHPUT: " + helper.candidate.name + " measured faster");
  }
}

std::size_t DeviceSet::throughput_explore_locked(const std::vector<DeviceStats>& view) const {
  std::size_t pick = kNoDevice;
  for (const std::size_t i : {target_, helper_}) {
    if (i == kNoDevice || !view[i].eligible || view[i].health != DeviceHealth::healthy || view[i].free_slots() == 0)
      continue;
    if (view[i].samples >= options_.throughput_samples) continue;
    if (pick == kNoDevice || view[i].samples < view[pick].samples ||
        (view[i].samples == view[pick].samples && devices_[i]->priority < devices_[pick]->priority))
      pick = i;
  }
  return pick;
}

void DeviceSet::mark_compile_failed(std::size_t index, const std::string& error) {
  std::unique_lock lock(mutex_);
  auto& d = *devices_[index];
  if (d.state == DeviceState::compiling && compiling_ > 0) --compiling_;
  d.state = DeviceState::compile_failed;
  d.compile_error = error;
  log().warn("{}: compiling on {} failed: {}", options_.label, d.candidate.name, error);
  device_event(DeviceEventKind::compile_failed, index, error);
  changed_locked();
  flush(lock);
}

void DeviceSet::compile_now(std::size_t index, bool warm_up) {
  CompiledCandidate compiled;
  try {
    compiled = options_.compile(index, warm_up);
  } catch (const std::exception& e) {
    mark_compile_failed(index, e.what());
    return;
  } catch (...) {
    mark_compile_failed(index, "unknown exception");
    return;
  }
  mark_ready(index, std::move(compiled));
}

bool DeviceSet::wait_for_first_ready() {
  std::unique_lock lock(mutex_);
  auto ready = [&] {
    return std::any_of(devices_.begin(), devices_.end(), [](const auto& d) {
      return d->state == DeviceState::ready || d->state == DeviceState::draining;
    });
  };
  auto compiling = [&] {
    return std::any_of(devices_.begin(), devices_.end(),
                       [](const auto& d) { return d->state == DeviceState::compiling; });
  };
  changed_.wait(lock, [&] { return ready() || !compiling(); });
  return ready();
}

void DeviceSet::drain_locked(std::size_t index, const std::string& why) {
  auto& d = *devices_[index];
  if (d.state != DeviceState::ready) return;
  d.state = DeviceState::draining;
  for (auto& r : d.idle) garbage_requests_.push_back(std::move(r));
  d.idle.clear();
  log().info("{}: {} takes no new requests ({}); {} in flight", options_.label, d.candidate.name, why, d.in_flight);
  device_event(DeviceEventKind::draining, index, why);
  release_if_idle(index);
}

void DeviceSet::release_if_idle(std::size_t i) {
  auto& d = *devices_[i];
  if (d.state != DeviceState::draining || d.in_flight > 0) return;
  garbage_.push_back(std::move(d.compiled));
  d.compiled = CompiledModel();
  for (auto& r : d.idle) garbage_requests_.push_back(std::move(r));
  d.idle.clear();
  d.state = DeviceState::released;
  if (i == helper_)
    log().info("{}: CPU helper released ({})", options_.label, d.candidate.name);
  else
    log().info("{}: {} released", options_.label, d.candidate.name);
  device_event(DeviceEventKind::released, i, i == helper_ ? "CPU helper" : "");
}

void DeviceSet::consolidate_latency() {
  std::size_t best = kNoDevice;
  unsigned measured = 0;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    const auto& d = *devices_[i];
    if (d.state == DeviceState::compiling) return;  // wait until every startup compile has ended
    if (d.state != DeviceState::ready || d.quarantined) continue;
    if (d.stats.samples() < options_.latency_samples) return;
    ++measured;
    if (best == kNoDevice || d.stats.p50_ms() < devices_[best]->stats.p50_ms()) best = i;
  }
  if (measured < 2) return;
  consolidated_ = true;
  std::string others;
  for (std::size_t i = 0; i < devices_.size(); ++i)
    if (i != best && devices_[i]->state == DeviceState::ready && !devices_[i]->quarantined)
      others += ", " + devices_[i]->candidate.name + " " + fmt::format("{:.3f}", devices_[i]->stats.p50_ms()) + " ms";
  log().info("{}: LATENCY: {} is measured fastest (median {:.3f} ms over {} runs{}); it runs the requests from now on",
             options_.label, devices_[best]->candidate.name, devices_[best]->stats.p50_ms(), devices_[best]->stats.samples(),
             others);
  for (std::size_t i = 0; i < devices_.size(); ++i)
    if (i != best && devices_[i]->state == DeviceState::ready && !devices_[i]->quarantined)
      drain_locked(i, "LATENCY: " + devices_[best]->candidate.name + " measured faster");
}

std::string DeviceSet::compile_errors() const {
  std::lock_guard lock(mutex_);
  std::string s;
  for (const auto& d : devices_)
    if (d->state == DeviceState::compile_failed)
      s += (s.empty() ? "" : "; ") + d->candidate.name + ": " + d->compile_error;
  return s;
}

std::vector<std::string> DeviceSet::execution_devices() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& d : devices_)
    if (d->state == DeviceState::ready || d->state == DeviceState::draining) names.push_back(d->candidate.name);
  return names;
}

std::int64_t DeviceSet::optimal_requests() const {
  std::lock_guard lock(mutex_);
  std::int64_t accepting = 0, draining = 0;
  for (const auto& d : devices_) {
    if (d->state == DeviceState::ready) accepting += d->optimal;
    if (d->state == DeviceState::draining) draining += d->optimal;
  }
  return std::max<std::int64_t>(1, accepting > 0 ? accepting : draining);
}

unsigned DeviceSet::slot_estimate() const {
  std::lock_guard lock(mutex_);
  unsigned total = 0;
  for (const auto& d : devices_) {
    if (d->state == DeviceState::ready || d->state == DeviceState::draining) total += d->slots;
    if (d->state == DeviceState::compiling) total += d->candidate.cap ? d->candidate.cap : kCompilingSlotEstimate;
  }
  return std::max(1u, total);
}

const std::string& DeviceSet::policy_name() const { return policy_name_; }

std::vector<std::string> DeviceSet::candidate_names() const {
  std::vector<std::string> names;
  for (const auto& d : devices_) names.push_back(d->candidate.name);
  return names;
}

}  // namespace autosched::scheduler
