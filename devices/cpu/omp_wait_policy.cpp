#include "devices/cpu/omp_wait_policy.hpp"

#include <omp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
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

bool WaitGovernor::observe(WaitWindow window) {
  ++windows_;
  if (spinning_) {
    if (window.others > config_.others_above || window.stall > config_.stall_above) {
      if (windows_ < config_.settled_windows) hold_ = std::min(hold_ * 2, config_.max_hold);
      spinning_ = false;
      windows_ = 0;
      calm_ = 0;
    } else if (windows_ >= config_.settled_windows) {
      hold_ = config_.hold;
    }
    return spinning_;
  }
  const bool calm = window.others < config_.others_calm && window.stall < config_.stall_calm;
  calm_ = calm ? calm_ + 1 : 0;
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

std::optional<CpuTicks> parse_proc_stat(const std::string& text, const std::vector<int>& cpus) {
  std::istringstream lines(text);
  std::string line;
  CpuTicks sum;
  bool any = false;
  while (std::getline(lines, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || !std::isdigit(static_cast<unsigned char>(line[3])))
      continue;
    std::istringstream in(line.substr(3));
    int cpu = -1;
    in >> cpu;
    if (!cpus.empty() && std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) continue;
    std::uint64_t fields[8] = {};  // user nice system idle iowait irq softirq steal (guest is in user)
    int read = 0;
    while (read < 8 && in >> fields[read]) ++read;
    if (read < 8) continue;
    std::uint64_t total = 0;
    for (auto f : fields) total += f;
    sum.total += total;
    sum.busy += total - fields[3] - fields[4];
    any = true;
  }
  if (!any) return std::nullopt;
  return sum;
}

OmpThreadsScope::OmpThreadsScope(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
OmpThreadsScope::~OmpThreadsScope() { omp_set_num_threads(previous_); }

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
constexpr std::size_t kSpan = 3;  // windows per decision
constexpr double kCalmAvg10Percent = 3.0;  // the first decision of a period of use, from the 10 s average

std::optional<CpuPressure> read_cpu_pressure() {
  std::ifstream in("/proc/pressure/cpu");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return parse_cpu_pressure(line);
}

// The process's CPUs (its main thread's affinity: the sampler thread may have inherited a pinned
// creator's). Empty when unknown: then every CPU counts.
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(getpid(), sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// What one window needs from /proc at its two ends.
struct Reading {
  std::chrono::steady_clock::time_point time;
  std::optional<CpuTicks> ticks;
  std::optional<CpuPressure> pressure;
  double own_cpu_s = 0;

  static Reading take(const std::vector<int>& cpus) {
    Reading r;
    r.time = std::chrono::steady_clock::now();
    std::ifstream in("/proc/stat");
    std::stringstream text;
    text << in.rdbuf();
    r.ticks = parse_proc_stat(text.str(), cpus);
    r.pressure = read_cpu_pressure();
    r.own_cpu_s = own_cpu_seconds();
    return r;
  }
};

// The window between two readings; nullopt if /proc/stat was unreadable at either end.
std::optional<WaitWindow> window_between(const Reading& a, const Reading& b, double ticks_per_s) {
  if (!a.ticks || !b.ticks || b.ticks->total <= a.ticks->total) return std::nullopt;
  WaitWindow w;
  const double busy_s = double(b.ticks->busy - std::min(b.ticks->busy, a.ticks->busy)) / ticks_per_s;
  const double capacity_s = double(b.ticks->total - a.ticks->total) / ticks_per_s;
  w.others = std::clamp((busy_s - (b.own_cpu_s - a.own_cpu_s)) / capacity_s, 0.0, 1.0);
  const double wall_us = std::chrono::duration<double, std::micro>(b.time - a.time).count();
  if (a.pressure && b.pressure && wall_us > 0)
    w.stall = std::clamp(double(b.pressure->total_us - std::min(b.pressure->total_us, a.pressure->total_us)) / wall_us,
                         0.0, 1.0);
  return w;
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

  void set_spinning_locked(bool spin, WaitWindow why) {
    if (spin == !parker_.parked()) return;
    if (spin)
      parker_.release();
    else
      parker_.park();
    ++switches_;
    log().debug("CPU: OpenMP waits {} (last window: others {:.1f} %, stall {:.1f} %)", spin ? "spin" : "sleep",
                100.0 * why.others, 100.0 * why.stall);
  }

  // The automatic mode's sampler: idle without leases, one window every 100 ms with.
  void sample() {
    const std::vector<int> cpus = allowed_cpus();
    const double ticks_per_s = double(sysconf(_SC_CLK_TCK));
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return leases_ > 0; });
      std::deque<Reading> recent{Reading::take(cpus)};
      const Reading& last = recent.back();
      if (!last.ticks) {
        pressure_known_ = false;
        log().info("CPU: /proc/stat is not readable; OpenMP waits sleep (set AUTOSCHED_CPU_WAIT=spin on a "
                   "machine whose cores are this process's alone)");
        set_spinning_locked(false, {});
        return;
      }
      pressure_known_ = last.pressure.has_value();
      // The first decision of a period of use, before a window has passed: spin only on a calm machine.
      const bool calm = last.pressure && last.pressure->avg10_percent < kCalmAvg10Percent;
      WaitGovernor governor(calm);
      set_spinning_locked(governor.spinning(), {});
      while (!cv_.wait_for(lock, kWindow, [this] { return leases_ == 0; })) {
        // Each decision looks at the last kSpan windows: /proc/stat counts in 10 ms ticks, coarse
        // for one 100 ms window.
        recent.push_back(Reading::take(cpus));
        if (recent.size() > kSpan + 1) recent.pop_front();
        if (const auto window = window_between(recent.front(), recent.back(), ticks_per_s)) {
          log().trace("CPU: OpenMP wait window: others {:.1f} %, stall {:.1f} %", 100.0 * window->others,
                      100.0 * window->stall);
          set_spinning_locked(governor.observe(*window), *window);
        }
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
