#pragma once
// Test watchdog shared by the unit tests: runs `f` on this thread; if it does
// not finish within `limit`, reports a probable deadlock and aborts the binary
// (a hang cannot be recovered from; ctest then shows the message).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

namespace autosched::testing {

template <class F> void within(std::chrono::seconds limit, F&& f) {
  auto finished = std::make_shared<std::promise<void>>();
  std::thread watchdog([done = finished->get_future(), limit]() mutable {
    if (done.wait_for(limit) != std::future_status::ready) {
      std::fprintf(stderr, "watchdog: no progress within %llds: probable deadlock\n",
                   static_cast<long long>(limit.count()));
      std::abort();
    }
  });
  try {
    f();
  } catch (...) {
    finished->set_value();
    watchdog.join();
    throw;
  }
  finished->set_value();
  watchdog.join();
}

}  // namespace autosched::testing
