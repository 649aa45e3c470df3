// The ONNX backend node tests (onnx/backend/test/data/node/test_*) run on every
// conformance device: each test directory becomes one gtest case per device,
// "Node/OnnxConformance.Matches/<device>_<test>".
//
// A case reads model.onnx (once per directory, cached), compiles it on the
// device, feeds every test_data_set_*/input_k.pb as input k, runs infer() and
// compares output k with output_k.pb (conformance_support.hpp tolerances).
//
// Outcomes:
//  * passed / failed: a real test case that must pass.
//  * unsupported: read_model, compile or the kernels raised Error(unsupported)
//    (unknown op, element type, sequence/optional/map inputs, ...). The case
//    skips with the reason and is listed in Conformance.Summary_<device>, which
//    prints the device's counts and every unsupported test with its reason.
//  * known failure: failed and listed in known_failures.txt with a documented
//    reason → skipped with that reason. A listed case that does not fail (or
//    does not exist) fails both its own case and the summary, so the list
//    stays honest.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/plugin/graph.hpp"
#include "conformance_support.hpp"
#include "model/onnx_io.hpp"

namespace fs = std::filesystem;
using autosched::Error;
using autosched::ErrorCode;
using autosched::Tensor;
namespace ac = autosched::conformance;

namespace {

const fs::path& node_data_dir() {
  static const fs::path dir = fs::path(AUTOSCHED_ONNX_TESTDATA_DIR) / "node";
  return dir;
}

// Per-test tolerance overrides, only where a test genuinely needs more than the
// device's default; each entry says why.
struct ToleranceOverride {
  const char* test;
  ac::Tolerance tolerance;
  const char* why;
};
// The *window_expanded tests: ONNX 1.12's expected outputs deviate from the
// closed-form window (0.42 - 0.5 cos(2πn/N) + 0.08 cos(4πn/N) for Blackman)
// by up to 7.4e-5, while an f32 evaluation of the expanded graph matches the
// closed form to ~1e-7; e.g. Blackman N=10, n=9: exact 0.0402129, expected
// 0.0402364. The data, not the kernels, is imprecise.
constexpr ac::Tolerance kWindowDataTolerance{1e-4, 1e-4};
const ToleranceOverride kToleranceOverrides[] = {
    {"test_blackmanwindow_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
    {"test_blackmanwindow_symmetric_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
    {"test_hammingwindow_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
    {"test_hammingwindow_symmetric_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
    {"test_hannwindow_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
    {"test_hannwindow_symmetric_expanded", kWindowDataTolerance, "imprecise expected data (see above)"},
};

ac::Tolerance tolerance_for(const std::string& device, const std::string& test) {
  ac::Tolerance tol = ac::device_tolerance(device);
  for (const auto& o : kToleranceOverrides)
    if (test == o.test) {
      tol.rtol = std::max(tol.rtol, o.tolerance.rtol);
      tol.atol = std::max(tol.atol, o.tolerance.atol);
    }
  return tol;
}

// Sorted names of the test_* directories holding a model.onnx.
const std::vector<std::string>& node_test_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(node_data_dir(), ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("test_", 0) == 0 && fs::exists(entry.path() / "model.onnx")) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return names;
}

// known_failures.txt: "<device|*> <test_name> <reason...>" per line, '#' comments.
using KnownFailures = std::map<std::pair<std::string, std::string>, std::string>;
const KnownFailures& known_failures() {
  static const KnownFailures table = [] {
    KnownFailures out;
    std::ifstream in(fs::path(AUTOSCHED_SOURCE_DIR) / "tests/conformance/known_failures.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string device, test, reason;
      if (!(fields >> device >> test)) continue;
      std::getline(fields >> std::ws, reason);
      out[{device, test}] = reason.empty() ? "(no reason given)" : reason;
    }
    return out;
  }();
  return table;
}

// The documented reason when (device, test) is a known failure, else nullptr.
const std::string* known_failure(const std::string& device, const std::string& test) {
  const auto& table = known_failures();
  for (const auto& key : {std::pair{device, test}, std::pair{std::string("*"), test}}) {
    auto it = table.find(key);
    if (it != table.end()) return &it->second;
  }
  return nullptr;
}

autosched::Core& core() {
  static autosched::Core instance;
  return instance;
}

bool device_available(const std::string& device) {
  static const std::vector<std::string> available = core().get_available_devices();
  return ac::device_available(available, device);
}

// A model read once per test directory, shared by every device.
struct ModelEntry {
  autosched::Model model;
  std::string op_types;     // "Conv,Relu": the ops of the model, to cluster failures by op
  std::string unsupported;  // Error(unsupported) message of read_model
  std::string error;        // any other read failure
};

const ModelEntry& model_for(const std::string& test) {
  static std::mutex mutex;
  static std::map<std::string, ModelEntry> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(test);
  if (it != cache.end()) return it->second;
  ModelEntry entry;
  try {
    entry.model = core().read_model((node_data_dir() / test / "model.onnx").string());
    std::set<std::string> ops;
    for (const auto& node : entry.model.graph().nodes) ops.insert(node.op_type);
    for (const auto& op : ops) entry.op_types += (entry.op_types.empty() ? "" : ",") + op;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unsupported) entry.unsupported = std::string("read_model: ") + e.what();
    else entry.error = std::string("read_model: ") + autosched::to_string(e.code()) + ": " + e.what();
  } catch (const std::exception& e) {
    entry.error = std::string("read_model: ") + e.what();
  }
  return cache.emplace(test, std::move(entry)).first->second;
}

enum class Status { passed, failed, unsupported };

struct Outcome {
  Status status = Status::passed;
  std::string message;  // why it failed / is unsupported
};

// Files <prefix>0.pb, <prefix>1.pb, ... in `dir`, in index order.
std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<fs::path> data_sets(const std::string& test) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(node_data_dir() / test))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

Outcome run_case(const std::string& device, const std::string& test) {
  const ModelEntry& entry = model_for(test);
  if (!entry.unsupported.empty()) return {Status::unsupported, entry.unsupported};
  if (!entry.error.empty()) return {Status::failed, entry.error};

  std::string stage = "compile_model";
  try {
    autosched::CompiledModel cm = core().compile_model(entry.model, device);
    stage = "create_infer_request";
    autosched::InferRequest request = cm.create_infer_request();
    const auto sets = data_sets(test);
    if (sets.empty()) return {Status::failed, "no test_data_set_* directory"};
    std::string mismatches;
    for (const auto& set : sets) {
      const std::string set_name = set.filename().string();
      stage = set_name + ": read inputs";
      const auto input_files = numbered_files(set, "input_");
      if (input_files.size() != cm.inputs().size())
        return {Status::failed, set_name + ": " + std::to_string(input_files.size()) + " input files, model has " +
                                    std::to_string(cm.inputs().size()) + " inputs"};
      for (std::size_t k = 0; k < input_files.size(); ++k) {
        stage = set_name + ": input " + std::to_string(k) + " ('" + cm.inputs()[k].name + "')";
        Tensor value = autosched::onnx_io::read_tensor(input_files[k].string());
        const auto& port = cm.inputs()[k];
        // Both ways of giving inputs: in place through get_input_tensor when
        // the port shape is static, else by binding the tensor.
        if (port.shape.is_static() && port.shape.to_shape() == value.shape()) {
          Tensor slot = request.get_input_tensor(k);
          value.copy_to(slot);
        } else {
          request.set_input_tensor(k, value);
        }
      }
      stage = set_name + ": infer";
      request.infer();
      const auto output_files = numbered_files(set, "output_");
      if (output_files.size() != cm.outputs().size())
        return {Status::failed, set_name + ": " + std::to_string(output_files.size()) + " output files, model has " +
                                    std::to_string(cm.outputs().size()) + " outputs"};
      for (std::size_t k = 0; k < output_files.size(); ++k) {
        stage = set_name + ": output " + std::to_string(k) + " ('" + cm.outputs()[k].name + "')";
        const Tensor expected = autosched::onnx_io::read_tensor(output_files[k].string());
        const std::string diff = ac::compare_tensors(expected, request.get_output_tensor(k), tolerance_for(device, test));
        if (!diff.empty()) mismatches += (mismatches.empty() ? "" : "\n") + stage + ": " + diff;
      }
    }
    if (!mismatches.empty()) return {Status::failed, mismatches};
    return {Status::passed, {}};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unsupported) return {Status::unsupported, stage + ": " + e.what()};
    return {Status::failed, stage + ": " + autosched::to_string(e.code()) + ": " + e.what()};
  } catch (const std::exception& e) {
    return {Status::failed, stage + ": exception: " + e.what()};
  }
}

// Each (device, test) runs once per process; the cases and the summary share it.
const Outcome& outcome_for(const std::string& device, const std::string& test) {
  static std::map<std::pair<std::string, std::string>, Outcome> cache;
  auto key = std::pair{device, test};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, run_case(device, test)).first;
  return it->second;
}

struct CaseParam {
  std::string device;
  std::string test;
};

void PrintTo(const CaseParam& p, std::ostream* os) { *os << p.device << ":" << p.test; }

std::vector<CaseParam> all_case_params() {
  std::vector<CaseParam> out;
  for (const auto& device : ac::kConformanceDevices)
    for (const auto& test : node_test_names()) out.push_back({device, test});
  return out;
}

class OnnxConformance : public ::testing::TestWithParam<CaseParam> {};

TEST_P(OnnxConformance, Matches) {
  const auto& [device, test] = GetParam();
  if (!device_available(device)) GTEST_SKIP() << "device " << device << " is not available on this machine";
  const Outcome& outcome = outcome_for(device, test);
  const std::string* known = known_failure(device, test);
  switch (outcome.status) {
    case Status::passed:
      if (known) FAIL() << test << " passes on " << device << ": remove it from known_failures.txt ("
                        << *known << ")";
      break;
    case Status::failed:
      if (known) GTEST_SKIP() << "known failure (known_failures.txt): " << *known << "\n" << outcome.message;
      FAIL() << test << " on " << device << ":\n" << outcome.message;
    case Status::unsupported:
      GTEST_SKIP() << "unsupported on " << device << " (listed in Conformance.Summary_"
                   << ac::sanitize_name(device) << "): " << outcome.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxConformance, ::testing::ValuesIn(all_case_params()),
                         [](const ::testing::TestParamInfo<CaseParam>& info) {
                           return ac::sanitize_name(info.param.device) + "_" + ac::sanitize_name(info.param.test);
                         });
// No parameters at all means the test data is missing: the summary reports that.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxConformance);

// The reason without the file path the reader names and without its list of
// supported alternatives: "read_model: op 'Bernoulli' (node 'B_0', opset 15) is not supported".
std::string short_reason(const std::string& test, std::string message) {
  const std::string path = "'" + (node_data_dir() / test / "model.onnx").string() + "': ";
  if (auto at = message.find(path); at != std::string::npos) message.erase(at, path.size());
  if (auto cut = message.find("; supported"); cut != std::string::npos) message.resize(cut);
  return message;
}

// What an unsupported reason is about, to count them: "op 'Bernoulli'",
// "ONNX opset 7", "element type UINT16", "Loop: subgraph attribute", ...
std::string reason_cluster(const std::string& reason) {
  static const std::pair<std::regex, const char*> patterns[] = {
      {std::regex("op '[^']+'"), "$&"},
      {std::regex("ONNX opset [0-9]+"), "$& (supported: 11 to 17)"},
      {std::regex("element type [A-Za-z0-9_]+"), "$&"},
      {std::regex("graph (input|output) '[^']*' is not a tensor"), "non-tensor graph $1 (sequence/map/optional)"},
      {std::regex("of ([A-Za-z]+) node '[^']*' has type GRAPH"), "$1: subgraph attribute"},
      {std::regex("imports no opset of the default ONNX domain"), "no default-domain opset (training ops)"},
      {std::regex("([A-Za-z]+) node '[^']*': (.*)"), "$1: $2"},
  };
  std::smatch match;
  for (const auto& [pattern, format] : patterns)
    if (std::regex_search(reason, match, pattern)) return match.format(format);
  return reason;
}

// Conformance.Summary_<device>: counts, the unsupported list with reasons,
// failures, and known_failures.txt entries that no longer fail.
class ConformanceSummary : public ::testing::Test {
 public:
  explicit ConformanceSummary(std::string device) : device_(std::move(device)) {}

  void TestBody() override {
    const auto& tests = node_test_names();
    ASSERT_FALSE(tests.empty()) << "no ONNX node tests found under " << node_data_dir();
    if (!device_available(device_)) GTEST_SKIP() << "device " << device_ << " is not available on this machine";
    std::size_t ran = 0, passed = 0;
    std::vector<std::pair<std::string, std::string>> unsupported, failed, known, stale;
    for (const auto& test : tests) {
      const Outcome& o = outcome_for(device_, test);
      const std::string* reason = known_failure(device_, test);
      if (o.status == Status::unsupported) {
        unsupported.emplace_back(test, short_reason(test, o.message));
        if (reason) stale.emplace_back(test, "is unsupported, not failing: " + o.message);
        continue;
      }
      ++ran;
      if (o.status == Status::passed) {
        ++passed;
        if (reason) stale.emplace_back(test, "passes now: remove from known failures");
      } else if (reason) {
        known.emplace_back(test, *reason);
      } else {
        failed.emplace_back(test, "[" + model_for(test).op_types + "] " + o.message.substr(0, o.message.find('\n')));
      }
    }
    for (const auto& [key, reason] : known_failures())
      if ((key.first == device_ || key.first == "*") &&
          !std::binary_search(tests.begin(), tests.end(), key.second))
        stale.emplace_back(key.second, "no such ONNX node test");

    std::ostringstream out;
    out << "device " << device_ << ": " << tests.size() << " cases, ran " << ran << ", passed " << passed
        << ", unsupported " << unsupported.size() << ", failed " << failed.size() << ", known failures "
        << known.size() << "\n";
    const auto list = [&](const char* title, const auto& items) {
      if (items.empty()) return;
      out << title << " (" << items.size() << "):\n";
      for (const auto& [test, why] : items) out << "  " << test << ": " << why << "\n";
    };
    std::map<std::string, int> clusters;
    for (const auto& item : unsupported) ++clusters[reason_cluster(item.second)];
    std::vector<std::pair<int, std::string>> by_count;
    for (const auto& [cluster, count] : clusters) by_count.emplace_back(-count, cluster);
    std::sort(by_count.begin(), by_count.end());
    if (!by_count.empty()) out << "unsupported by reason:\n";
    for (const auto& [count, cluster] : by_count) out << "  " << -count << "  " << cluster << "\n";
    list("unsupported", unsupported);
    list("failed", failed);
    list("known failures", known);
    list("stale known_failures.txt entries", stale);
    std::cout << out.str() << std::flush;
    EXPECT_TRUE(stale.empty()) << "known_failures.txt must list only failing tests; fix the "
                               << stale.size() << " stale entries listed above";
  }

 private:
  std::string device_;
};

[[maybe_unused]] const bool kSummariesRegistered = [] {
  for (const auto& device : ac::kConformanceDevices)
    ::testing::RegisterTest("Conformance", ("Summary_" + ac::sanitize_name(device)).c_str(), nullptr, nullptr,
                            __FILE__, __LINE__, [device]() -> ConformanceSummary* {
                              return new ConformanceSummary(device);
                            });
  return true;
}();

}  // namespace
