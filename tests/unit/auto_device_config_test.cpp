// AUTO / MULTI per-device configuration (device_properties): both spellings
// parse to the same entries, malformed text is reported with its position,
// each entry's properties are checked, each candidate compiles with the shared
// properties overlaid with its own entry only, an entry naming no candidate
// fails before anything compiles, and the compiled model reports what each
// candidate got.
#include <gtest/gtest.h>

#include "scheduler/device_config.hpp"
#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using scheduler::DeviceConfig;
using scheduler::DeviceEntries;
using scheduler::parse_device_properties;

// The message of the Error(invalid_argument) that `f` throws ("" and a failure otherwise).
template <class F> std::string invalid_argument_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(AutoDeviceConfig, BraceFormAndJsonParseToTheSameEntries) {
  const DeviceEntries expected = {{"CPU", {{"num_streams", "2"}, {"inference_num_threads", "1"}}},
                                  {"OCL.0", {{"ocl_compute_units", "1"}}}};
  EXPECT_EQ(parse_device_properties("CPU:{num_streams:2,inference_num_threads:1},OCL.0:{ocl_compute_units:1}"),
            expected);
  EXPECT_EQ(parse_device_properties(" { CPU : { num_streams : 2 , inference_num_threads:1 } ,\n"
                                    "   OCL.0:{ocl_compute_units: 1} } "),
            expected);
  EXPECT_EQ(parse_device_properties(
                R"({"CPU": {"num_streams": 2, "inference_num_threads": "1"}, "OCL.0": {"ocl_compute_units": 1}})"),
            expected);
  for (const char* empty : {"", "  ", "{}", " { } "}) EXPECT_TRUE(parse_device_properties(empty).empty()) << empty;
  EXPECT_EQ(parse_device_properties("CPU:{}"), (DeviceEntries{{"CPU", {}}}));
}

TEST(AutoDeviceConfig, ValuesKeepTheirTextQuotedOrTyped) {
  auto entries = parse_device_properties(R"(CPU:{cache_dir:"/tmp/a,b}c",enable_cpu_pinning:true},)"
                                         R"(SIM.x:{sim_profiles:"a.json,b.json"})");
  EXPECT_EQ(entries["CPU"]["cache_dir"], "/tmp/a,b}c");
  EXPECT_EQ(entries["CPU"]["enable_cpu_pinning"], "true");
  EXPECT_EQ(entries["SIM.x"]["sim_profiles"], "a.json,b.json");
  entries = parse_device_properties(
      R"({"CPU": {"enable_cpu_pinning": false, "latency_budget_ms": 2.5, "sim_profiles": ["a.json", "b.json"]}})");
  EXPECT_EQ(entries["CPU"]["enable_cpu_pinning"], "false");
  EXPECT_EQ(entries["CPU"]["latency_budget_ms"], "2.5");
  EXPECT_EQ(entries["CPU"]["sim_profiles"], "a.json,b.json");
}

TEST(AutoDeviceConfig, MalformedTextNamesThePositionAndWhatWasExpected) {
  const std::pair<const char*, std::vector<const char*>> cases[] = {
      {"CPU{num_streams:2}", {"character 4 ('{num_streams", "expected ':' after the device name 'CPU'"}},
      {"CPU:num_streams:2", {"character 5", "expected '{' opening the properties of CPU"}},
      {"CPU:{num_streams 2}", {"character 18", "expected ':' after the property name 'num_streams' of CPU"}},
      {"CPU:{num_streams:2", {"at the end of the text", "',' or the '}' closing the properties of CPU"}},
      {"CPU:{num_streams:}", {"character 18", "expected a value for CPU.num_streams"}},
      {"CPU:{num_streams:2} OCL.0:{}", {"character 21", "expected ',' before the next device"}},
      {"CPU:{cache_dir:\"/tmp}", {"character 16", "unterminated quoted value of CPU.cache_dir"}},
      {"CPU:{num_streams:{2}}", {"character 18", "unexpected '{'"}},
      {"CPU:{num_streams:2},CPU:{num_streams:3}", {"character 21", "device 'CPU' is given twice"}},
      {"CPU:{num_streams:2,num_streams:3}", {"property 'num_streams' of CPU is given twice"}},
      {R"({"CPU": {"num_streams": 2})", {"malformed JSON at character 27", "DEVICE:{key:value"}},
      {R"({"CPU": {"num_streams": 2}, "CPU": {}})", {"device 'CPU' is given twice"}},
      {R"({"CPU": {"num_streams": 2, "num_streams": 3}})", {"property 'num_streams' of CPU is given twice"}},
      {R"({"CPU": 2})", {"the value of 'CPU' must be an object of properties"}},
      {R"({"CPU": {"num_streams": null}})", {"the value of CPU.num_streams must be a string, number"}},
  };
  for (const auto& [text, parts] : cases) {
    const auto message = invalid_argument_of([&text = text] { parse_device_properties(text); });
    for (const char* part : parts) EXPECT_HAS(message, part) << "for: " << text;
    EXPECT_HAS(message, "device_properties") << "for: " << text;
  }
}

TEST(AutoDeviceConfig, EachEntrysPropertiesAreChecked) {
  auto message = invalid_argument_of([] { parse_device_properties("CPU:{num_streams:0}"); });
  EXPECT_HAS(message, "entry of CPU");
  EXPECT_HAS(message, "num_streams");
  message = invalid_argument_of([] { parse_device_properties("OCL.0:{nm_streams:2}"); });
  EXPECT_HAS(message, "entry of OCL.0");
  EXPECT_HAS(message, "unknown property 'nm_streams'");
  message = invalid_argument_of([] { parse_device_properties("CPU:{schedule_policy:latency}"); });
  EXPECT_HAS(message, "sets 'schedule_policy', which steers AUTO / MULTI");
  message = invalid_argument_of([] { parse_device_properties(R"(CPU:{device_properties:"X:{}"})"); });
  EXPECT_HAS(message, "sets 'device_properties'");
}

TEST(AutoDeviceConfig, ThePropertyIsValidatedLikeEveryOther) {
  EXPECT_NO_THROW(validate_properties({device_properties("CPU:{num_streams:2}")}));
  const auto message =
      invalid_argument_of([] { validate_properties({device_properties("CPU:{num_streams:2")}); });
  EXPECT_HAS(message, "at the end of the text");
}

// A device with aliases, for name resolution (FAKE devices have none).
class AliasedDevice : public plugin::IDevice {
 public:
  std::string name() const override { return "OCL.0"; }
  std::vector<std::string> aliases() const override { return {"GPU", "GPU.0"}; }
  plugin::DeviceClass device_class() const override { return plugin::DeviceClass::discrete_gpu; }
  std::vector<std::string> capabilities() const override { return {"FP32"}; }
  std::set<std::string> query_model(const Model&) const override { return {}; }
  std::shared_ptr<plugin::ICompiledModel> compile(const Model&, const Properties&) override { return nullptr; }
};

TEST(AutoDeviceConfig, EntriesResolveByNameOrAliasOverTheSharedProperties) {
  const std::vector<scheduler::Candidate> candidates = {
      {std::make_shared<AliasedDevice>(), "OCL.0", 0},
      {make_fake_device("CPU", plugin::DeviceClass::cpu), "CPU", 2}};
  const Properties shared = {{"num_streams", "4"}, {"cache_dir", "/c"}};
  const DeviceConfig config(shared, parse_device_properties("GPU:{num_streams:1,ocl_compute_units:2},CPU:{}"),
                            candidates, "AUTO");
  EXPECT_EQ(config.for_device("OCL.0"),
            (Properties{{"num_streams", "1"}, {"cache_dir", "/c"}, {"ocl_compute_units", "2"}}));
  EXPECT_EQ(config.for_device("CPU"), shared);
  // JSON in candidate order; it parses back as device_properties.
  const auto json = config.effective_json({"OCL.0", "CPU"});
  EXPECT_LT(json.find("OCL.0"), json.find("CPU")) << json;
  EXPECT_EQ(parse_device_properties(json)["OCL.0"], config.for_device("OCL.0"));

  auto message = invalid_argument_of(
      [&] { DeviceConfig(shared, parse_device_properties("GPU:{num_streams:1},OCL.0:{}"), candidates, "AUTO"); });
  EXPECT_HAS(message, "entries 'GPU' and 'OCL.0' both name OCL.0");
  message = invalid_argument_of(
      [&] { DeviceConfig(shared, parse_device_properties("CPU(2):{num_streams:1}"), candidates, "AUTO"); });
  EXPECT_HAS(message, "AUTO: device_properties entry 'CPU(2)' names no candidate device; candidates: OCL.0, CPU");
}

class AutoDeviceConfigCompile : public ::testing::Test {
 protected:
  void SetUp() override { reset_fakes(); }
  void TearDown() override { reset_fakes(); }
};

TEST_F(AutoDeviceConfigCompile, EachCandidateCompilesWithItsOwnEntryOnly) {
  Core core;
  auto compiled = core.compile_model(
      identity_model(), "MULTI:FAKE.gpu,FAKE.cpu",
      {{"num_streams", "2"}, {"cache_dir", "/tmp/shared"},
       device_properties("FAKE.gpu:{num_streams:3},FAKE.cpu:{inference_num_threads:1,performance_mode:LATENCY}")});
  const auto gpu = fake("gpu").compile_properties();
  const auto cpu = fake("cpu").compile_properties();
  EXPECT_EQ(gpu.at("num_streams"), "3");
  EXPECT_EQ(gpu.at("cache_dir"), "/tmp/shared");
  EXPECT_EQ(gpu.at("performance_mode"), "THROUGHPUT");  // MULTI's per-device mode
  EXPECT_EQ(gpu.count("inference_num_threads"), 0u);
  EXPECT_EQ(gpu.count("device_properties"), 0u) << "AUTO / MULTI consume it";
  EXPECT_EQ(cpu.at("num_streams"), "2");
  EXPECT_EQ(cpu.at("inference_num_threads"), "1");
  EXPECT_EQ(cpu.at("performance_mode"), "LATENCY") << "an entry overrides even the hint's per-device mode";
  EXPECT_EQ(cpu.count("device_properties"), 0u);

  // The compiled model reports what each candidate got, in priority order.
  const auto effective = parse_device_properties(compiled.get_property("device_properties"));
  EXPECT_EQ(effective.at("FAKE.gpu"), gpu);
  EXPECT_EQ(effective.at("FAKE.cpu"), cpu);
  const auto supported = compiled.get_property(supported_properties);
  EXPECT_NE(std::find(supported.begin(), supported.end(), "device_properties"), supported.end());
}

TEST_F(AutoDeviceConfigCompile, JsonSpellingWorksThroughCompileModel) {
  Core core;
  core.compile_model(identity_model(), "MULTI:FAKE.gpu,FAKE.cpu",
                     {device_properties(R"({"FAKE.cpu": {"num_streams": 5}})")});
  EXPECT_EQ(fake("cpu").compile_properties().at("num_streams"), "5");
  EXPECT_EQ(fake("gpu").compile_properties().count("num_streams"), 0u);
}

TEST_F(AutoDeviceConfigCompile, AnEntryNamingNoCandidateFailsBeforeAnyCompile) {
  Core core;
  const auto message = invalid_argument_of([&] {
    core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                       {device_properties("FAKE.cpu:{num_streams:1},FAKE.npu:{num_streams:1}")});
  });
  EXPECT_HAS(message, "'FAKE.npu'");
  EXPECT_HAS(message, "candidates: FAKE.gpu, FAKE.cpu");
  EXPECT_EQ(fake("gpu").compiles + fake("cpu").compiles, 0);
}

TEST_F(AutoDeviceConfigCompile, MalformedTextFailsAtCompileModel) {
  Core core;
  const auto message = invalid_argument_of([&] {
    core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu", {device_properties("FAKE.cpu:{num_streams:2")});
  });
  EXPECT_HAS(message, "at the end of the text");
  EXPECT_EQ(fake("gpu").compiles + fake("cpu").compiles, 0);
}

TEST_F(AutoDeviceConfigCompile, TheCacheQueryOfTheTargetSeesTheTargetsEntry) {
  fake("gpu").compile_cached = true;
  Core core;
  auto compiled = core.compile_model(identity_model(), "AUTO:FAKE.gpu,FAKE.cpu",
                                     {device_properties("FAKE.gpu:{cache_dir:/tmp/gpu_cache}")});
  EXPECT_EQ(fake("gpu").cache_query_properties().at("cache_dir"), "/tmp/gpu_cache");
  EXPECT_EQ(fake("gpu").compile_properties().at("cache_dir"), "/tmp/gpu_cache");
  EXPECT_EQ(fake("cpu").compiles, 0) << "a cache hit skips the CPU helper";
  EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"FAKE.gpu"});
}

TEST_F(AutoDeviceConfigCompile, TheRealCpuDeviceTakesItsStreamCount) {
  Core core;
  auto plain = core.compile_model(identity_model(), "AUTO:CPU");
  auto two = core.compile_model(identity_model(), "AUTO:CPU", {device_properties("CPU:{num_streams:2}")});
  EXPECT_EQ(plain.get_property(optimal_number_of_infer_requests), 1);
  EXPECT_EQ(two.get_property(optimal_number_of_infer_requests), 2);
  auto request = two.create_infer_request();
  request.infer();
}

}  // namespace
}  // namespace autosched::testing
