// The SIM timing model's shared pieces (devices/sim/sim_profile.hpp) that
// the SIM device and autosched-simulate both call: the expected jitter
// factor (the simulator's oracle) against sampled draws, and the inference
// draw as a pure function of (seed, k).
#include <gtest/gtest.h>

#include "devices/sim/sim_profile.hpp"
#include "devices/sim/sim_random.hpp"

namespace autosched::sim {
namespace {

double sampled_mean_factor(const Jitter& jitter, int n) {
  double sum = 0;
  for (int k = 1; k <= n; ++k) sum += jitter.factor(EventRandom(99, RandomPurpose::inference, std::uint64_t(k)).normal());
  return sum / n;
}

TEST(SimTimingModel, MeanFactorMatchesTheSampledMean) {
  const std::vector<Jitter> cases = {
      {JitterDistribution::none, 0, 1},
      {JitterDistribution::normal, 0.05, 1},
      {JitterDistribution::normal, 1.5, 1},  // the clip at 0 matters: the mean is above 1
      {JitterDistribution::lognormal, 0, 1.3},
      {JitterDistribution::lognormal, 0, 4},
  };
  for (const auto& j : cases) {
    const double expected = j.mean_factor();
    EXPECT_NEAR(sampled_mean_factor(j, 200000), expected, 0.01 * expected)
        << to_string(j.distribution) << " sigma " << j.sigma << " p99/p50 " << j.p99_over_p50;
  }
  EXPECT_DOUBLE_EQ((Jitter{JitterDistribution::normal, 0, 1}.mean_factor()), 1.0);
  EXPECT_GT((Jitter{JitterDistribution::normal, 1.5, 1}.mean_factor()), 1.1);
}

TEST(SimTimingModel, MeanLatencyIsTheModelTimesTheMeanFactor) {
  auto p = parse_profile(R"({"device_class": "cpu", "latency": {"base_ms": 1, "per_gflop_ms": 2,
                             "jitter": {"distribution": "lognormal", "p99_over_p50": 2}},
                             "slowdowns": [{"start_s": 0, "duration_s": 10, "factor": 4}]})",
                         "test", "t");
  // Slowdowns are not part of the mean (a schedule, not a property of the device).
  EXPECT_DOUBLE_EQ(p.mean_latency_ms(3, 1), 7.0 * p.latency_jitter.mean_factor());
}

TEST(SimTimingModel, AnInferenceDrawDependsOnlyOnTheSeedAndItsNumber) {
  auto p = parse_profile(R"({"device_class": "cpu", "seed": 5,
                             "faults": {"fail_inferences": [3], "hang_inferences": [4], "fail_probability": 0.05}})",
                         "test", "t");
  for (std::uint64_t k : {1u, 2u, 1000u}) {
    const auto a = p.draw_inference(k), b = p.draw_inference(k);
    EXPECT_EQ(a.z, b.z);
    EXPECT_EQ(a.fail, b.fail);
    EXPECT_EQ(a.hang, b.hang);
  }
  EXPECT_TRUE(p.draw_inference(3).fail);
  EXPECT_TRUE(p.draw_inference(4).hang);
  EXPECT_NE(p.draw_inference(1).z, p.draw_inference(2).z);
  int failures = 0;
  for (std::uint64_t k = 10; k < 100010; ++k) failures += p.draw_inference(k).fail;
  EXPECT_NEAR(failures / 100000.0, 0.05, 0.003);
  auto other = p;
  other.seed = 6;
  EXPECT_NE(p.draw_inference(1).z, other.draw_inference(1).z);
}

}  // namespace
}  // namespace autosched::sim
