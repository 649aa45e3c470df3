// SIM profiles: every field parses, defaults hold, every bad value or
// unknown field is an error naming the field, the file and what is valid,
// files are found through the sim_profiles property and the environment, and
// a bad file fails the Core constructor.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "tests/unit/sim_test_support.hpp"

namespace autosched::sim {
namespace {

using testing::error_message;

constexpr const char* kFullProfile = R"json({
  "name": "every_field",
  "full_name": "Every field set",
  "device_class": "integrated_gpu",
  "seed": 1234,
  "timing_only": true,
  "compile": {"fixed_ms": 100, "per_gflop_ms": 7.5, "jitter": {"distribution": "normal", "sigma": 0.2}},
  "latency": {"base_ms": 1.5, "per_gflop_ms": 0.25, "jitter": {"distribution": "lognormal", "p99_over_p50": 3}},
  "parallel_slots": 3,
  "batch": {"preferred_size": 8, "efficiency": 0.75},
  "memory_mb": 512,
  "supported_ops": ["Relu", "MatMul"],
  "supported_precisions": ["f32", "f16"],
  "slowdowns": [{"start_s": 2, "duration_s": 3, "factor": 4}, {"start_s": 4, "duration_s": 10, "factor": 0.5}],
  "faults": {"fail_compile": true, "fail_inferences": [3, 9], "fail_probability": 0.01,
             "hang_inferences": [5], "hang_probability": 0.02, "disappear_after_s": 60}
})json";

TEST(SimProfile, ParsesEveryField) {
  const SimProfile p = parse_profile(kFullProfile, "full.json");
  EXPECT_EQ(p.name, "every_field");
  EXPECT_EQ(p.full_name, "Every field set");
  EXPECT_EQ(p.source, "full.json");
  EXPECT_EQ(p.device_class, plugin::DeviceClass::integrated_gpu);
  EXPECT_EQ(p.seed, 1234u);
  EXPECT_TRUE(p.timing_only);
  EXPECT_EQ(p.compile_fixed_ms, 100);
  EXPECT_EQ(p.compile_per_gflop_ms, 7.5);
  EXPECT_EQ(p.compile_jitter.distribution, JitterDistribution::normal);
  EXPECT_EQ(p.compile_jitter.sigma, 0.2);
  EXPECT_EQ(p.latency_base_ms, 1.5);
  EXPECT_EQ(p.latency_per_gflop_ms, 0.25);
  EXPECT_EQ(p.latency_jitter.distribution, JitterDistribution::lognormal);
  EXPECT_EQ(p.latency_jitter.p99_over_p50, 3);
  EXPECT_EQ(p.parallel_slots, 3u);
  EXPECT_EQ(p.preferred_batch_size, 8u);
  EXPECT_EQ(p.batch_efficiency, 0.75);
  EXPECT_EQ(p.memory_mb, 512);
  EXPECT_EQ(p.supported_ops, (std::vector<std::string>{"Relu", "MatMul"}));
  EXPECT_EQ(p.supported_precisions, (std::vector<ElementType>{ElementType::f32, ElementType::f16}));
  ASSERT_EQ(p.slowdowns.size(), 2u);
  EXPECT_EQ(p.slowdowns[0].start_s, 2);
  EXPECT_EQ(p.slowdowns[0].duration_s, 3);
  EXPECT_EQ(p.slowdowns[0].factor, 4);
  EXPECT_TRUE(p.faults.fail_compile);
  EXPECT_EQ(p.faults.fail_inferences, (std::vector<std::uint64_t>{3, 9}));
  EXPECT_EQ(p.faults.fail_probability, 0.01);
  EXPECT_EQ(p.faults.hang_inferences, (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(p.faults.hang_probability, 0.02);
  ASSERT_TRUE(p.faults.disappear_after_s.has_value());
  EXPECT_EQ(*p.faults.disappear_after_s, 60);
  EXPECT_EQ(p.capabilities(), (std::vector<std::string>{"FP32", "FP16"}));
}

TEST(SimProfile, DefaultsOfAMinimalProfile) {
  const SimProfile p = parse_profile(R"({"device_class": "cpu"})", "/some/dir/minimal.json", "minimal");
  EXPECT_EQ(p.name, "minimal");  // from the file stem
  EXPECT_EQ(p.full_name, "Simulated cpu minimal");
  EXPECT_EQ(p.seed, 0u);
  EXPECT_FALSE(p.timing_only);
  EXPECT_EQ(p.latency_base_ms, 0);
  EXPECT_EQ(p.latency_jitter.distribution, JitterDistribution::none);
  EXPECT_EQ(p.parallel_slots, 1u);
  EXPECT_EQ(p.preferred_batch_size, 1u);
  EXPECT_EQ(p.batch_efficiency, 0);
  EXPECT_EQ(p.memory_mb, 0);
  EXPECT_TRUE(p.supported_ops.empty());
  EXPECT_TRUE(p.supports_op("Conv"));
  EXPECT_FALSE(p.supports_op("NoSuchOp"));
  EXPECT_TRUE(p.supports_precision(ElementType::i64));
  EXPECT_TRUE(p.slowdowns.empty());
  EXPECT_FALSE(p.faults.disappear_after_s.has_value());
}

struct BadProfile {
  const char* json;
  const char* field;  // must appear in the message
  const char* valid;  // what is valid, must appear in the message
};
// Names the ctest cases by field and what is valid (without quotes, which ctest names do not need).
void PrintTo(const BadProfile& bad, std::ostream* os) {
  for (const std::string part : {bad.field, " ", bad.valid})
    for (char c : part)
      if (c != '\'' && c != '"') *os << c;
}

class SimProfileRejects : public ::testing::TestWithParam<BadProfile> {};

TEST_P(SimProfileRejects, NamingFileFieldAndWhatIsValid) {
  const auto& bad = GetParam();
  const std::string message =
      error_message([&] { parse_profile(bad.json, "bad_profile.json", "x"); }, ErrorCode::invalid_argument);
  EXPECT_NE(message.find("bad_profile.json"), std::string::npos) << message;
  EXPECT_NE(message.find(bad.field), std::string::npos) << message;
  EXPECT_NE(message.find(bad.valid), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    SimProfile, SimProfileRejects,
    ::testing::Values(
        BadProfile{R"({"device_class": "cpu", "latencyy": {}})", "'latencyy'", "valid fields: name, full_name"},
        BadProfile{R"({"device_class": "cpu", "latency": {"jiter": {}}})", "'latency.jiter'",
                   "base_ms, per_gflop_ms, jitter"},
        BadProfile{R"({"device_class": "cpu", "faults": {"fail_on": 3}})", "'faults.fail_on'", "fail_compile"},
        BadProfile{R"({"device_class": "gpu"})", "'device_class'", "discrete_gpu, integrated_gpu, accelerator, cpu"},
        BadProfile{R"({"name": "x"})", "'device_class' is required", "discrete_gpu"},
        BadProfile{R"({"device_class": "cpu", "name": "bad name"})", "'name'", "letters, digits"},
        BadProfile{R"({"device_class": "cpu", "full_name": 3})", "'full_name'", "must be a string"},
        BadProfile{R"({"device_class": "cpu", "seed": -1})", "'seed'", "integer from 0"},
        BadProfile{R"({"device_class": "cpu", "timing_only": "yes"})", "'timing_only'", "true or false"},
        BadProfile{R"({"device_class": "cpu", "compile": {"fixed_ms": "slow"}})", "'compile.fixed_ms'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "compile": {"per_gflop_ms": -2}})", "'compile.per_gflop_ms'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "latency": {"base_ms": -1}})", "'latency.base_ms'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "latency": {"per_gflop_ms": null, "base_ms": true}})",
                   "'latency.base_ms'", "must be a number"},
        BadProfile{R"({"device_class": "cpu", "latency": {"jitter": {"distribution": "uniform"}}})",
                   "'latency.jitter.distribution'", "none, normal, lognormal"},
        BadProfile{R"({"device_class": "cpu", "latency": {"jitter": {"distribution": "normal"}}})",
                   "'latency.jitter.sigma' is required", "normal"},
        BadProfile{R"({"device_class": "cpu", "latency": {"jitter": {"distribution": "normal", "sigma": -0.1}}})",
                   "'latency.jitter.sigma'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "latency": {"jitter": {"distribution": "lognormal", "sigma": 1}}})",
                   "'latency.jitter.sigma'", "only to distribution \"normal\""},
        BadProfile{R"({"device_class": "cpu", "compile": {"jitter": {"distribution": "lognormal", "p99_over_p50": 0.5}}})",
                   "'compile.jitter.p99_over_p50'", ">= 1"},
        BadProfile{R"({"device_class": "cpu", "compile": {"jitter": {"distribution": "lognormal"}}})",
                   "'compile.jitter.p99_over_p50' is required", "lognormal"},
        BadProfile{R"({"device_class": "cpu", "parallel_slots": 0})", "'parallel_slots'", "integer from 1 to 1024"},
        BadProfile{R"({"device_class": "cpu", "parallel_slots": 2.5})", "'parallel_slots'", "integer from 1"},
        BadProfile{R"({"device_class": "cpu", "batch": {"preferred_size": 0}})", "'batch.preferred_size'",
                   "integer from 1"},
        BadProfile{R"({"device_class": "cpu", "batch": {"efficiency": 1.5}})", "'batch.efficiency'", "<= 1"},
        BadProfile{R"({"device_class": "cpu", "memory_mb": "8GB"})", "'memory_mb'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "supported_ops": ["Convv"]})", "'supported_ops[0]'", "valid ops: "},
        BadProfile{R"({"device_class": "cpu", "supported_ops": "Conv"})", "'supported_ops'", "JSON array"},
        BadProfile{R"({"device_class": "cpu", "supported_ops": []})", "'supported_ops'", "at least one op"},
        BadProfile{R"({"device_class": "cpu", "supported_precisions": ["f32", "fp16"]})",
                   "'supported_precisions[1]'", "f32, f16, bf16"},
        BadProfile{R"({"device_class": "cpu", "slowdowns": [{"start_s": 1, "duration_s": 2, "factor": 0}]})",
                   "'slowdowns[0].factor'", "> 0"},
        BadProfile{R"({"device_class": "cpu", "slowdowns": [{"start_s": 1, "factor": 2}]})",
                   "'slowdowns[0].duration_s' is required", "start_s, duration_s, factor"},
        BadProfile{R"({"device_class": "cpu", "slowdowns": [{"start_s": -1, "duration_s": 1, "factor": 2}]})",
                   "'slowdowns[0].start_s'", ">= 0"},
        BadProfile{R"({"device_class": "cpu", "slowdowns": [{"start_s": 0, "duration_s": 1, "factor": 2, "x": 1}]})",
                   "'slowdowns[0].x'", "start_s, duration_s, factor"},
        BadProfile{R"({"device_class": "cpu", "faults": {"fail_compile": 1}})", "'faults.fail_compile'",
                   "true or false"},
        BadProfile{R"({"device_class": "cpu", "faults": {"fail_inferences": [0]}})", "'faults.fail_inferences[0]'",
                   ">= 1"},
        BadProfile{R"({"device_class": "cpu", "faults": {"fail_probability": 2}})", "'faults.fail_probability'",
                   "<= 1"},
        BadProfile{R"({"device_class": "cpu", "faults": {"hang_inferences": [1, "two"]}})",
                   "'faults.hang_inferences[1]'", ">= 1"},
        BadProfile{R"({"device_class": "cpu", "faults": {"hang_probability": -0.1}})", "'faults.hang_probability'",
                   ">= 0"},
        BadProfile{R"({"device_class": "cpu", "faults": {"disappear_after_s": -5}})", "'faults.disappear_after_s'",
                   ">= 0"},
        BadProfile{R"([1, 2])", "(top level)", "JSON object"}));

TEST(SimProfile, MalformedJsonAndMissingFileAreIoErrors) {
  auto m = error_message([] { parse_profile(R"({"device_class": )", "broken.json"); }, ErrorCode::io);
  EXPECT_NE(m.find("broken.json"), std::string::npos) << m;
  m = error_message([] { load_profile_file("/nonexistent/dir/gpu.json"); }, ErrorCode::io);
  EXPECT_NE(m.find("/nonexistent/dir/gpu.json"), std::string::npos) << m;
}

TEST(SimProfile, TimingModelFormulas) {
  SimProfile p = testing::profile(R"({"name": "m", "device_class": "cpu",
      "latency": {"base_ms": 2, "per_gflop_ms": 10}, "compile": {"fixed_ms": 50, "per_gflop_ms": 3},
      "batch": {"preferred_size": 4, "efficiency": 0.5},
      "slowdowns": [{"start_s": 2, "duration_s": 3, "factor": 4}, {"start_s": 4, "duration_s": 2, "factor": 0.5}]})");
  // batch_work: 1 + (b-1)(1-e) up to P, then linear in whole preferred batches.
  EXPECT_DOUBLE_EQ(p.batch_work(1), 1.0);
  EXPECT_DOUBLE_EQ(p.batch_work(2), 1.5);
  EXPECT_DOUBLE_EQ(p.batch_work(4), 2.5);
  EXPECT_DOUBLE_EQ(p.batch_work(8), 5.0);
  // slowdown windows are [start, start + duration); overlapping ones multiply.
  EXPECT_DOUBLE_EQ(p.slowdown_factor(1.999), 1.0);
  EXPECT_DOUBLE_EQ(p.slowdown_factor(2.0), 4.0);
  EXPECT_DOUBLE_EQ(p.slowdown_factor(4.5), 2.0);
  EXPECT_DOUBLE_EQ(p.slowdown_factor(5.0), 0.5);
  EXPECT_DOUBLE_EQ(p.slowdown_factor(6.0), 1.0);
  EXPECT_DOUBLE_EQ(p.latency_ms(0.5, 1, 0.0, 0.0), 2 + 10 * 0.5);
  EXPECT_DOUBLE_EQ(p.latency_ms(0.5, 4, 0.0, 0.0), 2 + 10 * 0.5 * 2.5);
  EXPECT_DOUBLE_EQ(p.latency_ms(0.5, 1, 3.0, 0.0), 4 * (2 + 10 * 0.5));
  EXPECT_DOUBLE_EQ(p.compile_ms(2.0, 0.0), 50 + 3 * 2.0);
}

TEST(SimProfile, JitterFactors) {
  Jitter none;
  EXPECT_EQ(none.factor(2.0), 1.0);
  Jitter normal{JitterDistribution::normal, 0.1, 1.0};
  EXPECT_DOUBLE_EQ(normal.factor(0.0), 1.0);
  EXPECT_DOUBLE_EQ(normal.factor(2.0), 1.2);
  EXPECT_EQ(normal.factor(-20.0), 0.0);  // truncated at zero
  Jitter lognormal{JitterDistribution::lognormal, 0.0, 2.0};
  EXPECT_DOUBLE_EQ(lognormal.factor(0.0), 1.0);
  EXPECT_NEAR(lognormal.factor(2.3263478740408408), 2.0, 1e-12);  // z of the 99th percentile → the ratio
}

TEST(SimProfile, BuiltinProfiles) {
  const auto builtins = builtin_profiles();
  ASSERT_EQ(builtins.size(), 4u);
  EXPECT_EQ(builtins[0].name, "fast_gpu");
  EXPECT_EQ(builtins[0].device_class, plugin::DeviceClass::discrete_gpu);
  EXPECT_EQ(builtins[1].name, "slow_igpu");
  EXPECT_EQ(builtins[1].device_class, plugin::DeviceClass::integrated_gpu);
  EXPECT_EQ(builtins[2].name, "npu");
  EXPECT_EQ(builtins[2].device_class, plugin::DeviceClass::accelerator);
  EXPECT_FALSE(builtins[2].supported_ops.empty());
  EXPECT_FALSE(builtins[2].supports_precision(ElementType::i64));
  EXPECT_EQ(builtins[3].name, "cpu_like");
  EXPECT_EQ(builtins[3].device_class, plugin::DeviceClass::cpu);
  for (const auto& p : builtins) EXPECT_EQ(p.source, "builtin");
}

TEST(SimProfile, ExampleProfileFileLoads) {
  const auto p = load_profile_file(std::string(AUTOSCHED_SOURCE_DIR) + "/devices/sim/profiles/example_gpu.json");
  EXPECT_EQ(p.name, "example_gpu");
  EXPECT_EQ(p.device_class, plugin::DeviceClass::discrete_gpu);
}

TEST(SimProfile, SplitPathsAtCommasAndColons) {
  EXPECT_EQ(split_profile_paths(" a.json, b.json:c.json ,,:"),
            (std::vector<std::string>{"a.json", "b.json", "c.json"}));
  EXPECT_TRUE(split_profile_paths("").empty());
}

// Temporary profile files, removed at the end of the test.
class SimProfileFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("autosched_sim_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& file, const std::string& json) {
    const auto path = (dir_ / file).string();
    std::ofstream(path) << json;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(SimProfileFiles, FilesAddDevicesAndMayReplaceABuiltin) {
  const auto a = write("alpha.json", R"({"device_class": "cpu"})");
  const auto b = write("beta.json", R"({"name": "npu", "device_class": "cpu"})");
  const auto profiles = load_profiles({a, b, a});  // the repeated path is read once
  ASSERT_EQ(profiles.size(), 5u);
  EXPECT_EQ(profiles[2].name, "npu");
  EXPECT_EQ(profiles[2].source, b);
  EXPECT_EQ(profiles[2].device_class, plugin::DeviceClass::cpu);
  EXPECT_EQ(profiles[4].name, "alpha");
}

TEST_F(SimProfileFiles, TwoFilesWithOneNameAreRejected) {
  const auto a = write("a.json", R"({"name": "same", "device_class": "cpu"})");
  const auto b = write("b.json", R"({"name": "same", "device_class": "cpu"})");
  const auto m = error_message([&] { load_profiles({a, b}); }, ErrorCode::invalid_argument);
  EXPECT_NE(m.find(a), std::string::npos) << m;
  EXPECT_NE(m.find(b), std::string::npos) << m;
  EXPECT_NE(m.find("SIM.same"), std::string::npos) << m;
}

TEST_F(SimProfileFiles, CoreRegistersProfilesFromPropertyAndEnvironment) {
  const auto a = write("from_property.json", R"({"device_class": "discrete_gpu"})");
  const auto b = write("from_env_1.json", R"({"device_class": "cpu"})");
  const auto c = write("from_env_2.json", R"({"device_class": "accelerator"})");
  ASSERT_EQ(::setenv("AUTOSCHED_SIM_PROFILES", (b + ":" + c).c_str(), 1), 0);
  struct Unset {
    ~Unset() { ::unsetenv("AUTOSCHED_SIM_PROFILES"); }
  } unset;
  Core core({sim_profiles({a})});
  const auto devices = core.get_available_devices();
  for (const char* name : {"SIM.fast_gpu", "SIM.slow_igpu", "SIM.npu", "SIM.cpu_like", "SIM.from_property",
                           "SIM.from_env_1", "SIM.from_env_2"})
    EXPECT_NE(std::find(devices.begin(), devices.end(), name), devices.end()) << name;
  EXPECT_EQ(core.get_property("SIM.from_property", "device_class"), "discrete_gpu");
  EXPECT_EQ(core.get_property("SIM.from_env_2", "device_class"), "accelerator");
  EXPECT_EQ(core.get_property("SIM.from_property", "sim_profile"), a);
}

TEST_F(SimProfileFiles, BadFileFailsCoreConstructionNamingFileAndField) {
  const auto bad = write("broken_gpu.json", R"({"device_class": "discrete_gpu", "parallel_slots": -3})");
  auto m = error_message([&] { Core core({sim_profiles({bad})}); }, ErrorCode::invalid_argument);
  EXPECT_NE(m.find(bad), std::string::npos) << m;
  EXPECT_NE(m.find("parallel_slots"), std::string::npos) << m;
  m = error_message([&] { Core core({sim_profiles({(dir_ / "missing.json").string()})}); }, ErrorCode::io);
  EXPECT_NE(m.find("missing.json"), std::string::npos) << m;
}

}  // namespace
}  // namespace autosched::sim
