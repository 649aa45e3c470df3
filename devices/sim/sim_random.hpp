#pragma once
// Seeded randomness of SIM devices. Every random decision of a device is
// drawn from a short stream keyed by (profile seed, purpose, event number):
// inference k's fate (fail, hang, jitter) depends only on the seed and k, not
// on which thread ran it or in what order, and the numbers are the same on
// every platform (SplitMix64 and our own Box-Muller; no std distributions,
// whose algorithms differ between standard libraries). Not thread-safe; one
// stream per event.
#include <cmath>
#include <cstdint>
#include <numbers>

namespace autosched::sim {

enum class RandomPurpose : std::uint64_t { inference = 1, compile = 2 };

class EventRandom {
 public:
  EventRandom(std::uint64_t seed, RandomPurpose purpose, std::uint64_t event)
      : state_(mix(seed) ^ mix(std::uint64_t(purpose) * 0x9e3779b97f4a7c15ULL + event)) {}

  // Uniform in the open interval (0, 1).
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  // Standard normal (Box-Muller, first value of the pair).
  double normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static std::uint64_t mix(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }
  std::uint64_t state_;
};

}  // namespace autosched::sim
