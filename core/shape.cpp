#include "autosched/shape.hpp"

#include <limits>

#include "autosched/error.hpp"

namespace autosched {

std::int64_t shape_size(const Shape& s) noexcept {
  // Saturates instead of overflowing: a malformed model may declare dims near
  // INT64_MAX; the saturated size then fails every size comparison and
  // allocation check with a clear error.
  std::int64_t n = 1;
  for (auto d : s)
    if (__builtin_mul_overflow(n, d, &n)) return std::numeric_limits<std::int64_t>::max();
  return n;
}

std::string to_string(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

PartialShape::PartialShape(const Shape& s) {
  dims_.reserve(s.size());
  for (auto d : s) dims_.emplace_back(d);
}

bool PartialShape::is_static() const noexcept {
  if (!rank_known_) return false;
  for (const auto& d : dims_)
    if (!d.is_static()) return false;
  return true;
}

Shape PartialShape::to_shape() const {
  if (!is_static())
    throw Error(ErrorCode::invalid_argument, "shape " + to_string() + " has dynamic dimensions");
  Shape s;
  s.reserve(dims_.size());
  for (const auto& d : dims_) s.push_back(d.length);
  return s;
}

bool PartialShape::compatible(const Shape& s) const noexcept {
  if (!rank_known_) return true;
  if (s.size() != dims_.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (dims_[i].is_static() && dims_[i].length != s[i]) return false;
  return true;
}

std::string PartialShape::to_string() const {
  if (!rank_known_) return "[...]";
  std::string out = "[";
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i) out += ",";
    const auto& d = dims_[i];
    out += d.is_static() ? std::to_string(d.length) : (d.symbol.empty() ? "?" : d.symbol);
  }
  return out + "]";
}

}  // namespace autosched
