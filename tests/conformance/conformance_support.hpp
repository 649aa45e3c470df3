#pragma once
// Shared pieces of the device conformance suite: the list of devices every
// conformance test is instantiated for, per-device tolerances, tensor
// comparison and deterministic input generation. Every device is checked
// against REF (the reference kernels) or against ONNX expected outputs.
#include <cstdint>
#include <string>
#include <vector>

#include "autosched/tensor.hpp"

namespace autosched::conformance {

// The devices the whole suite runs on. A new device joins by adding one line.
inline const std::vector<std::string> kConformanceDevices = {
    "REF",
    "OCL.0",
    "CPU",
    "SIM.cpu_like",  // reference kernels behind a simulated timing model: exact
    // The virtual devices over exact devices (cheap to compile): AUTO's single
    // device and MULTI's two, each op falling back to REF where SIM lacks it.
    "AUTO:SIM.cpu_like,REF",
    "MULTI:SIM.cpu_like,REF",
};

// Allowed difference |actual - expected| <= atol + rtol * |expected|.
struct Tolerance {
  double rtol = 1e-4;
  double atol = 1e-5;
};

// The default tolerance of a device (REF: rtol 1e-4, atol 1e-5). Devices that
// compute differently (fused kernels, other summation orders) state theirs here.
Tolerance device_tolerance(const std::string& device);

// "SIM.cpu_like" → "SIM_cpu_like": only [A-Za-z0-9_] survive (gtest names).
std::string sanitize_name(const std::string& name);

// Compares `actual` with `expected`: element types and shapes must be equal;
// f32/f64/f16/bf16 within `tol` (16-bit types after conversion to float, with
// rtol raised to at least one unit of their precision), NaN positions equal,
// infinities equal; integer and boolean types exactly. Returns "" when equal,
// else a message with the mismatch count, max error and the first mismatches.
std::string compare_tensors(const Tensor& expected, const Tensor& actual, const Tolerance& tol);

// A tensor filled deterministically (same bits on every platform): floats
// uniform in [-1, 1), integers uniform in [int_low, int_high), booleans 0/1.
Tensor make_uniform_tensor(ElementType type, const Shape& shape, std::uint32_t seed,
                           std::int64_t int_low = 0, std::int64_t int_high = 16);

// True when `device` (or, for "AUTO:..." / "CPU(2)", its leading name) is one
// of the devices the core reports available.
bool device_available(const std::vector<std::string>& available, const std::string& device);

}  // namespace autosched::conformance
