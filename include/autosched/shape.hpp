#pragma once
// Static shapes (Shape) and shapes with unknown dimensions (PartialShape).
#include <cstdint>
#include <string>
#include <vector>

namespace autosched {

using Shape = std::vector<std::int64_t>;

// Number of elements of a static shape (1 for a scalar []).
std::int64_t shape_size(const Shape& s) noexcept;
std::string to_string(const Shape& s);  // "[1,3,224,224]"

// One dimension: a known length, or dynamic (length < 0) with an optional
// symbol ("batch") so that equal unknown dims stay linked.
struct Dimension {
  std::int64_t length = -1;
  std::string symbol;

  Dimension() = default;
  Dimension(std::int64_t n) : length(n) {}  // NOLINT: implicit from a length is the point
  static Dimension dynamic(std::string sym = {}) { Dimension d; d.symbol = std::move(sym); return d; }
  bool is_static() const noexcept { return length >= 0; }
  bool operator==(const Dimension&) const = default;
};

// A shape whose rank may be unknown and whose dims may be dynamic.
class PartialShape {
 public:
  PartialShape() = default;  // rank 0, static (a scalar)
  PartialShape(std::vector<Dimension> dims) : dims_(std::move(dims)) {}  // NOLINT
  PartialShape(const Shape& s);                                         // NOLINT
  static PartialShape dynamic_rank() { PartialShape p; p.rank_known_ = false; return p; }

  bool rank_known() const noexcept { return rank_known_; }
  std::size_t rank() const noexcept { return dims_.size(); }
  bool is_static() const noexcept;
  const std::vector<Dimension>& dims() const noexcept { return dims_; }
  std::vector<Dimension>& dims() noexcept { return dims_; }
  const Dimension& operator[](std::size_t i) const { return dims_.at(i); }
  // Throws Error(invalid_argument) when a dim is dynamic.
  Shape to_shape() const;
  // True when a concrete shape fits (same rank, equal static dims).
  bool compatible(const Shape& s) const noexcept;
  std::string to_string() const;  // "[?,3,224,224]" / "[batch,128]" / "[...]"
  bool operator==(const PartialShape&) const = default;

 private:
  std::vector<Dimension> dims_;
  bool rank_known_ = true;
};

}  // namespace autosched
