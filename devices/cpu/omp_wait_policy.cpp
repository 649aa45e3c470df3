#include "devices/cpu/omp_wait_policy.hpp"

#include <omp.h>

#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "core/logging.hpp"

// libgomp's entry point for `#pragma omp parallel` (stable ABI since GCC 4.9); called directly
// so that this file needs no -fopenmp.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);

namespace autosched::cpu {

bool bound_openmp_spin_waits() {
  static std::once_flag once;
  static bool parked = false;
  std::call_once(once, [] {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) {
      log().debug("CPU: OpenMP wait policy left to OMP_WAIT_POLICY / GOMP_SPINCOUNT");
      return;
    }
    const unsigned team = unsigned(omp_get_num_procs()) + 1;
    struct Started {
      std::mutex mutex;
      std::condition_variable cv;
      bool ready = false;
    };
    auto started = std::make_shared<Started>();  // shared: either side may finish last
    std::thread([started, team] {
      GOMP_parallel([](void*) {}, nullptr, team, 0);
      {
        std::lock_guard lock(started->mutex);
        started->ready = true;
        started->cv.notify_one();
      }
      // Parked for the life of the process: the team stays counted by libgomp.
      std::mutex park_mutex;
      std::condition_variable park;
      std::unique_lock park_lock(park_mutex);
      park.wait(park_lock, [] { return false; });
    }).detach();
    std::unique_lock lock(started->mutex);
    started->cv.wait(lock, [&] { return started->ready; });
    parked = true;
    log().debug("CPU: parked an idle OpenMP team of {} threads (short spin-waits at barriers)", team);
  });
  return parked;
}

}  // namespace autosched::cpu
