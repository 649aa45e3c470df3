// The builtin model zoo (Core::builtin_models()) on every conformance device.
//
//  * Builtin/BuiltinRoundTrip.SaveReadMatchesInMemory/<model>: REF runs the
//    in-memory builtin and the same model written with Model::save and read
//    back from ONNX on one fixed-seed input; the outputs must be identical.
//  * Builtin/BuiltinOnDevice.MatchesReference/<device>_<model>: every device
//    other than REF runs the builtin; outputs match REF's within the device
//    tolerance (conformance_support.hpp).
//
// The REF run of each in-memory builtin happens once per process and is shared
// (ResNet50 on REF takes seconds).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "autosched/autosched.hpp"
#include "conformance_support.hpp"

namespace fs = std::filesystem;
using autosched::Tensor;
namespace ac = autosched::conformance;

namespace {

constexpr std::uint32_t kInputSeed = 20240601;

autosched::Core& core() {
  static autosched::Core instance;
  return instance;
}

// A concrete shape for a port: dynamic dimensions become 1 for the leading
// (batch) dimension and 8 elsewhere (e.g. a sequence length).
autosched::Shape concrete_shape(const autosched::PartialShape& shape) {
  autosched::Shape out;
  for (std::size_t d = 0; d < shape.rank(); ++d)
    out.push_back(shape[d].is_static() ? shape[d].length : (d == 0 ? 1 : 8));
  return out;
}

// One deterministic input per port: floats uniform in [-1, 1), integers
// (token ids) in [0, 16), masks all ones.
std::vector<Tensor> make_inputs(const autosched::Model& model) {
  std::vector<Tensor> inputs;
  std::uint32_t seed = kInputSeed;
  for (const auto& port : model.inputs()) {
    const bool mask = port.name.find("mask") != std::string::npos;
    inputs.push_back(ac::make_uniform_tensor(port.element_type, concrete_shape(port.shape), seed++,
                                             mask ? 1 : 0, mask ? 2 : 16));
  }
  return inputs;
}

// Compiles `model` on `device`, runs it once on `inputs` and returns deep
// copies of the outputs.
std::vector<Tensor> run(const autosched::Model& model, const std::string& device, const std::vector<Tensor>& inputs) {
  auto compiled = core().compile_model(model, device);
  auto request = compiled.create_infer_request();
  for (std::size_t k = 0; k < inputs.size(); ++k) request.set_input_tensor(k, inputs[k]);
  request.infer();
  std::vector<Tensor> outputs;
  for (std::size_t k = 0; k < compiled.outputs().size(); ++k) outputs.push_back(request.get_output_tensor(k).clone());
  return outputs;
}

// The in-memory builtin, its fixed input and its REF outputs; built once.
struct ReferenceRun {
  autosched::Model model;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
};

const ReferenceRun& reference_run(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, ReferenceRun> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  ReferenceRun r;
  r.model = core().read_model("builtin:" + name);
  r.inputs = make_inputs(r.model);
  r.outputs = run(r.model, "REF", r.inputs);
  return cache.emplace(name, std::move(r)).first->second;
}

void expect_same_ports(const std::vector<autosched::PortInfo>& a, const std::vector<autosched::PortInfo>& b,
                       const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].name, b[k].name) << what << " " << k;
    EXPECT_EQ(a[k].element_type, b[k].element_type) << what << " " << k << " ('" << a[k].name << "')";
    EXPECT_EQ(a[k].shape, b[k].shape) << what << " " << k << " ('" << a[k].name << "'): "
                                      << a[k].shape.to_string() << " vs " << b[k].shape.to_string();
  }
}

void expect_outputs_match(const std::vector<autosched::PortInfo>& ports, const std::vector<Tensor>& expected,
                          const std::vector<Tensor>& actual, const ac::Tolerance& tol) {
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const std::string diff = ac::compare_tensors(expected[k], actual[k], tol);
    EXPECT_TRUE(diff.empty()) << "output " << k << " ('" << ports.at(k).name << "'): " << diff;
  }
}

// A file under the temp directory, removed when the guard goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& stem)
      : path_(fs::temp_directory_path() / ("autosched_conformance_" + std::to_string(::getpid()) + "_" + stem)) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string string() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return ac::sanitize_name(info.param); }

class BuiltinRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinRoundTrip, SaveReadMatchesInMemory) {
  const std::string& name = GetParam();
  const ReferenceRun& ref = reference_run(name);
  ASSERT_FALSE(ref.outputs.empty()) << name << " has no outputs";

  TempFile file(name + ".onnx");
  ref.model.save(file.string());
  const autosched::Model reread = core().read_model(file.string());
  expect_same_ports(ref.model.inputs(), reread.inputs(), "input");
  expect_same_ports(ref.model.outputs(), reread.outputs(), "output");
  if (HasFatalFailure()) return;

  const std::vector<Tensor> outputs = run(reread, "REF", ref.inputs);
  expect_outputs_match(ref.model.outputs(), ref.outputs, outputs, ac::Tolerance{0.0, 0.0});
}

INSTANTIATE_TEST_SUITE_P(Builtin, BuiltinRoundTrip, ::testing::ValuesIn(autosched::Core::builtin_models()),
                         param_name);

struct DeviceModel {
  std::string device;
  std::string model;
};

void PrintTo(const DeviceModel& p, std::ostream* os) { *os << p.device << ":" << p.model; }

std::vector<DeviceModel> device_model_params() {
  std::vector<DeviceModel> out;
  for (const auto& device : ac::kConformanceDevices)
    if (device != "REF")
      for (const auto& model : autosched::Core::builtin_models()) out.push_back({device, model});
  return out;
}

class BuiltinOnDevice : public ::testing::TestWithParam<DeviceModel> {};

TEST_P(BuiltinOnDevice, MatchesReference) {
  const auto& [device, name] = GetParam();
  if (!ac::device_available(core().get_available_devices(), device))
    GTEST_SKIP() << "device " << device << " is not available on this machine";
  const ReferenceRun& ref = reference_run(name);
  const std::vector<Tensor> outputs = run(ref.model, device, ref.inputs);
  expect_outputs_match(ref.model.outputs(), ref.outputs, outputs, ac::device_tolerance(device));
}

INSTANTIATE_TEST_SUITE_P(Builtin, BuiltinOnDevice, ::testing::ValuesIn(device_model_params()),
                         [](const ::testing::TestParamInfo<DeviceModel>& info) {
                           return ac::sanitize_name(info.param.device) + "_" + ac::sanitize_name(info.param.model);
                         });
// Empty while REF is the only conformance device.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BuiltinOnDevice);

}  // namespace
