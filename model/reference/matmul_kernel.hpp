#pragma once
// The one dot-product engine of the reference kernels (MatMul, Gemm, Conv):
// every output element is sum_k a(m,k) * b(k,n) accumulated in double in
// ascending k, so results do not depend on tiling or thread count. Operands
// are packed into 4x4 register tiles so the plain loops vectorise.
// Header-only, internal.
#include <tbb/parallel_for.h>

#include <cstring>
#include <vector>

#include "model/reference/kernel_support.hpp"

namespace autosched::reference {

// f32 view of a floating tensor: the data itself for f32, a converted copy
// for f16/bf16/f64. Fails naming the node for other types.
class FloatInput {
 public:
  FloatInput(const ir::Node& node, const Tensor& t) {
    if (t.element_type() == ElementType::f32) {
      ptr_ = static_cast<const float*>(t.data());
      return;
    }
    copy_.resize(t.size());
    dispatch_type(t.element_type(), node, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T>) {
        fail(node, std::string("element type ") + to_string(t.element_type()) + " is not supported",
             ErrorCode::unsupported);
      } else {
        const T* p = static_cast<const T*>(t.data());
        for (std::size_t i = 0; i < copy_.size(); ++i) copy_[i] = float(to_double(p[i]));
      }
    });
    ptr_ = copy_.data();
  }
  const float* data() const { return ptr_; }

 private:
  const float* ptr_ = nullptr;
  std::vector<float> copy_;
};

// Converts an f32 result buffer into a tensor of `type` (f32 is moved as is).
inline Tensor float_output(const ir::Node& node, ElementType type, const Shape& shape, const std::vector<float>& v) {
  Tensor out(type, shape);
  dispatch_type(type, node, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.data());
    for (std::size_t i = 0; i < v.size(); ++i) p[i] = from_double<T>(double(v[i]));
  });
  return out;
}

namespace matmul_detail {
inline void micro_4x4(const double* __restrict ap, const float* __restrict bp, std::int64_t k_len,
                      double* __restrict out) {
  double c[4][4] = {};
  for (std::int64_t k = 0; k < k_len; ++k) {
    const double* a = ap + 4 * k;
    const float* b = bp + 4 * k;
    const double bd[4] = {b[0], b[1], b[2], b[3]};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) c[i][j] += a[i] * bd[j];
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) out[i * 4 + j] = c[i][j];
}
}  // namespace matmul_detail

// Serial tile: for m in [m0,m1), n in [n0,n1) calls store(m, n, acc) with
// acc = sum_k a[m*lda + k] * b[k*ldb + n] (double, k ascending).
template <class Store>
void matmul_tile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, std::int64_t k_len,
                 std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1, Store&& store) {
  const std::int64_t mb = (m1 - m0 + 3) / 4, nb = (n1 - n0 + 3) / 4;
  std::vector<float> bp(std::size_t(nb * k_len * 4), 0.0f);  // [nb][k][4]
  for (std::int64_t k = 0; k < k_len; ++k) {
    const float* row = b + k * ldb;
    for (std::int64_t n = n0; n < n1; ++n) {
      const std::int64_t j = n - n0;
      bp[std::size_t(((j / 4) * k_len + k) * 4 + j % 4)] = row[n];
    }
  }
  std::vector<double> ap(std::size_t(k_len * 4));  // [k][4] for one block of 4 rows
  double tile[16];
  for (std::int64_t bi = 0; bi < mb; ++bi) {
    const std::int64_t mr = m0 + bi * 4;
    const int rows = int(std::min<std::int64_t>(4, m1 - mr));
    for (int i = 0; i < 4; ++i) {
      const float* arow = a + (mr + (i < rows ? i : 0)) * lda;
      for (std::int64_t k = 0; k < k_len; ++k) ap[std::size_t(k * 4 + i)] = i < rows ? double(arow[k]) : 0.0;
    }
    for (std::int64_t bj = 0; bj < nb; ++bj) {
      matmul_detail::micro_4x4(ap.data(), bp.data() + bj * k_len * 4, k_len, tile);
      const std::int64_t nc = n0 + bj * 4;
      const int cols = int(std::min<std::int64_t>(4, n1 - nc));
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) store(mr + i, nc + j, tile[i * 4 + j]);
    }
  }
}

// Runs `batches` independent M x N products in parallel tiles:
// tile(batch, m0, m1, n0, n1). Each output element is produced by exactly one tile.
template <class Tile>
void parallel_matmul_tiles(std::int64_t batches, std::int64_t m, std::int64_t n, Tile&& tile) {
  constexpr std::int64_t kTileM = 64, kTileN = 64;
  const std::int64_t tm = (m + kTileM - 1) / kTileM, tn = (n + kTileN - 1) / kTileN;
  const std::int64_t total = batches * tm * tn;
  if (total <= 0) return;
  tbb::parallel_for(std::int64_t(0), total, [&](std::int64_t t) {
    const std::int64_t batch = t / (tm * tn), rest = t % (tm * tn);
    const std::int64_t i = rest / tn, j = rest % tn;
    tile(batch, i * kTileM, std::min(m, (i + 1) * kTileM), j * kTileN, std::min(n, (j + 1) * kTileN));
  });
}

}  // namespace autosched::reference
