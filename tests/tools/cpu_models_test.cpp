// End-to-end tests of benchmarks/cpu_models (AUTOSCHED_CPU_MODELS_BIN): short
// runs on builtin:mlp from the builtin and from an ONNX file written by the
// benchmark, its JSON report, the measured or given fp32 peak, its temporary
// folder, and bad inputs. No figure is judged: only that each is there and
// consistent with the others.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "tool_process.hpp"

namespace autosched::tools_test {
namespace {

const std::string kCpuModels = AUTOSCHED_CPU_MODELS_BIN;

// Sets TMPDIR for the child processes started while it lives.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const std::string& dir) {
    if (const char* v = std::getenv("TMPDIR")) saved_ = v;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (saved_) setenv("TMPDIR", saved_->c_str(), 1);
    else unsetenv("TMPDIR");
  }

 private:
  std::optional<std::string> saved_;
};

class CpuModels : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CpuModels, BuiltinAndOnnxRowsOfTheSameModelInTheReport) {
  const std::string tmp = dir_ + "/tmp", report_path = dir_ + "/report.json";
  std::filesystem::create_directory(tmp);
  ProcessResult r;
  {
    ScopedTmpdir scoped(tmp);
    r = run_tool(kCpuModels, {"--models", "mlp", "--seconds", "0.2", "--json", report_path});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fp32 peak: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" measured ("), std::string::npos) << r.out;
  // The ONNX files were written into a folder of their own under TMPDIR, removed at the end.
  EXPECT_TRUE(std::filesystem::is_empty(tmp));

  const auto report = nlohmann::json::parse(read_text(report_path));
  EXPECT_EQ(report.at("schema"), "autosched-cpu-models/1");
  EXPECT_EQ(report.at("fp32_peak").at("source"), "measured");
  EXPECT_GT(report.at("fp32_peak").at("gflops").get<double>(), 0.0);
  EXPECT_GE(report.at("fp32_peak").at("threads").get<int>(), 1);
  EXPECT_FALSE(report.at("fp32_peak").at("isa").get<std::string>().empty());
  EXPECT_TRUE(report.at("hardware").contains("cpu"));
  const auto& rows = report.at("rows");
  ASSERT_EQ(rows.size(), 2u) << rows.dump(2);
  EXPECT_EQ(rows[0].at("source"), "builtin");
  EXPECT_EQ(rows[1].at("source"), "onnx");
  for (const auto& row : rows) {
    SCOPED_TRACE(row.at("source").get<std::string>());
    EXPECT_EQ(row.at("model"), "mlp");
    EXPECT_EQ(row.at("precision"), "f32");
    EXPECT_GT(row.at("read_ms").get<double>(), 0.0);
    const auto& latency = row.at("latency_hint");
    EXPECT_GT(latency.at("compile_ms").get<double>(), 0.0);
    EXPECT_GT(latency.at("first_inference_ms").get<double>(), 0.0);
    EXPECT_GT(latency.at("p50_ms").get<double>(), 0.0);
    EXPECT_GE(latency.at("p99_ms").get<double>(), latency.at("p50_ms").get<double>());
    const auto& throughput = row.at("throughput_hint");
    EXPECT_GE(throughput.at("nireq").get<int>(), 1);
    EXPECT_GT(throughput.at("inferences_per_s").get<double>(), 0.0);
    EXPECT_NE(throughput.at("stream_plan").get<std::string>().find("THROUGHPUT"), std::string::npos);
    EXPECT_GT(row.at("memory").at("weights_bytes").get<double>(), 0.0);
  }
  // The ONNX file holds the same model: the same work per inference and the same weights.
  EXPECT_EQ(rows[0].at("gflop_per_inference"), rows[1].at("gflop_per_inference"));
  EXPECT_EQ(rows[0].at("memory").at("weights_bytes"), rows[1].at("memory").at("weights_bytes"));
}

TEST_F(CpuModels, GivenPeakIsWhatPercentagesAreOf) {
  const std::string report_path = dir_ + "/report.json";
  const auto r = run_tool(kCpuModels, {"--models", "mlp", "--sources", "onnx", "--throughput-only", "--seconds",
                                       "0.2", "--peak-gflops", "100", "--json", report_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fp32 peak: 100.0 GFLOP/s (--peak-gflops)"), std::string::npos) << r.out;
  const auto report = nlohmann::json::parse(read_text(report_path));
  EXPECT_EQ(report.at("fp32_peak").at("source"), "given");
  EXPECT_EQ(report.at("fp32_peak").at("gflops").get<double>(), 100.0);
  EXPECT_FALSE(report.at("fp32_peak").contains("isa"));  // nothing was measured
  const auto& rows = report.at("rows");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("source"), "onnx");
  EXPECT_FALSE(rows[0].contains("latency_hint"));  // --throughput-only
  const auto& throughput = rows[0].at("throughput_hint");
  EXPECT_DOUBLE_EQ(throughput.at("percent_of_peak").get<double>(), throughput.at("gflops").get<double>());
  EXPECT_DOUBLE_EQ(throughput.at("gflops").get<double>(),
                   rows[0].at("gflop_per_inference").get<double>() * throughput.at("inferences_per_s").get<double>());
}

class CpuModelsBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CpuModelsBadInput, FailsWithOneLineNamingWhatIsValid) {
  const auto& input = GetParam();
  const auto r = run_tool(kCpuModels, input.args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const auto err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_NE(err[0].find(input.message), std::string::npos) << err[0];
  EXPECT_NE(err[0].find("usage: cpu_models"), std::string::npos) << err[0];
  EXPECT_TRUE(r.out.empty()) << "nothing runs on bad input: " << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CpuModelsBadInput,
    ::testing::Values(BadInput{{"--models", "mlp,vgg"}, "unknown model 'vgg'; valid: mlp, bert_tiny"},
                      BadInput{{"--sources", "tflite"}, "unknown source 'tflite'; valid: builtin, onnx"},
                      BadInput{{"--seconds", "soon"}, "--seconds 'soon' is not a number >= 0"},
                      BadInput{{"--peak-gflops", "0"}, "--peak-gflops '0' is not a number >= 1"},
                      BadInput{{"--agreement", "10"}, "add --bf16"},
                      BadInput{{"--json"}, "--json needs a value"},
                      BadInput{{"--fast"}, "unknown argument '--fast'"}));

}  // namespace
}  // namespace autosched::tools_test
