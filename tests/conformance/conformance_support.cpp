#include "conformance_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

namespace autosched::conformance {

Tolerance device_tolerance(const std::string& device) {
  // One line per device whose arithmetic differs from the reference kernels.
  static const std::map<std::string, Tolerance> table = {
      {"REF", {1e-4, 1e-5}},
      // f32 kernels with other summation orders (CLBlast GEMM tiles, im2col), BN folded into conv weights.
      {"OCL.0", {1e-3, 1e-4}},
      // oneDNN f32 (blocked layouts, BN folded into conv weights, fused post-ops): REF's tolerance holds,
      // including resnet50. bf16 is not run here; it is checked by top-1 agreement (cpu_device_test).
      {"CPU", {1e-4, 1e-5}},
  };
  auto it = table.find(device);
  return it == table.end() ? Tolerance{} : it->second;
}

std::string sanitize_name(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out.empty() ? std::string("_") : out;
}

namespace {

bool is_float_type(ElementType t) {
  return t == ElementType::f32 || t == ElementType::f64 || t == ElementType::f16 || t == ElementType::bf16;
}

// Element i of a floating tensor as double.
double float_at(const Tensor& t, std::size_t i) {
  switch (t.element_type()) {
    case ElementType::f32: return t.data<float>()[i];
    case ElementType::f64: return t.data<double>()[i];
    case ElementType::f16: return double(float(t.data<float16>()[i]));
    case ElementType::bf16: return double(float(t.data<bfloat16>()[i]));
    default: return 0.0;
  }
}

// Element i of an integer/boolean tensor as int64 (u8 and bool zero-extended).
std::int64_t int_at(const Tensor& t, std::size_t i) {
  switch (t.element_type()) {
    case ElementType::i64: return t.data<std::int64_t>()[i];
    case ElementType::i32: return t.data<std::int32_t>()[i];
    case ElementType::i8: return t.data<std::int8_t>()[i];
    case ElementType::u8: return t.data<std::uint8_t>()[i];
    case ElementType::boolean: {
      std::uint8_t b;
      std::memcpy(&b, static_cast<const std::uint8_t*>(t.data()) + i, 1);
      return b != 0;
    }
    default: return 0;
  }
}

// Flat index → "[i,j,k]" for messages.
std::string index_string(const Shape& shape, std::size_t flat) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(shape[d], 1));
    idx[d] = static_cast<std::int64_t>(flat % n);
    flat /= n;
  }
  return to_string(Shape(idx));
}

// Minimum rtol for 16-bit float results: one unit in the last place of
// their mantissa (f16: 2^-10, bf16: 2^-7), since a correctly rounded result
// computed in f32 may differ from the expected one by one rounding step.
double min_rtol(ElementType t) {
  if (t == ElementType::f16) return 1.0 / 1024;
  if (t == ElementType::bf16) return 1.0 / 128;
  return 0.0;
}

}  // namespace

std::string compare_tensors(const Tensor& expected, const Tensor& actual, const Tolerance& tol) {
  std::ostringstream msg;
  if (actual.empty()) return "output tensor is empty";
  if (expected.element_type() != actual.element_type()) {
    msg << "element type " << to_string(actual.element_type()) << ", expected "
        << to_string(expected.element_type());
    return msg.str();
  }
  if (expected.shape() != actual.shape()) {
    msg << "shape " << to_string(actual.shape()) << ", expected " << to_string(expected.shape());
    return msg.str();
  }
  const ElementType type = expected.element_type();
  const std::size_t n = expected.size();
  std::size_t mismatches = 0;
  double max_abs = 0.0;
  std::ostringstream first;
  first.precision(9);
  const int kShown = 5;

  if (is_float_type(type)) {
    const double rtol = std::max(tol.rtol, min_rtol(type));
    for (std::size_t i = 0; i < n; ++i) {
      const double e = float_at(expected, i);
      const double a = float_at(actual, i);
      bool ok;
      if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a)) ok = e == a;
      else {
        const double diff = std::fabs(a - e);
        max_abs = std::max(max_abs, diff);
        ok = diff <= tol.atol + rtol * std::fabs(e);
      }
      if (!ok && mismatches++ < kShown)
        first << "\n  at " << index_string(expected.shape(), i) << ": actual " << a << ", expected " << e;
    }
    if (mismatches == 0) return {};
    msg << mismatches << " of " << n << " " << to_string(type) << " elements differ (rtol " << rtol
        << ", atol " << tol.atol << ", max abs diff " << max_abs << ")" << first.str();
    return msg.str();
  }

  switch (type) {
    case ElementType::i64: case ElementType::i32: case ElementType::i8:
    case ElementType::u8: case ElementType::boolean: break;
    default: return std::string("cannot compare element type ") + to_string(type);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t e = int_at(expected, i);
    const std::int64_t a = int_at(actual, i);
    if (e != a && mismatches++ < kShown)
      first << "\n  at " << index_string(expected.shape(), i) << ": actual " << a << ", expected " << e;
  }
  if (mismatches == 0) return {};
  msg << mismatches << " of " << n << " " << to_string(type) << " elements differ (exact)" << first.str();
  return msg.str();
}

Tensor make_uniform_tensor(ElementType type, const Shape& shape, std::uint32_t seed,
                           std::int64_t int_low, std::int64_t int_high) {
  Tensor t(type, shape);
  // mt19937's output sequence is fixed by the standard; the transforms below
  // are ours (std::uniform_*_distribution differ between standard libraries).
  std::mt19937 engine(seed);
  const std::size_t n = t.size();
  const auto unit = [&] { return double(engine() >> 8) * (1.0 / 16777216.0); };  // [0, 1)
  const auto span = static_cast<std::uint64_t>(std::max<std::int64_t>(int_high - int_low, 1));
  const auto integer = [&] { return int_low + static_cast<std::int64_t>(engine() % span); };
  for (std::size_t i = 0; i < n; ++i) {
    switch (type) {
      case ElementType::f32: t.data<float>()[i] = float(2.0 * unit() - 1.0); break;
      case ElementType::f64: t.data<double>()[i] = 2.0 * unit() - 1.0; break;
      case ElementType::f16: t.data<float16>()[i] = float16(float(2.0 * unit() - 1.0)); break;
      case ElementType::bf16: t.data<bfloat16>()[i] = bfloat16(float(2.0 * unit() - 1.0)); break;
      case ElementType::i64: t.data<std::int64_t>()[i] = integer(); break;
      case ElementType::i32: t.data<std::int32_t>()[i] = static_cast<std::int32_t>(integer()); break;
      case ElementType::i8: t.data<std::int8_t>()[i] = static_cast<std::int8_t>(integer()); break;
      case ElementType::u8: t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(integer()); break;
      case ElementType::boolean: static_cast<std::uint8_t*>(t.data())[i] = engine() & 1u; break;
      default: break;
    }
  }
  return t;
}

bool device_available(const std::vector<std::string>& available, const std::string& device) {
  // "AUTO:CPU,REF" and "CPU(2)" are available when their device family is.
  const std::string base = device.substr(0, device.find_first_of(":("));
  return std::find(available.begin(), available.end(), base) != available.end();
}

}  // namespace autosched::conformance
