// OCL.0's is_compile_cached (the startup-acceleration hook): false for a
// fresh cache_dir, true once a compile stored its program binary, false again
// for a damaged file or another sub-device; a model with GEMMs also needs its
// CLBlast kernels built by the device in this process; and AUTO:OCL.0,CPU
// with a warm cache compiles no CPU helper. Each test has its own cache_dir;
// the models are tiny to keep the PoCL compiles short.
#include <gtest/gtest.h>

#include <fstream>

#include "autosched/plugin/device_registry.hpp"
#include "model/zoo/graph_builder.hpp"
#include "ocl_test_support.hpp"
#include "tests/unit/auto_test_support.hpp"

namespace autosched::ocl_test {
namespace {

namespace fs = std::filesystem;

Model tiny_model() {
  zoo::GraphBuilder b("ocl_cached_tiny", 5);
  const auto x = b.add_input("x", {1, 8});
  b.add_output(b.add_node("Add", {b.add_node("Relu", {x}, {}, "relu"), b.add_scalar("one", 1.0f)}, {}, "out"));
  return Model(b.finish());
}

// A fresh OCL.0 device object from the OCL provider (the Core's devices are
// not reachable through the public API).
std::shared_ptr<plugin::IDevice> ocl_device() {
  for (const auto& entry : plugin::device_providers())
    if (entry.family == "OCL")
      for (auto& device : entry.provider(plugin::DeviceContext{}))
        if (device->name() == "OCL.0") return device;
  return nullptr;
}

fs::path only_file(const std::string& dir) {
  fs::path file;
  for (const auto& entry : fs::directory_iterator(dir)) file = entry.path();
  return file;
}

TEST(OclCompileCached, FalseForAFreshCacheTrueAfterOneCompile) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir dir("ocl_cached");
  ASSERT_FALSE(dir.path().empty());
  const auto device = ocl_device();
  ASSERT_TRUE(device);
  const Model model = tiny_model();
  const Properties props = {{"cache_dir", dir.path()}};
  EXPECT_FALSE(device->is_compile_cached(model, {})) << "no cache_dir, no cache";
  EXPECT_FALSE(device->is_compile_cached(model, props)) << "fresh cache_dir";
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the question builds and stores nothing";

  auto compiled = core().compile_model(model, "OCL.0", props);
  EXPECT_EQ(compiled.get_property("ocl_program_cache"), "miss");
  EXPECT_TRUE(device->is_compile_cached(model, props));
  EXPECT_FALSE(device->is_compile_cached(model, {{"cache_dir", dir.path() + "/other"}}));
  auto again = core().compile_model(model, "OCL.0", props);
  EXPECT_EQ(again.get_property("ocl_program_cache"), "hit") << "is_compile_cached agreed with the compile";

  // A sub-device has its own key (its compute-unit count is part of it).
  if (core().get_property("OCL.0", "ocl_sub_devices") == "true" &&
      std::stoi(core().get_property("OCL.0", "ocl_compute_units")) >= 2) {
    EXPECT_FALSE(device->is_compile_cached(model, {{"cache_dir", dir.path()}, {"ocl_compute_units", "1"}}));
  }

  // A damaged file is not a hit: the compile would rebuild from source.
  const fs::path file = only_file(dir.path());
  ASSERT_FALSE(file.empty());
  std::string data;
  {
    std::ifstream in(file, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_FALSE(data.empty());
  data.back() = char(data.back() ^ 0x5a);
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(data.data(), std::streamsize(data.size()));
  EXPECT_FALSE(device->is_compile_cached(model, props)) << "checksum mismatch";
}

TEST(OclCompileCached, AModelWithGemmsAlsoNeedsItsClblastKernelsBuiltByTheDevice) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir dir("ocl_cached_gemm");
  ASSERT_FALSE(dir.path().empty());
  const auto device = ocl_device();  // a device object of its own: like a new process for its records
  ASSERT_TRUE(device);
  const Model mlp = core().read_model("builtin:mlp");
  const Properties props = {{"cache_dir", dir.path()}};
  EXPECT_FALSE(device->is_compile_cached(mlp, props));

  // The Core's OCL.0 stores the own-kernel program; for this device object
  // the CLBlast kernels are unknown (across processes they live only in the
  // driver's cache), so a compile could still take seconds: not cached.
  core().compile_model(mlp, "OCL.0", props);
  EXPECT_FALSE(device->is_compile_cached(mlp, props));
  EXPECT_TRUE(device->is_compile_cached(tiny_model(), props)) << "the own program is the same for every model";

  // Once this device compiled the model, every program is at hand.
  ASSERT_TRUE(device->compile(mlp, props));
  EXPECT_TRUE(device->is_compile_cached(mlp, props));
  EXPECT_FALSE(device->is_compile_cached(core().read_model("builtin:bert_tiny"), props)) << "other GEMMs";
}

// Device events of AUTO's devices, from the process-wide observer hook.
bool saw_event_of(testing::RecordingObserver& observer, const std::string& device) {
  std::lock_guard lock(observer.mutex_);
  for (const auto& e : observer.device_events)
    if (e.size() > device.size() && e.compare(e.size() - device.size() - 1, std::string::npos, " " + device) == 0)
      return true;
  return false;
}

class OclCompileCachedAuto : public ::testing::TestWithParam<std::string> {};

TEST_P(OclCompileCachedAuto, AWarmCacheCompilesNoCpuHelper) {
  AUTOSCHED_REQUIRE_OCL();
  TempDir dir("ocl_cached_auto");
  ASSERT_FALSE(dir.path().empty());
  const Model model = GetParam() == "tiny" ? tiny_model() : core().read_model("builtin:" + GetParam());
  const Properties props = {{"cache_dir", dir.path()}};
  const auto inputs = make_inputs(model);
  const auto expected = run(model, "REF", inputs);
  {
    // Cold: the CPU helper is compiled (and serves) while OCL.0 compiles;
    // destroying the compiled model waits for OCL.0's compile, which stores
    // the program binary.
    auto observer = std::make_shared<testing::RecordingObserver>();
    auto registration = add_observer(observer);
    auto cold = core().compile_model(model, "AUTO:OCL.0,CPU", props);
    EXPECT_TRUE(saw_event_of(*observer, "CPU")) << "cold cache: the CPU helper compiles";
  }
  ASSERT_FALSE(fs::is_empty(dir.path())) << "OCL.0 stored its program binary";

  auto observer = std::make_shared<testing::RecordingObserver>();
  auto registration = add_observer(observer);
  auto warm = core().compile_model(model, "AUTO:OCL.0,CPU", props);
  EXPECT_EQ(warm.get_property(execution_devices), std::vector<std::string>{"OCL.0"});
  expect_close(expected, run(warm, inputs), model.outputs());
  expect_close(expected, run(warm, inputs), model.outputs());
  EXPECT_TRUE(observer->saw("ready OCL.0"));
  EXPECT_FALSE(saw_event_of(*observer, "CPU")) << "warm cache: no CPU helper";
  EXPECT_EQ(warm.get_property(execution_devices), std::vector<std::string>{"OCL.0"});
}

// Own kernels only, and GEMMs through CLBlast (built by the cold run in this process).
INSTANTIATE_TEST_SUITE_P(Ocl, OclCompileCachedAuto, ::testing::Values("tiny", "mlp"));

}  // namespace
}  // namespace autosched::ocl_test
