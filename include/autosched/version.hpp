#pragma once
namespace autosched {
inline constexpr int version_major = 0;
inline constexpr int version_minor = 1;
inline constexpr int version_patch = 0;
const char* version_string() noexcept;
}  // namespace autosched
