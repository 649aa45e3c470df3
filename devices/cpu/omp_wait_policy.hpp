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
// governor decides from how much of this process's CPUs other processes use (/proc/stat) and how
// often runnable tasks wait for a CPU (/proc/pressure/cpu), sampled every 100 ms while a compiled
// model with such a stream lives. OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment leave libgomp to the user;
// AUTOSCHED_CPU_WAIT=spin|sleep fixes the regime.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace autosched::cpu {

enum class OmpWaitMode { automatic, spin, sleep, user };  // user: OMP_WAIT_POLICY / GOMP_SPINCOUNT set

// The mode the environment asks for. AUTOSCHED_CPU_WAIT takes auto | spin | sleep; any other value
// throws Error(invalid_argument) naming the valid ones.
OmpWaitMode omp_wait_mode_from_env();
const char* to_string(OmpWaitMode mode);

// One sampling window, as fractions of the window:
//  others: CPU time that other processes (and the hypervisor: steal) took on the CPUs this process
//    may use, per CPU (from /proc/stat minus this process's own CPU time);
//  stall: time some runnable task waited for a CPU (/proc/pressure/cpu "some"), this process's own
//    threads included, so that a process oversubscribing the cores by itself sleeps too.
struct WaitWindow {
  double others = 0;
  double stall = 0;
};

// The automatic mode's decision, kept apart from the clock and /proc so that tests can drive it.
// One call per window. Sleep is entered at once when a window is contended (others or stall above
// its limit); spin again only after hold calm windows in a row (both under their calm limits). When
// spinning ends within settled_windows, the next hold doubles (up to max_hold), so a machine whose
// contention comes and goes does not flap; spinning that lasts resets it. Spinning threads of this
// process stall others' wake-ups a little by themselves (7-10 % measured here with one 2-thread
// stream on 2 idle cores), hence the stall limits.
class WaitGovernor {
 public:
  struct Config {
    double others_above = 0.15;  // contended
    double stall_above = 0.30;
    double others_calm = 0.06;  // calm
    double stall_calm = 0.15;
    int hold = 5;
    int max_hold = 320;
    int settled_windows = 100;
  };
  explicit WaitGovernor(bool spinning = false) : WaitGovernor(Config{}, spinning) {}
  WaitGovernor(Config config, bool spinning) : config_(config), spinning_(spinning), hold_(config.hold) {}

  bool observe(WaitWindow window);  // returns whether to spin after this window
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

// The per-CPU lines of /proc/stat summed over `cpus` (indices; empty: every CPU), in clock ticks:
// busy = everything but idle and iowait (steal included), total = all of it. nullopt when no
// listed CPU has a well-formed line.
struct CpuTicks {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};
std::optional<CpuTicks> parse_proc_stat(const std::string& text, const std::vector<int>& cpus);

// Sets the calling thread's OpenMP team size for its lifetime in this scope, then restores it.
class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int threads);
  ~OmpThreadsScope();
  OmpThreadsScope(const OmpThreadsScope&) = delete;
  OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

 private:
  int previous_;
};

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
