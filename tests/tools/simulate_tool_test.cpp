// autosched-simulate end to end, run as a child process: exact throughput on
// the virtual clock, shares that add up, identical JSON for one seed,
// failures re-routed, and bad input (exit code 2 with what is valid). The
// policy is a test library loaded by path (AUTOSCHED_SIM_TEST_POLICY), so the
// tests do not depend on which built-in policies a build has.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tool_process.hpp"

namespace autosched::tools_test {
namespace {

const std::string kSimulate = AUTOSCHED_SIMULATE_BIN;
const std::string kPolicy = AUTOSCHED_SIM_TEST_POLICY;

class SimulateTool : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    // 2 ms per request, exactly (no jitter), 4 at once: 2000 requests/s.
    write("fixed.json", R"({"name": "fixed", "device_class": "cpu", "latency": {"base_ms": 2}, "parallel_slots": 4})");
    write("flaky.json", R"({"name": "flaky", "device_class": "accelerator", "latency": {"base_ms": 1},
                            "parallel_slots": 2, "faults": {"fail_probability": 0.05}})");
    profiles_ = path("fixed.json") + "," + path("flaky.json");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }

  // Runs the tool with --json and returns the document (null when the run failed).
  nlohmann::json run_json(std::vector<std::string> args, const std::string& json_name = "out.json") {
    args.push_back("--json");
    args.push_back(path(json_name));
    last_ = run_tool(kSimulate, args);
    if (last_.exit_code != 0) return nullptr;
    return nlohmann::json::parse(read_text(path(json_name)));
  }

  std::string dir_, profiles_;
  ProcessResult last_;
};

TEST_F(SimulateTool, OneFixedLatencyDeviceRunsAtExactlySlotsOverLatency) {
  const auto doc = run_json({"--fleet", "SIM.fixed", "--profiles", profiles_, "--policy", kPolicy, "--gflops", "0",
                             "--arrivals", "closed:4", "--requests", "10000"});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  EXPECT_EQ(doc["schema"], "autosched-simulate/1");
  const auto& r = doc["runs"][0]["results"];
  EXPECT_EQ(doc["runs"][0]["policy"], "first_free");
  EXPECT_EQ(r["completed"].get<std::uint64_t>(), 10000u);
  EXPECT_NEAR(r["throughput_per_s"].get<double>(), 2000.0, 20.0);  // S / L = 4 / 2 ms, ±1 %
  EXPECT_NEAR(r["oracle_per_s"].get<double>(), 2000.0, 1e-9);
  EXPECT_NEAR(r["oracle_pct"].get<double>(), 100.0, 1.0);
  EXPECT_DOUBLE_EQ(r["duration_s"].get<double>(), 10000 / 4 * 0.002);
  // As many clients as slots: no request ever waits.
  EXPECT_DOUBLE_EQ(r["latency_ms"]["p50"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(r["latency_ms"]["p99"].get<double>(), 2.0);
  EXPECT_EQ(last_.err.find('\r'), std::string::npos) << "no progress when stderr is not a terminal";
  EXPECT_NE(last_.out.find("% of the oracle"), std::string::npos) << last_.out;
}

TEST_F(SimulateTool, TwiceTheClientsWaitExactlyOneLatency) {
  const auto doc = run_json({"--fleet", "SIM.fixed", "--profiles", profiles_, "--policy", kPolicy, "--gflops", "0",
                             "--arrivals", "closed:8", "--requests", "1000", "--latency_budget_ms", "3"});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  const auto& r = doc["runs"][0]["results"];
  EXPECT_NEAR(r["throughput_per_s"].get<double>(), 2000.0, 20.0);
  EXPECT_DOUBLE_EQ(r["latency_ms"]["p50"].get<double>(), 4.0);  // one round queued, one running
  // Only the first four (no queue yet) finish within 3 ms.
  EXPECT_EQ(r["slo"]["within_budget"].get<std::uint64_t>(), 4u);
  EXPECT_DOUBLE_EQ(r["slo"]["attainment"].get<double>(), 4.0 / 1000.0);
}

TEST_F(SimulateTool, APoissonRateMayBeAPercentageOfTheOracle) {
  const auto doc = run_json({"--fleet", "SIM.fixed", "--profiles", profiles_, "--policy", kPolicy, "--gflops", "0",
                             "--arrivals", "poisson:50%", "--requests", "20000"});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  EXPECT_EQ(doc["config"]["arrivals"], "poisson:1000");
  EXPECT_NEAR(doc["runs"][0]["results"]["throughput_per_s"].get<double>(), 1000.0, 30.0);
}

TEST_F(SimulateTool, PerDeviceSharesSumToTheRequestCount) {
  const auto doc = run_json({"--fleet", "SIM.fixed*2,SIM.cpu_like,SIM.fast_gpu", "--profiles", profiles_, "--policy",
                             kPolicy, "--gflops", "1", "--arrivals", "poisson:3000", "--requests", "20000",
                             "--buckets", "7"});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  const auto& run = doc["runs"][0];
  EXPECT_EQ(run["results"]["completed"].get<std::uint64_t>(), 20000u);
  ASSERT_EQ(run["devices"].size(), 4u);
  EXPECT_EQ(run["devices"][0]["name"], "SIM.fixed#1");
  EXPECT_EQ(run["devices"][1]["name"], "SIM.fixed#2");
  EXPECT_EQ(run["devices"][2]["name"], "SIM.cpu_like");
  std::uint64_t sum = 0;
  double shares = 0;
  for (const auto& d : run["devices"]) {
    const auto completed = d["completed"].get<std::uint64_t>();
    sum += completed;
    shares += d["share"].get<double>();
    ASSERT_EQ(d["timeline"].size(), 7u);
    std::uint64_t over_time = 0;
    for (const auto& n : d["timeline"]) over_time += n.get<std::uint64_t>();
    EXPECT_EQ(over_time, completed) << d["name"];
  }
  EXPECT_EQ(sum, 20000u);
  EXPECT_NEAR(shares, 1.0, 1e-9);
}

TEST_F(SimulateTool, TheSameSeedGivesIdenticalJson) {
  const std::vector<std::string> args = {"--fleet", "SIM.fast_gpu*3,SIM.cpu_like,SIM.flaky", "--profiles", profiles_,
                                         "--policy", kPolicy, "--gflops", "2", "--arrivals", "poisson:2500",
                                         "--requests", "20000", "--latency_budget_ms", "5"};
  auto with_seed = [&](const char* seed, const char* name) {
    auto a = args;
    a.insert(a.end(), {"--seed", seed});
    return run_json(a, name);
  };
  ASSERT_FALSE(with_seed("7", "a.json").is_null()) << last_.err;
  ASSERT_FALSE(with_seed("7", "b.json").is_null()) << last_.err;
  ASSERT_FALSE(with_seed("8", "c.json").is_null()) << last_.err;
  EXPECT_EQ(read_text(path("a.json")), read_text(path("b.json")));
  EXPECT_NE(read_text(path("a.json")), read_text(path("c.json"))) << "the seed should change the arrivals";
}

TEST_F(SimulateTool, AFailingDeviceIsQuarantinedAndItsRequestsRerouted) {
  const auto doc = run_json({"--fleet", "SIM.fixed,SIM.flaky", "--profiles", profiles_, "--policy", kPolicy,
                             "--gflops", "0", "--arrivals", "closed:12", "--requests", "20000"});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  const auto& r = doc["runs"][0]["results"];
  const auto& flaky = doc["runs"][0]["devices"][1];
  EXPECT_EQ(r["completed"].get<std::uint64_t>(), 20000u) << "every failure is retried on the healthy device";
  EXPECT_EQ(r["failed"].get<std::uint64_t>(), 0u);
  EXPECT_GT(flaky["failed"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(r["retries"].get<std::uint64_t>(), flaky["failed"].get<std::uint64_t>());
  EXPECT_GT(flaky["quarantines"].get<std::uint64_t>(), 0u);
  EXPECT_LE(flaky["quarantines"].get<std::uint64_t>(), flaky["failed"].get<std::uint64_t>());
  EXPECT_GT(flaky["completed"].get<std::uint64_t>(), 0u) << "re-admitted after a successful probe";
}

TEST_F(SimulateTool, ComparePoliciesPrintsOneTableRowPerPolicy) {
  const auto doc = run_json({"--fleet", "SIM.fixed,SIM.cpu_like", "--profiles", profiles_, "--gflops", "1",
                             "--requests", "2000", "--compare-policies", kPolicy + "," + kPolicy});
  ASSERT_FALSE(doc.is_null()) << last_.err;
  EXPECT_EQ(doc["runs"].size(), 2u);
  EXPECT_NE(last_.out.find("| policy | throughput /s | % of oracle | p50 ms | p99 ms |"), std::string::npos)
      << last_.out;
  std::size_t rows = 0;
  for (const auto& line : lines(last_.out)) rows += line.rfind("| first_free |", 0) == 0;
  EXPECT_EQ(rows, 2u) << last_.out;
}

TEST_F(SimulateTool, ABadFleetExitsWith2AndListsTheValidDevices) {
  for (const std::string fleet : {"SIM.nope*2", "SIM.fast_gpu*0", "SIM.fast_gpu*x", "SIM.fast_gpu,,SIM.cpu_like", ""}) {
    const auto r = run_tool(kSimulate, {"--fleet", fleet, "--policy", kPolicy, "--gflops", "1"});
    EXPECT_EQ(r.exit_code, 2) << fleet << ": " << r.err;
    EXPECT_NE(r.err.find("--fleet"), std::string::npos) << r.err;
    if (fleet == "SIM.nope*2" || fleet.empty()) {
      if (!fleet.empty()) {
        EXPECT_NE(r.err.find("'SIM.nope'"), std::string::npos) << r.err;
      }
      for (const char* valid : {"SIM.fast_gpu", "SIM.slow_igpu", "SIM.npu", "SIM.cpu_like"})
        EXPECT_NE(r.err.find(valid), std::string::npos) << valid << " not listed in: " << r.err;
    }
  }
  // Too many devices for one fleet.
  const auto r = run_tool(kSimulate, {"--fleet", "SIM.fast_gpu*40,SIM.cpu_like*40", "--gflops", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("at most 64"), std::string::npos) << r.err;
}

TEST_F(SimulateTool, AnUnknownPolicyExitsWith2AndListsTheValidOnes) {
  const auto listed = run_tool(kSimulate, {"--list-policies"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto r = run_tool(kSimulate, {"--fleet", "SIM.cpu_like", "--policy", "no_such_policy", "--gflops", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown policy 'no_such_policy'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("available:"), std::string::npos) << r.err;
  for (const auto& name : lines(listed.out)) EXPECT_NE(r.err.find(name), std::string::npos) << name << ": " << r.err;
  // A library that does not exist names the path.
  const auto lib = run_tool(kSimulate, {"--fleet", "SIM.cpu_like", "--policy", path("missing.so"), "--gflops", "1"});
  EXPECT_EQ(lib.exit_code, 2) << lib.err;
  EXPECT_NE(lib.err.find("missing.so"), std::string::npos) << lib.err;
}

TEST_F(SimulateTool, OtherBadInputExitsWith2NamingWhatIsValid) {
  struct Case {
    std::vector<std::string> args;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {{"--arrivals", "uniform:3"}, "poisson:RATE"},
      {{"--arrivals", "poisson:-1"}, "RATE must be a number > 0"},
      {{"--arrivals", "closed:0"}, "CLIENTS must be an integer"},
      {{"--model", "builtin:nope"}, "resnet50"},
      {{"--model", "/no/such/model.onnx"}, "does not exist"},
      {{"--gflops", "1", "--model", "builtin:mlp"}, "use one"},
      {{"--reject"}, "--reject needs --latency_budget_ms"},
      {{"--profiles", "/no/such/profile.json"}, "/no/such/profile.json"},
      {{"--buckets", "0"}, "--buckets"},
      {{"--no-such-flag"}, "no-such-flag"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--fleet", "SIM.cpu_like", "--policy", kPolicy};
    if (std::find(c.args.begin(), c.args.end(), "--model") == c.args.end()) args.insert(args.end(), {"--gflops", "1"});
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_tool(kSimulate, args);
    EXPECT_EQ(r.exit_code, 2) << c.args.front() << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.expected << " not in: " << r.err;
  }
}

TEST_F(SimulateTool, ListsTheDevicesAFleetMayUse) {
  const auto r = run_tool(kSimulate, {"--list-devices", "--profiles", profiles_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"SIM.fast_gpu", "SIM.cpu_like", "SIM.fixed", "SIM.flaky"})
    EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

}  // namespace
}  // namespace autosched::tools_test
