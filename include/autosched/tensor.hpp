#pragma once
// Tensor: a typed, shaped block of memory with shared handle semantics.
// Copying a Tensor copies the handle (both refer to the same memory); use
// clone() for a deep copy. Owning tensors are 64-byte aligned and zeroed.
// Not thread-safe for concurrent writes to the same memory (like any buffer).
#include <memory>

#include "autosched/element_type.hpp"
#include "autosched/error.hpp"
#include "autosched/shape.hpp"

namespace autosched {

class Tensor {
 public:
  Tensor() = default;  // empty: no type, no memory
  // Owning: allocates 64-byte aligned, zero-filled memory.
  Tensor(ElementType type, Shape shape);
  // Wrapping: uses `data` (not owned, not freed); the caller keeps it alive
  // and sized for shape_size(shape) elements while the tensor is in use.
  Tensor(ElementType type, Shape shape, void* data);

  bool empty() const noexcept { return !impl_; }
  explicit operator bool() const noexcept { return !empty(); }
  ElementType element_type() const noexcept;
  const Shape& shape() const noexcept;
  std::size_t size() const noexcept;       // elements
  std::size_t byte_size() const noexcept;  // size() * element_size
  void* data() noexcept;
  const void* data() const noexcept;
  bool owns_memory() const noexcept;

  // Typed access; throws Error(invalid_argument) when T does not match.
  template <class T> T* data() {
    check_type(element_type_of<std::remove_const_t<T>>::value);
    return static_cast<T*>(data());
  }
  template <class T> const T* data() const {
    check_type(element_type_of<std::remove_const_t<T>>::value);
    return static_cast<const T*>(data());
  }

  // Changes the shape. An owning tensor reallocates when it needs more room;
  // a wrapping tensor throws Error(invalid_argument) if the new shape is larger.
  void set_shape(Shape shape);
  Tensor clone() const;                 // deep copy into a new owning tensor
  void copy_to(Tensor& dst) const;      // dst takes this shape (set_shape) and content; types must match
  bool same_memory(const Tensor& other) const noexcept { return impl_ == other.impl_; }

 private:
  void check_type(ElementType requested) const;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace autosched
