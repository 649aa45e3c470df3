#pragma once
// Element types of tensors, with their sizes, names and the 16-bit float types.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace autosched {

enum class ElementType { undefined, f32, f16, bf16, f64, i64, i32, i8, u8, boolean };

// Bytes per element (boolean is one byte). undefined → 0.
std::size_t element_size(ElementType t) noexcept;
// "f32", "f16", ... ; parse_element_type throws Error(invalid_argument) naming the valid names.
const char* to_string(ElementType t) noexcept;
ElementType parse_element_type(std::string_view name);

// IEEE half precision, stored as bits. Conversions round to nearest even.
struct float16 {
  std::uint16_t bits = 0;
  float16() = default;
  explicit float16(float f) : bits(from_float(f)) {}
  explicit operator float() const { return to_float(bits); }
  static std::uint16_t from_float(float f) noexcept;
  static float to_float(std::uint16_t h) noexcept;
};

// bfloat16: the upper 16 bits of an f32. Conversion rounds to nearest even.
struct bfloat16 {
  std::uint16_t bits = 0;
  bfloat16() = default;
  explicit bfloat16(float f) : bits(from_float(f)) {}
  explicit operator float() const {
    std::uint32_t u = std::uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static std::uint16_t from_float(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return std::uint16_t(u >> 16);
  }
};

// Maps a C++ type to its ElementType (used by Tensor::data<T>() checks).
template <class T> struct element_type_of;
template <> struct element_type_of<float> { static constexpr ElementType value = ElementType::f32; };
template <> struct element_type_of<float16> { static constexpr ElementType value = ElementType::f16; };
template <> struct element_type_of<bfloat16> { static constexpr ElementType value = ElementType::bf16; };
template <> struct element_type_of<double> { static constexpr ElementType value = ElementType::f64; };
template <> struct element_type_of<std::int64_t> { static constexpr ElementType value = ElementType::i64; };
template <> struct element_type_of<std::int32_t> { static constexpr ElementType value = ElementType::i32; };
template <> struct element_type_of<std::int8_t> { static constexpr ElementType value = ElementType::i8; };
template <> struct element_type_of<std::uint8_t> { static constexpr ElementType value = ElementType::u8; };
template <> struct element_type_of<bool> { static constexpr ElementType value = ElementType::boolean; };

}  // namespace autosched
