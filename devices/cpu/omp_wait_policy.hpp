#pragma once
// How libgomp (the OpenMP runtime of Debian's oneDNN) waits at a barrier. A stream of T > 1 threads
// meets one after every primitive. libgomp spins GOMP_SPINCOUNT = 300,000 pause instructions
// (~15-20 ms here) before sleeping, unless it manages more threads than there are CPUs: then it spins
// ~100 (a few µs) and sleeps on a futex. Each regime loses badly somewhere:
//  - spin, while another process holds a core: the threads spin through their time slices waiting
//    for a partner that cannot run (resnet50, 1 stream x 2 threads, at load 5: 440 ms p50, not 60 ms);
//  - sleep, on idle cores: every primitive pays a futex wake-up (idle machine, LATENCY hint:
//    mobilenetv2 6.9 ms p50 instead of 2.9 ms, bert_tiny 2.0 ms instead of 0.47 ms).
// libgomp reads its environment once, when it loads, but picks the regime at every wait from how many
// threads it manages. So the CPU device switches at run time: parking an idle OpenMP team of
// (CPUs + 1) threads selects sleep, releasing it selects spin. In the default (automatic) mode a
// governor decides from the kernel's CPU pressure (/proc/pressure/cpu, "some": the share of time a
// runnable task waited for a CPU), sampled every 100 ms while a compiled model with such a stream
// lives. OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment leave libgomp to the user;
// AUTOSCHED_CPU_WAIT=spin|sleep fixes the regime.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace autosched::cpu {

enum class OmpWaitMode { automatic, spin, sleep, user };  // user: OMP_WAIT_POLICY / GOMP_SPINCOUNT set

// The mode the environment asks for. AUTOSCHED_CPU_WAIT takes auto | spin | sleep; any other value
// throws Error(invalid_argument) naming the valid ones.
OmpWaitMode omp_wait_mode_from_env();
const char* to_string(OmpWaitMode mode);

// The automatic mode's decision, kept apart from the clock and /proc so that tests can drive it.
// One call per sampling window with that window's stall fraction. Sleep is entered at once when the
// fraction passes sleep_above; spin again only after hold calm windows (fraction under spin_below)
// in a row. When spinning ends within settled_windows, the next hold doubles (up to max_hold), so a
// machine whose contention comes and goes does not flap; spinning that lasts resets it.
class WaitGovernor {
 public:
  struct Config {
    double sleep_above = 0.10;
    double spin_below = 0.03;
    int hold = 5;
    int max_hold = 320;
    int settled_windows = 100;
  };
  explicit WaitGovernor(bool spinning = false) : WaitGovernor(Config{}, spinning) {}
  WaitGovernor(Config config, bool spinning) : config_(config), spinning_(spinning), hold_(config.hold) {}

  bool observe(double stall_fraction);  // returns whether to spin after this window
  bool spinning() const { return spinning_; }
  int hold() const { return hold_; }

 private:
  Config config_;
  bool spinning_;
  int hold_;
  int windows_ = 0;  // in the current regime
  int calm_ = 0;     // calm windows in a row while sleeping
};

// "some" line of /proc/pressure/cpu: avg10 (percent) and total (µs). nullopt for anything else.
struct CpuPressure {
  double avg10_percent = 0;
  std::uint64_t total_us = 0;
};
std::optional<CpuPressure> parse_cpu_pressure(const std::string& text);

// While parked, an idle OpenMP team of (CPUs + 1) threads sits on a thread of its own: libgomp then
// manages more threads than CPUs and keeps its spin-waits short. release() ends that thread, whose
// exit frees the team (libgomp's thread destructor), and libgomp spins long again. Not thread-safe:
// one owner calls park/release.
class OmpTeamParker {
 public:
  OmpTeamParker() = default;
  OmpTeamParker(const OmpTeamParker&) = delete;
  OmpTeamParker& operator=(const OmpTeamParker&) = delete;
  ~OmpTeamParker() { release(); }
  static std::size_t team_size();  // CPUs (libgomp's count) + 1
  bool parked() const { return thread_.joinable(); }
  void park();
  void release();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ready_ = false;
  bool released_ = false;
  std::thread thread_;
};

// Held by every compiled model with a stream of T > 1 threads. The first lease starts the control
// (mode from the environment, read once); while any lease is held, the automatic mode samples.
class OmpWaitLease {
 public:
  OmpWaitLease();
  ~OmpWaitLease();
  OmpWaitLease(const OmpWaitLease&) = delete;
  OmpWaitLease& operator=(const OmpWaitLease&) = delete;
};

struct OmpWaitState {
  OmpWaitMode mode = OmpWaitMode::automatic;
  bool spinning = false;        // libgomp's long-spin regime is in effect
  std::uint64_t switches = 0;   // regime changes since the control started
  bool pressure_known = false;  // /proc/pressure/cpu was readable
};
OmpWaitState omp_wait_state();  // starts the control (without a lease) if nothing has yet

}  // namespace autosched::cpu
