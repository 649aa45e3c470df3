// Core, properties, device strings, tensors and errors at the user API.
#include <gtest/gtest.h>

#include <cmath>

#include "core/device_string.hpp"
#include "tests/unit/test_device.hpp"

namespace autosched {
namespace {

std::string message_of(const std::function<void()>& f, ErrorCode expected) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return {};
}

TEST(Properties, TypedKeysRoundTripThroughStrings) {
  Properties p{hint::performance_mode(PerformanceMode::CUMULATIVE_THROUGHPUT), hint::num_requests(4),
               hint::latency_budget_ms(12.5), enable_cpu_pinning(false), device_priorities({"CPU", "OCL.0"}),
               hint::inference_precision(ElementType::bf16)};
  EXPECT_EQ(p.at("performance_mode"), "CUMULATIVE_THROUGHPUT");
  EXPECT_EQ(get_or(p, hint::performance_mode, PerformanceMode::LATENCY), PerformanceMode::CUMULATIVE_THROUGHPUT);
  EXPECT_EQ(get_or(p, hint::num_requests, std::int64_t(0)), 4);
  EXPECT_DOUBLE_EQ(get_or(p, hint::latency_budget_ms, 0.0), 12.5);
  EXPECT_FALSE(get_or(p, enable_cpu_pinning, true));
  EXPECT_EQ(get_or(p, device_priorities, {}), (std::vector<std::string>{"CPU", "OCL.0"}));
  EXPECT_EQ(get_or(p, hint::inference_precision, ElementType::f32), ElementType::bf16);
  EXPECT_NO_THROW(validate_properties(p));
  EXPECT_EQ(from_property_string<PerformanceMode>("k", "throughput"), PerformanceMode::THROUGHPUT);
}

TEST(Properties, UnknownKeyNamesKeyValueAndKnownKeys) {
  auto msg = message_of([] { validate_properties({{"perf_mode", "LATENCY"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("'perf_mode'"), std::string::npos);
  EXPECT_NE(msg.find("'LATENCY'"), std::string::npos);
  EXPECT_NE(msg.find("performance_mode"), std::string::npos);
}

TEST(Properties, BadValueNamesKeyValueAndAllowedValues) {
  auto msg = message_of([] { validate_properties({{"performance_mode", "FASTEST"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("performance_mode"), std::string::npos);
  EXPECT_NE(msg.find("FASTEST"), std::string::npos);
  EXPECT_NE(msg.find("LATENCY | THROUGHPUT | CUMULATIVE_THROUGHPUT"), std::string::npos);
  msg = message_of([] { validate_properties({{"num_streams", "0"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find(">= 1"), std::string::npos);
  msg = message_of([] { validate_properties({{"enable_cpu_pinning", "maybe"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("true | false"), std::string::npos);
  msg = message_of([] { validate_properties({{"inference_precision", "i8"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("f32 | bf16 | f16"), std::string::npos);
  message_of([] { validate_properties({{"latency_budget_ms", "-3"}}); }, ErrorCode::invalid_argument);
  message_of([] { validate_properties({{"num_requests", "12abc"}}); }, ErrorCode::invalid_argument);
}

TEST(Properties, ReadOnlyKeysCannotBeSet) {
  auto msg = message_of([] { validate_properties({{"execution_devices", "CPU"}}); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("read-only"), std::string::npos);
}

TEST(DeviceString, ParsesNamesCapsAndCandidateLists) {
  auto r = detail::parse_device_string("CPU(2)");
  EXPECT_EQ(r.name, "CPU");
  EXPECT_EQ(r.request_cap, 2u);
  r = detail::parse_device_string("AUTO:OCL.0, CPU,-SIM.x");
  EXPECT_EQ(r.name, "AUTO");
  EXPECT_TRUE(r.has_candidate_list);
  EXPECT_EQ(r.candidates, (std::vector<std::string>{"OCL.0", "CPU", "-SIM.x"}));
  r = detail::parse_device_string("MULTI:SIM.fast_gpu,CPU(3)");
  EXPECT_EQ(r.candidates.back(), "CPU(3)");
}

TEST(DeviceString, MalformedStringsNameTheBadPart) {
  for (const char* bad : {"", "CPU(", "CPU(0)", "CPU(x)", "AUTO:CPU,,REF", "AUTO:", "C PU", "CPU)"}) {
    auto msg = message_of([&] { detail::parse_device_string(bad); }, ErrorCode::invalid_argument);
    EXPECT_NE(msg.find("device string"), std::string::npos) << bad;
  }
}

TEST(CoreApi, DiscoversRefAndAutoAndNamesAvailableDevicesOnError) {
  Core core;
  auto devices = core.get_available_devices();
  EXPECT_NE(std::find(devices.begin(), devices.end(), "REF"), devices.end());
  EXPECT_NE(std::find(devices.begin(), devices.end(), "AUTO"), devices.end());
  auto msg = message_of([&] { core.compile_model(testing::identity_model(), "NPU7"); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("unknown device 'NPU7'"), std::string::npos);
  EXPECT_NE(msg.find("REF"), std::string::npos);
  msg = message_of([&] { core.compile_model(testing::identity_model(), "REF:CPU"); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("only AUTO and MULTI"), std::string::npos);
  msg = message_of([&] { core.compile_model(testing::identity_model(), "AUTO:NOPE"); }, ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("unknown device 'NOPE'"), std::string::npos);
}

TEST(CoreApi, DevicePropertiesAreReadable) {
  Core core;
  EXPECT_FALSE(core.get_property("REF", "device_full_name").empty());
  auto caps = core.get_property("REF", device_capabilities);
  EXPECT_NE(std::find(caps.begin(), caps.end(), "FP32"), caps.end());
  message_of([&] { core.get_property("REF", "no_such_property"); }, ErrorCode::not_found);
}

TEST(CoreApi, AutoWithExplicitCandidatesUsesThem) {
  Core core;
  auto compiled = core.compile_model(testing::identity_model(), "AUTO:REF");
  EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"REF"});
  EXPECT_EQ(compiled.device(), "AUTO:REF");
}

TEST(CoreApi, AutoSkipsDevicesThatCannotRunTheModel) {
  Core core;
  // TESTDEV only runs Identity, so Add/Relu go to REF even though TESTDEV ranks higher.
  auto compiled = core.compile_model(testing::add_relu_model(), "AUTO:TESTDEV,REF");
  EXPECT_EQ(compiled.get_property(execution_devices), std::vector<std::string>{"REF"});
}

TEST(CoreApi, MissingModelFileAndUnknownBuiltin) {
  Core core;
  auto msg = message_of([&] { core.read_model("/no/such/model.onnx"); }, ErrorCode::not_found);
  EXPECT_NE(msg.find("/no/such/model.onnx"), std::string::npos);
  msg = message_of([&] { core.read_model("builtin:alexnet"); }, ErrorCode::not_found);
  EXPECT_NE(msg.find("resnet50"), std::string::npos);
}

TEST(CoreApi, BadCompilePropertyIsRejected) {
  Core core;
  auto msg = message_of([&] { core.compile_model(testing::identity_model(), "REF", {{"num_streams", "many"}}); },
                        ErrorCode::invalid_argument);
  EXPECT_NE(msg.find("num_streams"), std::string::npos);
  message_of([] { Core bad(Properties{{"log_level", "loud"}}); }, ErrorCode::invalid_argument);
}

TEST(Tensor, OwningTensorsAreAlignedZeroedAndShared) {
  Tensor t(ElementType::f32, {3, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.size(), 15u);
  EXPECT_EQ(t.byte_size(), 60u);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
  Tensor alias = t;
  alias.data<float>()[2] = 7;
  EXPECT_EQ(t.data<float>()[2], 7.f);
  Tensor deep = t.clone();
  deep.data<float>()[2] = 1;
  EXPECT_EQ(t.data<float>()[2], 7.f);
  EXPECT_THROW(t.data<std::int32_t>(), Error);
}

TEST(Tensor, AllElementTypesHaveSizes) {
  for (auto [type, size] : std::vector<std::pair<ElementType, std::size_t>>{
           {ElementType::f32, 4}, {ElementType::f16, 2}, {ElementType::bf16, 2}, {ElementType::f64, 8},
           {ElementType::i64, 8}, {ElementType::i32, 4}, {ElementType::i8, 1}, {ElementType::u8, 1},
           {ElementType::boolean, 1}}) {
    Tensor t(type, {2, 2});
    EXPECT_EQ(t.byte_size(), 4 * size) << to_string(type);
    EXPECT_EQ(parse_element_type(to_string(type)), type);
  }
  EXPECT_THROW(parse_element_type("f8"), Error);
}

TEST(Tensor, WrappingUsesUserMemoryAndRefusesToGrow) {
  float buffer[6] = {1, 2, 3, 4, 5, 6};
  Tensor t(ElementType::f32, {2, 3}, buffer);
  EXPECT_FALSE(t.owns_memory());
  EXPECT_EQ(t.data<float>(), buffer);
  t.set_shape({3, 2});
  EXPECT_THROW(t.set_shape({4, 2}), Error);
  Tensor owning(ElementType::f32, {1});
  owning.set_shape({100});
  EXPECT_EQ(owning.size(), 100u);
}

TEST(Tensor, HugeShapesAreRejectedBeforeAllocating) {
  EXPECT_THROW(Tensor(ElementType::f32, {1000000, 1000000, 1000}), Error);
  EXPECT_THROW(Tensor(ElementType::f32, {-1, 3}), Error);
}

TEST(Tensor, HalfPrecisionConversionsRoundToNearest) {
  for (float v : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 1e-7f, 3.14159f}) {
    const float back = float(float16(v));
    EXPECT_NEAR(back, v, std::abs(v) * 1e-3 + 1e-7) << v;
    EXPECT_NEAR(float(bfloat16(v)), v, std::abs(v) * 1e-2 + 1e-30) << v;
  }
  EXPECT_TRUE(std::isinf(float(float16(1e6f))));
  EXPECT_TRUE(std::isnan(float(float16(std::nanf("")))));
}

TEST(PartialShapeTest, DynamicDimsPrintAndMatch) {
  PartialShape p({Dimension::dynamic("batch"), 3, Dimension::dynamic()});
  EXPECT_EQ(p.to_string(), "[batch,3,?]");
  EXPECT_FALSE(p.is_static());
  EXPECT_TRUE(p.compatible({8, 3, 5}));
  EXPECT_FALSE(p.compatible({8, 4, 5}));
  EXPECT_FALSE(p.compatible({8, 3}));
  EXPECT_THROW(p.to_shape(), Error);
}

}  // namespace
}  // namespace autosched
