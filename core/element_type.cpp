#include "autosched/element_type.hpp"

#include <array>
#include <string>

#include "autosched/error.hpp"

namespace autosched {

namespace {
constexpr std::array<ElementType, 9> kAllTypes = {ElementType::f32, ElementType::f16, ElementType::bf16,
                                                  ElementType::f64, ElementType::i64, ElementType::i32,
                                                  ElementType::i8,  ElementType::u8,  ElementType::boolean};
}

std::size_t element_size(ElementType t) noexcept {
  switch (t) {
    case ElementType::f64:
    case ElementType::i64: return 8;
    case ElementType::f32:
    case ElementType::i32: return 4;
    case ElementType::f16:
    case ElementType::bf16: return 2;
    case ElementType::i8:
    case ElementType::u8:
    case ElementType::boolean: return 1;
    case ElementType::undefined: return 0;
  }
  return 0;
}

const char* to_string(ElementType t) noexcept {
  switch (t) {
    case ElementType::f32: return "f32";
    case ElementType::f16: return "f16";
    case ElementType::bf16: return "bf16";
    case ElementType::f64: return "f64";
    case ElementType::i64: return "i64";
    case ElementType::i32: return "i32";
    case ElementType::i8: return "i8";
    case ElementType::u8: return "u8";
    case ElementType::boolean: return "boolean";
    case ElementType::undefined: return "undefined";
  }
  return "undefined";
}

ElementType parse_element_type(std::string_view name) {
  std::string valid;
  for (ElementType t : kAllTypes) {
    if (name == to_string(t)) return t;
    valid += valid.empty() ? "" : ", ";
    valid += to_string(t);
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown element type '" + std::string(name) + "'; valid types: " + valid);
}

std::uint16_t float16::from_float(float f) noexcept {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  std::uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // overflow → inf (incl. rounding up)
  if (abs < 0x38800000u) {                                        // subnormal or zero in half
    if (abs < 0x33000000u) return std::uint16_t(sign);            // rounds to zero
    const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 113 - int(abs >> 23) + 13;  // 126 - exp, plus 13 mantissa bits dropped
    std::uint32_t half = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u);
    const std::uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return std::uint16_t(sign | half);
  }
  std::uint32_t half = ((abs - 0x38000000u) >> 13);
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return std::uint16_t(sign | half);
}

float float16::to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace autosched
