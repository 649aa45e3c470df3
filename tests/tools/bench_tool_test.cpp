// End-to-end tests of autosched-bench and autosched-query: short runs on
// builtin:mlp per device, the JSON report's schema, --compare, the SVG plot,
// the trace, single-dash flags and bad inputs. The binaries come from
// $<TARGET_FILE:...> (AUTOSCHED_BENCH_BIN / AUTOSCHED_QUERY_BIN).
//
// Which devices must exist is decided here, not by what happens to be found:
// REF, CPU, the builtin SIM devices, AUTO and MULTI always; OCL.0 whenever an
// OpenCL ICD is installed; plus AUTOSCHED_EXPECT_DEVICES (comma separated).
// A device that should exist but autosched-query does not list fails.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tool_process.hpp"

namespace autosched::tools_test {
namespace {

const std::string kBench = AUTOSCHED_BENCH_BIN;
const std::string kQuery = AUTOSCHED_QUERY_BIN;

bool opencl_icd_installed() {
  if (const char* v = std::getenv("OCL_ICD_VENDORS"); v && *v) return true;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/etc/OpenCL/vendors", ec))
    if (entry.path().extension() == ".icd") return true;
  return false;
}

std::set<std::string> expected_devices() {
  std::set<std::string> expected = {"REF", "CPU", "SIM.fast_gpu", "SIM.cpu_like", "AUTO", "MULTI"};
  if (opencl_icd_installed()) expected.insert("OCL.0");
  if (const char* extra = std::getenv("AUTOSCHED_EXPECT_DEVICES")) {
    std::istringstream in(extra);
    for (std::string d; std::getline(in, d, ',');)
      if (!d.empty()) expected.insert(d);
  }
  return expected;
}

const std::set<std::string>& listed_devices() {
  static const std::set<std::string> devices = [] {
    const auto r = run_tool(kQuery, {"--list"});
    const auto names = lines(r.out);
    return std::set<std::string>(names.begin(), names.end());
  }();
  return devices;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST(QueryTool, ListsEveryExpectedDevice) {
  const auto r = run_tool(kQuery, {"--list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& device : expected_devices())
    EXPECT_TRUE(listed_devices().count(device)) << device << " should exist on this machine but autosched-query "
                                                << "lists only:\n" << r.out;
}

TEST(QueryTool, DescribesDevicesTopologyAndModels) {
  auto r = run_tool(kQuery, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("device_full_name"), std::string::npos) << r.out;
  r = run_tool(kQuery, {"-topology", "-synthetic", "package:2 core:4 pu:2", "-nireq", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("8 cores"), std::string::npos) << r.out;
  for (const char* hint : {"LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT"})
    EXPECT_NE(r.out.find(hint), std::string::npos) << r.out;
  r = run_tool(kQuery, {"--models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("builtin:resnet50"), std::string::npos) << r.out;
}

class QueryExport : public TempDir {};
TEST_F(QueryExport, WritesAnOnnxFileTheBenchReads) {
  const auto onnx = path("mlp.onnx");
  auto r = run_tool(kQuery, {"--export", "builtin:mlp", onnx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_tool(kBench, {"-m", onnx, "-d", "REF", "-niter", "2", "-nireq", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Count            2 inferences"), std::string::npos) << r.out;
}

// One short run per device: report schema, plot and the console summary.
class BenchOnDevice : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_P(BenchOnDevice, OneSecondRunWritesAValidReportAndPlot) {
  const std::string device = GetParam();
  if (!listed_devices().count(device)) {
    ASSERT_FALSE(expected_devices().count(device)) << device << " should exist on this machine but is missing";
    GTEST_SKIP() << device << " is not expected on this machine (no OpenCL ICD installed)";
  }
  const std::string json = dir_ + "/report.json", svg = dir_ + "/plot.svg";
  const auto r = run_tool(kBench, {"-m", "builtin:mlp", "-d", device, "-t", "1", "--json", json, "--plot", svg});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* line : {"Read model", "Compile", "First inference", "Latency", "Throughput", "Per device"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " missing in:\n" << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "no progress bar when stdout is not a terminal";

  const auto report = nlohmann::json::parse(read_text(json));
  EXPECT_EQ(check_report(report), "");
  EXPECT_EQ(report["config"]["device"], device);
  EXPECT_GT(report["results"]["count"].get<long>(), 0);
  EXPECT_GT(report["results"]["throughput_fps"].get<double>(), 0);
  const auto& lat = report["results"]["latency_ms"];
  EXPECT_LE(lat["min"].get<double>(), lat["median"].get<double>());
  EXPECT_LE(lat["median"].get<double>(), lat["p99"].get<double>());
  EXPECT_LE(lat["p99"].get<double>(), lat["max"].get<double>());
  // Every device that ran something is one the scheduler reports using.
  ASSERT_FALSE(report["per_device"].empty());
  for (const auto& d : report["per_device"]) EXPECT_GT(d["count"].get<long>(), 0) << d.dump();
  if (device != "AUTO" && device != "MULTI") {
    ASSERT_EQ(report["per_device"].size(), 1u);
    EXPECT_EQ(report["per_device"][0]["device"], device);
  }
  EXPECT_EQ(check_xml(read_text(svg)), "");
  EXPECT_NE(read_text(svg).find("<svg"), std::string::npos);
  // Memory: the process peak always; the compiled model's own figures where the device reports them.
  EXPECT_NE(r.out.find("Memory"), std::string::npos) << r.out;
  const auto& memory = report["memory"];
  EXPECT_GT(memory["process_peak_rss_bytes"].get<double>(), 0) << memory.dump();
  EXPECT_EQ(memory.contains("weights_bytes"), device == "CPU") << memory.dump();
  if (device == "CPU") {
    EXPECT_GT(memory["weights_bytes"].get<double>(), 0);
    EXPECT_EQ(memory["model_bytes"].get<double>(),
              memory["weights_bytes"].get<double>() +
                  memory["requests"].get<double>() * (memory["activation_bytes_per_request"].get<double>() +
                                                      memory["scratchpad_bytes_per_request"].get<double>()) +
                  memory["batch_activation_bytes"].get<double>());
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, BenchOnDevice,
                         ::testing::Values("REF", "CPU", "OCL.0", "SIM.fast_gpu", "AUTO", "MULTI"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

class BenchTool : public TempDir {};

TEST_F(BenchTool, SingleAndDoubleDashFlagsAreTheSame) {
  for (const auto& flags : std::vector<std::vector<std::string>>{{"-niter", "3", "-nireq", "1", "-api", "sync"},
                                                                  {"--niter", "3", "--nireq=1", "--api", "sync"},
                                                                  {"-niter=3", "-nireq", "1", "-api=sync"}}) {
    std::vector<std::string> args = {"-m", "builtin:mlp", "-d", "SIM.fast_gpu"};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto r = run_tool(kBench, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Count            3 inferences"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("api sync"), std::string::npos) << r.out;
  }
}

TEST_F(BenchTool, CompareTwoReportsPrintsRatios) {
  const std::string a = path("a.json"), b = path("b.json");
  auto r = run_tool(kBench, {"-m", "builtin:mlp", "-d", "SIM.fast_gpu", "-niter", "20", "--json", a});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_tool(kBench, {"-m", "builtin:mlp", "-d", "SIM.cpu_like", "-niter", "20", "--json", b});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_tool(kBench, {"--compare", a, b});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("throughput (inferences/s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency p99 (ms)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SIM.fast_gpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SIM.cpu_like"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x "), std::string::npos) << "a ratio column:\n" << r.out;
  // A file that is JSON but not a report is rejected by name.
  std::ofstream(path("other.json")) << R"({"hello": 1})";
  r = run_tool(kBench, {"--compare", a, path("other.json")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("other.json"), std::string::npos) << r.err;
}

TEST_F(BenchTool, AutoReportsSharesEventsAndTrace) {
  const std::string json = path("auto.json"), trace = path("trace.json");
  const auto r = run_tool(kBench, {"-m", "builtin:mlp", "-d", "AUTO:SIM.fast_gpu,CPU", "-hint", "throughput", "-t",
                                   "1", "--json", json, "--trace", trace});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(read_text(json));
  ASSERT_EQ(check_report(report), "");
  EXPECT_FALSE(report["device_events"].empty()) << "AUTO announces its devices (compiling, ready)";
  std::set<std::string> ran;
  for (const auto& d : report["per_device"]) ran.insert(d["device"].get<std::string>());
  for (const auto& d : ran) EXPECT_TRUE(d == "SIM.fast_gpu" || d == "CPU") << d;
  const auto events = nlohmann::json::parse(read_text(trace));
  ASSERT_TRUE(events.contains("traceEvents")) << events.dump().substr(0, 200);
  EXPECT_GT(events["traceEvents"].size(), 1u);
}

TEST_F(BenchTool, ConcreteDeviceTraceHasASlicePerInference) {
  const std::string trace = path("trace.json");
  const auto r = run_tool(kBench, {"-d", "SIM.fast_gpu", "-niter", "5", "-nireq", "1", "--trace", trace});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto events = nlohmann::json::parse(read_text(trace))["traceEvents"];
  const auto slices = std::count_if(events.begin(), events.end(), [](const auto& e) { return e["ph"] == "X"; });
  EXPECT_EQ(slices, 5);
}

TEST_F(BenchTool, DumpedConfigLoadsBack) {
  const std::string config = path("config.json");
  auto r = run_tool(kBench, {"-d", "SIM.fast_gpu", "-niter", "2", "-hint", "throughput", "-nstreams", "2",
                             "-dump_config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto dumped = nlohmann::json::parse(read_text(config));
  ASSERT_TRUE(dumped.contains("SIM.fast_gpu")) << dumped.dump();
  EXPECT_EQ(dumped["SIM.fast_gpu"]["num_streams"], "2");
  r = run_tool(kBench, {"-d", "SIM.fast_gpu", "-niter", "2", "-load_config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("num_streams=2"), std::string::npos) << r.out;
}

TEST_F(BenchTool, LoadConfigEntriesOfOtherDevicesBecomeDeviceProperties) {
  const std::string config = path("config.json"), json = path("run.json");
  std::ofstream(config) << R"({"MULTI": {"enable_runtime_fallback": true},
                               "CPU": {"num_streams": 1, "inference_num_threads": 1}})";
  auto r = run_tool(kBench, {"-d", "MULTI:SIM.fast_gpu,CPU", "-niter", "4", "-load_config", config, "--json", json});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("properties for CPU go to MULTI as device_properties"), std::string::npos) << r.out;
  const auto report = nlohmann::json::parse(read_text(json));
  const auto effective =
      nlohmann::json::parse(report["effective"]["properties"]["device_properties"].get<std::string>());
  EXPECT_EQ(effective["CPU"]["num_streams"], "1") << effective.dump();
  EXPECT_EQ(effective["CPU"]["inference_num_threads"], "1") << effective.dump();
  EXPECT_FALSE(effective["SIM.fast_gpu"].contains("inference_num_threads")) << effective.dump();

  // An entry for a device that is no candidate is an error naming it.
  std::ofstream(config, std::ios::trunc) << R"({"OCL.9": {"num_streams": 1}})";
  r = run_tool(kBench, {"-d", "MULTI:SIM.fast_gpu,CPU", "-niter", "4", "-load_config", config});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("device_properties entry 'OCL.9' names no candidate device; candidates: SIM.fast_gpu, CPU"),
            std::string::npos)
      << r.err;
}

class BenchBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(BenchBadInput, FailsWithOneLineNamingWhatIsValid) {
  const auto& input = GetParam();
  const auto r = run_tool(kBench, input.args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 128) << "killed by a signal: " << r.err;
  const auto err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_NE(err[0].find(input.message), std::string::npos) << err[0];
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, BenchBadInput,
    ::testing::Values(BadInput{{"--no_such_flag"}, "--no_such_flag"},
                      BadInput{{"-m", "builtin:nope", "-niter", "1"}, "valid builtins: mlp"},
                      BadInput{{"-m", "/no/such/model.onnx", "-niter", "1"}, "does not exist"},
                      BadInput{{"-d", "NO_SUCH_DEVICE", "-niter", "1"}, "available devices: "},
                      BadInput{{"-hint", "fastest"}, "latency,throughput,cumulative_throughput,none"},
                      BadInput{{"-nireq", "0"}, "'0' is not a number > 0"},
                      BadInput{{"-d", "REF", "-nthreads", "2", "-niter", "1"}, "it supports: "},
                      BadInput{{"-d", "REF", "-infer_precision", "int3", "-niter", "1"}, "allowed: f32"},
                      BadInput{{"-d", "REF", "-shape", "[1,2]", "-niter", "1"}, "does not fit input"},
                      BadInput{{"-d", "REF", "-b", "4", "-niter", "1"}, "-b needs a dynamic first dimension"},
                      BadInput{{"-d", "AUTO", "-policy", "nosuch", "-niter", "1"}, "available: "},
                      BadInput{{"--compare", "/no/a.json", "/no/b.json"}, "cannot read '/no/a.json'"}));

TEST(QueryToolBadInput, UnknownDeviceAndFlag) {
  auto r = run_tool(kQuery, {"-d", "NOPE"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("available: "), std::string::npos) << r.err;
  r = run_tool(kQuery, {"--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  r = run_tool(kQuery, {"--synthetic", "not a topology"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
}

// The checkers themselves must reject what they exist to catch.
TEST(ToolCheckers, XmlCheckerRejectsBrokenDocuments) {
  EXPECT_EQ(check_xml("<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><rect/></g><text>a &amp; b</text></svg>\n"), "");
  EXPECT_NE(check_xml("<svg><g></svg>"), "");
  EXPECT_NE(check_xml("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(check_xml("<svg></svg><svg></svg>"), "");
  EXPECT_NE(check_xml("<svg a=\"1></svg>"), "");
  EXPECT_NE(check_xml(""), "");
}

TEST(ToolCheckers, ReportCheckerRejectsMissingKeys) {
  EXPECT_NE(check_report(nlohmann::json::object()), "");
  EXPECT_NE(check_report(nlohmann::json{{"schema", "autosched-bench/1"}}), "");
}

}  // namespace
}  // namespace autosched::tools_test
