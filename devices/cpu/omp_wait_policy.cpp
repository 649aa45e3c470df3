#include "devices/cpu/omp_wait_policy.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "autosched/error.hpp"
#include "core/logging.hpp"

// libgomp's entry point for `#pragma omp parallel` (stable ABI since GCC 4.9); called directly
// so that this file needs no -fopenmp.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);

namespace autosched::cpu {

OmpWaitMode omp_wait_mode_from_env() {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return OmpWaitMode::user;
  const char* env = std::getenv("AUTOSCHED_CPU_WAIT");
  if (!env || std::string(env).empty() || std::string(env) == "auto") return OmpWaitMode::automatic;
  if (std::string(env) == "spin") return OmpWaitMode::spin;
  if (std::string(env) == "sleep") return OmpWaitMode::sleep;
  throw Error(ErrorCode::invalid_argument,
              "AUTOSCHED_CPU_WAIT='" + std::string(env) + "' is not a wait mode; valid: auto, spin, sleep");
}

const char* to_string(OmpWaitMode mode) {
  switch (mode) {
    case OmpWaitMode::automatic: return "auto";
    case OmpWaitMode::spin: return "spin";
    case OmpWaitMode::sleep: return "sleep";
    case OmpWaitMode::user: return "user (OMP_WAIT_POLICY / GOMP_SPINCOUNT)";
  }
  return "?";
}

bool WaitGovernor::observe(double stall_fraction) {
  ++windows_;
  if (spinning_) {
    if (stall_fraction > config_.sleep_above) {
      if (windows_ < config_.settled_windows) hold_ = std::min(hold_ * 2, config_.max_hold);
      spinning_ = false;
      windows_ = 0;
      calm_ = 0;
    } else if (windows_ >= config_.settled_windows) {
      hold_ = config_.hold;
    }
    return spinning_;
  }
  calm_ = stall_fraction < config_.spin_below ? calm_ + 1 : 0;
  if (calm_ >= hold_) {
    spinning_ = true;
    windows_ = 0;
  }
  return spinning_;
}

std::optional<CpuPressure> parse_cpu_pressure(const std::string& text) {
  std::istringstream in(text);
  std::string kind, avg10, total;
  std::string field;
  in >> kind;
  if (kind != "some") return std::nullopt;
  while (in >> field) {
    if (field.rfind("avg10=", 0) == 0) avg10 = field.substr(6);
    if (field.rfind("total=", 0) == 0) total = field.substr(6);
  }
  if (avg10.empty() || total.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    CpuPressure p;
    p.avg10_percent = std::stod(avg10, &used);
    if (used != avg10.size()) return std::nullopt;
    p.total_us = std::stoull(total, &used);
    if (used != total.size()) return std::nullopt;
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::size_t OmpTeamParker::team_size() { return std::size_t(omp_get_num_procs()) + 1; }

void OmpTeamParker::park() {
  if (parked()) return;
  const auto team = unsigned(team_size());
  {
    std::lock_guard lock(mutex_);
    ready_ = released_ = false;
  }
  thread_ = std::thread([this, team] {
    GOMP_parallel([](void*) {}, nullptr, team, 0);
    std::unique_lock lock(mutex_);
    ready_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  });
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return ready_; });
}

void OmpTeamParker::release() {
  if (!parked()) return;
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

constexpr auto kWindow = std::chrono::milliseconds(100);
constexpr double kCalmAvg10Percent = 3.0;  // the first decision of a period of use, from the 10 s average

std::optional<CpuPressure> read_cpu_pressure() {
  std::ifstream in("/proc/pressure/cpu");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return parse_cpu_pressure(line);
}

class Controller {
 public:
  static Controller& instance() {
    static Controller* controller = new Controller();  // never destroyed: its thread may outlive main
    return *controller;
  }

  void acquire() {
    std::lock_guard lock(mutex_);
    if (++leases_ == 1) cv_.notify_all();
  }

  void release() {
    std::lock_guard lock(mutex_);
    if (--leases_ == 0) cv_.notify_all();
  }

  OmpWaitState state() {
    std::lock_guard lock(mutex_);
    return OmpWaitState{mode_, !parker_.parked(), switches_, pressure_known_};
  }

 private:
  Controller() {
    try {
      mode_ = omp_wait_mode_from_env();
    } catch (const Error& e) {
      log().warn("{} (using auto)", e.what());
      mode_ = OmpWaitMode::automatic;
    }
    switch (mode_) {
      case OmpWaitMode::sleep: parker_.park(); break;
      case OmpWaitMode::automatic: std::thread([this] { sample(); }).detach(); break;
      case OmpWaitMode::spin:
      case OmpWaitMode::user: break;
    }
    log().debug("CPU: OpenMP wait mode {}", to_string(mode_));
  }

  void set_spinning_locked(bool spin, double stall_fraction) {
    if (spin == !parker_.parked()) return;
    if (spin)
      parker_.release();
    else
      parker_.park();
    ++switches_;
    log().debug("CPU: OpenMP waits {} (CPU stall {:.1f} % of the last window)", spin ? "spin" : "sleep",
                100.0 * stall_fraction);
  }

  // The automatic mode's sampler: idle without leases, one window every 100 ms with.
  void sample() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return leases_ > 0; });
      auto last = read_cpu_pressure();
      if (!last) {
        pressure_known_ = false;
        log().info("CPU: /proc/pressure/cpu is not readable; OpenMP waits sleep (set AUTOSCHED_CPU_WAIT=spin "
                   "on a machine whose cores are this process's alone)");
        set_spinning_locked(false, 0);
        return;
      }
      pressure_known_ = true;
      WaitGovernor governor(last->avg10_percent < kCalmAvg10Percent);
      set_spinning_locked(governor.spinning(), last->avg10_percent / 100.0);
      auto last_time = std::chrono::steady_clock::now();
      while (!cv_.wait_for(lock, kWindow, [this] { return leases_ == 0; })) {
        const auto now_pressure = read_cpu_pressure();
        const auto now = std::chrono::steady_clock::now();
        if (!now_pressure) continue;
        const double window_us = std::chrono::duration<double, std::micro>(now - last_time).count();
        const double stalled = double(now_pressure->total_us - std::min(now_pressure->total_us, last->total_us));
        const double fraction = window_us > 0 ? std::clamp(stalled / window_us, 0.0, 1.0) : 0.0;
        log().trace("CPU: OpenMP wait window: CPU stall {:.1f} %", 100.0 * fraction);
        set_spinning_locked(governor.observe(fraction), fraction);
        last = now_pressure;
        last_time = now;
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  OmpWaitMode mode_ = OmpWaitMode::automatic;
  OmpTeamParker parker_;
  int leases_ = 0;
  std::uint64_t switches_ = 0;
  bool pressure_known_ = false;
};

}  // namespace

OmpWaitLease::OmpWaitLease() { Controller::instance().acquire(); }
OmpWaitLease::~OmpWaitLease() { Controller::instance().release(); }

OmpWaitState omp_wait_state() { return Controller::instance().state(); }

}  // namespace autosched::cpu
