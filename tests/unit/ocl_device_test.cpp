// The OCL device on PoCL (or whatever OpenCL device the machine has):
// enumeration and properties, builtin models against REF, the program-binary
// cache (hit on the second compile, corrupt files rebuilt), sub-devices,
// parallel slots, and two process-level cases run as child processes of this
// binary with their own environment: no OpenCL platform at all
// (OCL_ICD_VENDORS = an empty folder) and a really cold compile
// (POCL_CACHE_DIR = an empty folder).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "model/zoo/graph_builder.hpp"
#include "ocl_test_support.hpp"

namespace fs = std::filesystem;

namespace autosched::ocl_test {
namespace {

// A small model of own kernels only (no CLBlast GEMM, so its compile does not
// depend on CLBlast's kernel compilation).
Model small_model() {
  zoo::GraphBuilder b("ocl_small", 21);
  const auto x = b.add_input("x", {1, 4, 6, 6});
  const auto dw = b.conv_bn(x, "dw", 4, 4, 3, 1, 4, zoo::Activation::relu6);
  b.add_output(b.add_node("Add", {b.add_node("GlobalAveragePool", {dw}, {}, "gap"), b.add_scalar("one", 1.0f)}, {},
                          "out"));
  return Model(b.finish());
}

std::int64_t device_int(const std::string& name) {
  return from_property_string<std::int64_t>(name, core().get_property("OCL.0", name));
}

// Runs this test binary's `test` in a child process with extra environment
// variables; returns its exit status (0 = the child test passed).
int run_child(const std::string& test, const std::vector<std::string>& env_overrides) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const std::string filter = "--gtest_filter=" + test;
  std::vector<std::string> env_strings = env_overrides;
  env_strings.push_back("AUTOSCHED_OCL_CHILD=1");
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);  // overrides come first and win
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {self, filter, "--gtest_also_run_disabled_tests"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execve(self.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool in_child() { return std::getenv("AUTOSCHED_OCL_CHILD") != nullptr; }

TEST(OclDevice, EnumeratesTheOpenClDeviceWithProperties) {
  AUTOSCHED_REQUIRE_OCL();
  EXPECT_FALSE(core().get_property("OCL.0", "device_full_name").empty());
  EXPECT_FALSE(core().get_property("OCL.0", "device_vendor").empty());
  EXPECT_GE(device_int("ocl_compute_units"), 1);
  EXPECT_GT(device_int("ocl_global_memory"), 0);
  EXPECT_GT(device_int("ocl_local_memory"), 0);
  EXPECT_EQ(core().get_property("OCL.0", "ocl_opencl_c_version").rfind("OpenCL C ", 0), 0u);
  for (const char* flag : {"ocl_fp16", "ocl_fp64", "ocl_unified_memory", "ocl_sub_devices"})
    EXPECT_NO_THROW(from_property_string<bool>(flag, core().get_property("OCL.0", flag))) << flag;
  const std::string cls = core().get_property("OCL.0", "device_class");
  const std::string name = core().get_property("OCL.0", "device_full_name");
  if (name.find("pthread") != std::string::npos || name.find("cpu") != std::string::npos) {
    EXPECT_EQ(cls, "accelerator") << "PoCL's CPU device is not GPU-typed";
  } else {
    EXPECT_TRUE(cls == "discrete_gpu" || cls == "integrated_gpu" || cls == "accelerator") << cls;
  }
  EXPECT_EQ(core().get_property("OCL.0", "device_capabilities"), "FP32");
}

TEST(OclDevice, BuiltinMlpMatchesReference) {
  AUTOSCHED_REQUIRE_OCL();
  expect_matches_reference(core().read_model("builtin:mlp"));
}

TEST(OclDevice, BuiltinBertTinyMatchesReference) {
  AUTOSCHED_REQUIRE_OCL();
  expect_matches_reference(core().read_model("builtin:bert_tiny"));
}

TEST(OclDevice, SecondCompileLoadsTheProgramBinaryFromTheCache) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir dir("ocl_cache");
  const Model model = small_model();
  const Properties props = {{"cache_dir", dir.path()}};
  const auto inputs = make_inputs(model);
  const auto expected = run(model, "REF", inputs);

  auto first = core().compile_model(model, "OCL.0", props);
  EXPECT_EQ(first.get_property("ocl_program_cache"), "miss");
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) files += entry.path().extension() == ".bin";
  EXPECT_EQ(files, 1u) << "one program binary stored in " << dir.path();

  const std::int64_t hits_before = device_int("ocl_cache_hits");
  auto second = core().compile_model(model, "OCL.0", props);
  EXPECT_EQ(second.get_property("ocl_program_cache"), "hit");
  EXPECT_EQ(device_int("ocl_cache_hits"), hits_before + 1);
  expect_close(expected, run(second, inputs), model.outputs());
}

TEST(OclDevice, CorruptOrStaleCacheFileIsRebuilt) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir dir("ocl_cache_corrupt");
  const Model model = small_model();
  const Properties props = {{"cache_dir", dir.path()}};
  const auto inputs = make_inputs(model);
  const auto expected = run(model, "REF", inputs);
  core().compile_model(model, "OCL.0", props);
  fs::path file;
  for (const auto& entry : fs::directory_iterator(dir.path())) file = entry.path();
  ASSERT_FALSE(file.empty());

  const std::vector<std::pair<std::string, std::function<void(std::string&)>>> corruptions = {
      {"payload byte flipped", [](std::string& d) { d.back() = char(d.back() ^ 0x5a); }},
      {"truncated", [](std::string& d) { d.resize(d.size() / 2); }},
      {"bad header", [](std::string& d) { d.replace(0, 8, "GARBAGE!"); }},
      {"stale key", [](std::string& d) { d[20] = char(d[20] ^ 0x01); }},
      {"empty", [](std::string& d) { d.clear(); }},
  };
  for (const auto& [what, corrupt] : corruptions) {
    std::string data;
    {
      std::ifstream in(file, std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(in), {});
    }
    corrupt(data);
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(data.data(), std::streamsize(data.size()));
    const std::int64_t rebuilt_before = device_int("ocl_cache_rebuilt");
    auto compiled = core().compile_model(model, "OCL.0", props);
    EXPECT_EQ(compiled.get_property("ocl_program_cache"), "rebuilt") << what;
    EXPECT_EQ(device_int("ocl_cache_rebuilt"), rebuilt_before + 1) << what;
    expect_close(expected, run(compiled, inputs), model.outputs());
    auto again = core().compile_model(model, "OCL.0", props);
    EXPECT_EQ(again.get_property("ocl_program_cache"), "hit") << what << ": the rebuilt binary was stored";
  }
}

TEST(OclDevice, SubDeviceWithOneComputeUnit) {
  AUTOSCHED_REQUIRE_OCL();
  if (core().get_property("OCL.0", "ocl_sub_devices") != "true" || device_int("ocl_compute_units") < 2)
    GTEST_SKIP() << "the device cannot be partitioned by counts";
  const Model model = core().read_model("builtin:mlp");
  auto compiled = core().compile_model(model, "OCL.0", {{"ocl_compute_units", "1"}});
  EXPECT_EQ(compiled.get_property("ocl_compute_units"), "1");
  const auto inputs = make_inputs(model);
  expect_close(run(model, "REF", inputs), run(compiled, inputs), model.outputs());

  const std::string too_many = std::to_string(device_int("ocl_compute_units") + 1);
  try {
    core().compile_model(model, "OCL.0", {{"ocl_compute_units", too_many}});
    FAIL() << "ocl_compute_units above the device's units must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("ocl_compute_units"), std::string::npos) << e.what();
  }
}

TEST(OclDevice, ThroughputRunsParallelSlotsCorrectly) {
  AUTOSCHED_REQUIRE_OCL();
  const Model model = small_model();
  auto compiled = core().compile_model(model, "OCL.0", {{"performance_mode", "THROUGHPUT"}});
  EXPECT_EQ(compiled.get_property(optimal_number_of_infer_requests), 2);
  constexpr int kRequests = 6;
  std::vector<InferRequest> requests;
  std::vector<std::vector<Tensor>> inputs;
  for (int i = 0; i < kRequests; ++i) {
    inputs.push_back(make_inputs(model, std::uint32_t(100 + i)));
    requests.push_back(compiled.create_infer_request());
    requests.back().set_input_tensor(0, inputs.back()[0]);
  }
  for (auto& r : requests) r.start_async();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(requests[std::size_t(i)].wait_for(std::chrono::seconds(120)));
    expect_close(run(model, "REF", inputs[std::size_t(i)]), {requests[std::size_t(i)].get_output_tensor(0).clone()},
                 model.outputs());
  }
}

// ---- process-level cases: the parent runs the DISABLED_ child in a fresh process.

TEST(OclProcess, NoOpenClPlatformMeansNoOclDevice) {
  TempDir vendors("ocl_no_vendors");
  ASSERT_FALSE(vendors.path().empty());
  EXPECT_EQ(run_child("OclProcess.DISABLED_ChildNoPlatform", {"OCL_ICD_VENDORS=" + vendors.path()}), 0);
}

TEST(OclProcess, DISABLED_ChildNoPlatform) {
  if (!in_child()) GTEST_SKIP() << "runs as a child of NoOpenClPlatformMeansNoOclDevice";
  Core local;  // discovery with no OpenCL platform must not throw
  for (const auto& name : local.get_available_devices()) {
    EXPECT_NE(name.rfind("OCL.", 0), 0u) << name;
    EXPECT_NE(name.rfind("GPU", 0), 0u) << name;
  }
}

TEST(OclProcess, ColdCompileThenWarmCompile) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir pocl_cache("pocl_cold"), cache("ocl_cold");
  ASSERT_FALSE(pocl_cache.path().empty());
  EXPECT_EQ(run_child("OclProcess.DISABLED_ChildColdCompile",
                      {"POCL_CACHE_DIR=" + pocl_cache.path(), "AUTOSCHED_OCL_TEST_CACHE=" + cache.path()}),
            0);
}

TEST(OclProcess, DISABLED_ChildColdCompile) {
  if (!in_child()) GTEST_SKIP() << "runs as a child of ColdCompileThenWarmCompile";
  AUTOSCHED_REQUIRE_OCL();
  const Properties props = {{"cache_dir", std::getenv("AUTOSCHED_OCL_TEST_CACHE")}};
  const Model model = small_model();
  auto t0 = std::chrono::steady_clock::now();
  auto cold = core().compile_model(model, "OCL.0", props);
  auto t1 = std::chrono::steady_clock::now();
  auto warm = core().compile_model(model, "OCL.0", props);
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(cold.get_property("ocl_program_cache"), "miss");
  EXPECT_EQ(warm.get_property("ocl_program_cache"), "hit");
  const auto inputs = make_inputs(model);
  expect_close(run(model, "REF", inputs), run(warm, inputs), model.outputs());
  std::cout << "[ OCL cold ] compile " << std::chrono::duration<double, std::milli>(t1 - t0).count()
            << " ms (program build " << cold.get_property("ocl_program_build_ms") << " ms), warm compile "
            << std::chrono::duration<double, std::milli>(t2 - t1).count() << " ms (program load "
            << warm.get_property("ocl_program_build_ms") << " ms)\n";
}

}  // namespace
}  // namespace autosched::ocl_test
