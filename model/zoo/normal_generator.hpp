#pragma once
// A fixed-seed source of N(0,1) floats that gives the same sequence on every
// platform and standard library: std::mt19937's output is fixed by the C++
// standard, and the normal transform is our own Box-Muller (unlike
// std::normal_distribution, whose algorithm differs between libstdc++, libc++
// and MSVC). Not thread-safe; one generator per tensor being filled.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace autosched::zoo {

class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint32_t seed) : engine_(seed) {}

  // The next standard normal sample.
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_open();
    const double u2 = uniform_open();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  // Uniform in the open interval (0, 1): never 0, so log() stays finite.
  double uniform_open() { return (double(engine_()) + 0.5) * (1.0 / 4294967296.0); }

 private:
  std::mt19937 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace autosched::zoo
