// AUTO / MULTI candidate selection: default set, explicit lists, exclusions,
// request caps, class ordering, query_model and precision filtering, errors.
#include <gtest/gtest.h>

#include <map>

#include "scheduler/candidate_selection.hpp"
#include "tests/unit/auto_test_support.hpp"

namespace autosched::testing {
namespace {

using plugin::DeviceClass;
using scheduler::Candidate;

class HandMadeLookup : public plugin::IDeviceLookup {
 public:
  void add(std::shared_ptr<plugin::IDevice> d, std::vector<std::string> aliases = {}) {
    by_name_[d->name()] = d;
    for (auto& a : aliases) by_name_[a] = d;
    devices_.push_back(std::move(d));
  }
  std::shared_ptr<plugin::IDevice> find_device(const std::string& name) const override {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<plugin::IDevice>> devices() const override { return devices_; }

 private:
  std::vector<std::shared_ptr<plugin::IDevice>> devices_;
  std::map<std::string, std::shared_ptr<plugin::IDevice>> by_name_;
};

// Registry order deliberately differs from class order.
HandMadeLookup machine() {
  HandMadeLookup l;
  l.add(make_fake_device("CPU", DeviceClass::cpu, {"FP32", "BF16"}));
  l.add(make_fake_device("REF", DeviceClass::reference, {"FP32"}));
  l.add(make_fake_device("OCL.1", DeviceClass::accelerator, {"FP32"}));
  l.add(make_fake_device("OCL.0", DeviceClass::integrated_gpu, {"FP32", "FP16"}), {"GPU", "GPU.0"});
  l.add(make_fake_device("SIM.fast_gpu", DeviceClass::discrete_gpu, {"FP32", "FP16"}));
  l.add(make_fake_device("OCL.2", DeviceClass::discrete_gpu, {"FP32", "FP16"}));
  return l;
}

std::vector<std::string> names(const std::vector<Candidate>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) {
    std::string s = x.name;
    if (x.cap) s.append("(").append(std::to_string(x.cap)).append(")");
    out.push_back(s);
  }
  return out;
}

std::string error_of(const std::function<void()>& f, ErrorCode code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

TEST(AutoSelection, DefaultIsEveryHardwareDeviceByClassWithoutSimAndRef) {
  auto l = machine();
  auto c = scheduler::list_candidates({"AUTO", {}, &l, nullptr});
  EXPECT_EQ(names(c), (std::vector<std::string>{"OCL.2", "OCL.0", "OCL.1", "CPU"}));
}

TEST(AutoSelection, ExplicitListKeepsItsOrderResolvesAliasesAndCaps) {
  auto l = machine();
  auto c = scheduler::list_candidates({"AUTO", {"CPU(2)", "GPU", "SIM.fast_gpu"}, &l, nullptr});
  EXPECT_EQ(names(c), (std::vector<std::string>{"CPU(2)", "OCL.0", "SIM.fast_gpu"}));
}

TEST(AutoSelection, ExclusionsRemoveFromTheDefaultSetAndFromLists) {
  auto l = machine();
  EXPECT_EQ(names(scheduler::list_candidates({"AUTO", {"-CPU", "-OCL.1"}, &l, nullptr})),
            (std::vector<std::string>{"OCL.2", "OCL.0"}));
  EXPECT_EQ(names(scheduler::list_candidates({"AUTO", {"OCL.0", "CPU", "-CPU"}, &l, nullptr})),
            (std::vector<std::string>{"OCL.0"}));
}

TEST(AutoSelection, BadEntriesNameTheBadPartAndTheAvailableDevices) {
  auto l = machine();
  auto msg = error_of([&] { scheduler::list_candidates({"AUTO", {"CPU", "NPU7"}, &l, nullptr}); },
                      ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("NPU7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("available devices: CPU, REF, OCL.1, OCL.0"), std::string::npos) << msg;
  msg = error_of([&] { scheduler::list_candidates({"MULTI", {"CPU(x)"}, &l, nullptr}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("CPU(x)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MULTI"), std::string::npos) << msg;
  msg = error_of([&] { scheduler::list_candidates({"AUTO", {"CPU", "CPU"}, &l, nullptr}); },
                 ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
  msg = error_of([&] { scheduler::list_candidates({"AUTO", {"-CPU(2)"}, &l, nullptr}); },
                 ErrorCode::invalid_argument);
  msg = error_of([&] { scheduler::list_candidates({"AUTO", {"CPU", "-CPU"}, &l, nullptr}); },
                 ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("excludes every device"), std::string::npos) << msg;
}

TEST(AutoSelection, OnlyTheReferenceDeviceLeftIsUsedWithAWarning) {
  HandMadeLookup l;
  l.add(make_fake_device("REF", DeviceClass::reference));
  EXPECT_EQ(names(scheduler::list_candidates({"AUTO", {}, &l, nullptr})), std::vector<std::string>{"REF"});
  error_of([&] { scheduler::list_candidates({"AUTO", {"-REF"}, &l, nullptr}); }, ErrorCode::not_found);
}

TEST(AutoSelection, ModelFilterSkipsDevicesThatCannotRunEveryOp) {
  auto model = add_relu_model();
  // FAKE.npu runs only Identity; FAKE.cpu runs anything.
  std::vector<Candidate> c = {
      {make_fake_device("FAKE.npu", DeviceClass::accelerator, {"FP32"}, std::nullopt, true), "FAKE.npu", 0},
      {make_fake_device("FAKE.cpu", DeviceClass::cpu), "FAKE.cpu", 0}};
  EXPECT_EQ(names(scheduler::filter_for_model(c, model, {}, "AUTO")), std::vector<std::string>{"FAKE.cpu"});
  auto msg = error_of([&] { scheduler::filter_for_model({c[0]}, model, {}, "AUTO"); }, ErrorCode::unsupported);
  EXPECT_NE(msg.find("FAKE.npu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Add"), std::string::npos) << msg;
}

TEST(AutoSelection, PrecisionFilterKeepsDevicesWithTheCapability) {
  auto l = machine();
  auto c = scheduler::list_candidates({"AUTO", {}, &l, nullptr});
  auto model = identity_model();
  auto kept = scheduler::filter_for_model(c, model, {{"inference_precision", "f16"}}, "AUTO");
  EXPECT_EQ(names(kept), (std::vector<std::string>{"OCL.2", "OCL.0"}));
  kept = scheduler::filter_for_model(c, model, {{"inference_precision", "bf16"}}, "AUTO");
  EXPECT_EQ(names(kept), std::vector<std::string>{"CPU"});
}

TEST(AutoSelection, ThroughTheCoreBadNamesAreRejected) {
  Core core;
  auto msg = error_of([&] { core.compile_model(identity_model(), "AUTO:FAKE.cpu,BOGUS"); },
                      ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("BOGUS"), std::string::npos) << msg;
  EXPECT_NE(msg.find("REF"), std::string::npos) << msg;
  msg = error_of([&] { core.compile_model(identity_model(), "MULTI:FAKE.cpu,AUTO"); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("virtual"), std::string::npos) << msg;
  msg = error_of([&] { core.compile_model(identity_model(), "AUTO:FAKE.cpu", {{"schedule_policy", "coin_flip"}}); },
                 ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("device_priority"), std::string::npos) << msg;
}

}  // namespace
}  // namespace autosched::testing
