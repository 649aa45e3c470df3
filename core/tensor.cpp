#include "autosched/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace autosched {

namespace {
constexpr std::size_t kAlignment = 64;
// Refuse absurd allocations with a clear error instead of std::bad_alloc.
constexpr std::size_t kMaxTensorBytes = std::size_t(1) << 40;

std::size_t checked_bytes(ElementType type, const Shape& shape) {
  if (type == ElementType::undefined)
    throw Error(ErrorCode::invalid_argument, "tensor element type is undefined");
  std::size_t n = 1;
  for (auto d : shape) {
    if (d < 0)
      throw Error(ErrorCode::invalid_argument, "tensor shape " + to_string(shape) + " has a negative dimension");
    if (d != 0 && n > kMaxTensorBytes / std::size_t(d))
      throw Error(ErrorCode::resource_exhausted, "tensor shape " + to_string(shape) + " is too large to allocate");
    n *= std::size_t(d);
  }
  const std::size_t bytes = n * element_size(type);
  if (bytes > kMaxTensorBytes)
    throw Error(ErrorCode::resource_exhausted, "tensor shape " + to_string(shape) + " is too large to allocate");
  return bytes;
}
}  // namespace

struct Tensor::Impl {
  ElementType type = ElementType::undefined;
  Shape shape;
  void* data = nullptr;
  std::size_t capacity = 0;  // bytes available at data
  bool owning = false;

  ~Impl() {
    if (owning) std::free(data);
  }
  void allocate(std::size_t bytes) {
    const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
    if (!p) throw Error(ErrorCode::resource_exhausted, "out of memory allocating " + std::to_string(bytes) + " bytes");
    std::memset(p, 0, rounded == 0 ? kAlignment : rounded);
    if (owning) std::free(data);
    data = p;
    capacity = rounded;
    owning = true;
  }
};

Tensor::Tensor(ElementType type, Shape shape) : impl_(std::make_shared<Impl>()) {
  const std::size_t bytes = checked_bytes(type, shape);
  impl_->type = type;
  impl_->shape = std::move(shape);
  impl_->allocate(bytes);
}

Tensor::Tensor(ElementType type, Shape shape, void* data) : impl_(std::make_shared<Impl>()) {
  const std::size_t bytes = checked_bytes(type, shape);
  if (!data && bytes)
    throw Error(ErrorCode::invalid_argument, "wrapping tensor of shape " + to_string(shape) + " got a null pointer");
  impl_->type = type;
  impl_->shape = std::move(shape);
  impl_->data = data;
  impl_->capacity = bytes;
}

ElementType Tensor::element_type() const noexcept { return impl_ ? impl_->type : ElementType::undefined; }

const Shape& Tensor::shape() const noexcept {
  static const Shape kEmpty;
  return impl_ ? impl_->shape : kEmpty;
}

std::size_t Tensor::size() const noexcept { return impl_ ? std::size_t(shape_size(impl_->shape)) : 0; }
std::size_t Tensor::byte_size() const noexcept { return size() * element_size(element_type()); }
void* Tensor::data() noexcept { return impl_ ? impl_->data : nullptr; }
const void* Tensor::data() const noexcept { return impl_ ? impl_->data : nullptr; }
bool Tensor::owns_memory() const noexcept { return impl_ && impl_->owning; }

void Tensor::check_type(ElementType requested) const {
  if (!impl_) throw Error(ErrorCode::invalid_argument, "access to an empty tensor");
  if (requested != impl_->type)
    throw Error(ErrorCode::invalid_argument, std::string("tensor holds ") + to_string(impl_->type) +
                                                 " elements, not " + to_string(requested));
}

void Tensor::set_shape(Shape shape) {
  if (!impl_) throw Error(ErrorCode::invalid_argument, "set_shape on an empty tensor");
  const std::size_t bytes = checked_bytes(impl_->type, shape);
  if (bytes > impl_->capacity) {
    if (!impl_->owning)
      throw Error(ErrorCode::invalid_argument, "wrapped tensor memory of " + std::to_string(impl_->capacity) +
                                                   " bytes cannot hold shape " + to_string(shape));
    impl_->allocate(bytes);
  }
  impl_->shape = std::move(shape);
}

Tensor Tensor::clone() const {
  if (!impl_) return {};
  Tensor t(impl_->type, impl_->shape);
  if (byte_size()) std::memcpy(t.data(), data(), byte_size());
  return t;
}

void Tensor::copy_to(Tensor& dst) const {
  if (!impl_) throw Error(ErrorCode::invalid_argument, "copy_to from an empty tensor");
  if (dst.empty()) {
    dst = clone();
    return;
  }
  if (dst.element_type() != element_type())
    throw Error(ErrorCode::invalid_argument, std::string("copy_to: destination holds ") +
                                                 to_string(dst.element_type()) + ", source " +
                                                 to_string(element_type()));
  if (dst.same_memory(*this)) return;
  dst.set_shape(shape());
  if (byte_size()) std::memmove(dst.data(), data(), byte_size());
}

}  // namespace autosched
