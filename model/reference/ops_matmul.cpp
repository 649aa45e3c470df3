// Reference MatMul (numpy semantics: broadcast batch dims, 1-D operands) and
// Gemm (alpha, beta, transA, transB, optional broadcast C). f32 math with
// double accumulation; f16/bf16/f64 inputs go through f32.
#include "model/reference/matmul_kernel.hpp"
#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"

namespace autosched::reference {
namespace {

// ---------------------------------------------------------------- MatMul

PartialShape matmul_shape(const ir::Node& node, const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known() || !b.rank_known()) return PartialShape::dynamic_rank();
  if (a.rank() == 0 || b.rank() == 0) fail(node, "operands must not be scalars");
  auto ad = a.dims(), bd = b.dims();
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), Dimension(1));
  if (b_vec) bd.push_back(Dimension(1));
  const Dimension& ka = ad.back();
  const Dimension& kb = bd[bd.size() - 2];
  if (ka.is_static() && kb.is_static() && ka.length != kb.length)
    fail(node, "inner dims differ: " + a.to_string() + " x " + b.to_string());
  const PartialShape batch = broadcast_partial(node, std::vector<Dimension>(ad.begin(), ad.end() - 2),
                                               std::vector<Dimension>(bd.begin(), bd.end() - 2));
  std::vector<Dimension> out = batch.dims();
  if (!a_vec) out.push_back(ad[ad.size() - 2]);
  if (!b_vec) out.push_back(bd.back());
  return PartialShape(out);
}

Tensor matmul(const ir::Node& node, const Tensor& a_t, const Tensor& b_t) {
  Shape as = a_t.shape(), bs = b_t.shape();
  if (as.empty() || bs.empty()) fail(node, "operands must not be scalars");
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    fail(node, "inner dims differ: " + to_string(a_t.shape()) + " x " + to_string(b_t.shape()));
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const Shape batch = broadcast_shapes(node, a_batch, b_batch);
  // Matrix index of each operand for every output batch index.
  std::vector<std::int64_t> a_index, b_index;
  const std::vector<std::int64_t> strides[2] = {broadcast_strides(a_batch, batch), broadcast_strides(b_batch, batch)};
  for_each_index(batch, strides, [&](std::int64_t, const std::int64_t* off) {
    a_index.push_back(off[0]);
    b_index.push_back(off[1]);
  });
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  const FloatInput a(node, a_t), b(node, b_t);
  std::vector<float> y(std::size_t(shape_size(out_shape)));
  if (k == 0) return float_output(node, a_t.element_type(), out_shape, y);
  parallel_matmul_tiles(std::int64_t(a_index.size()), m, n,
                        [&](std::int64_t bt, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
                          const float* ap = a.data() + a_index[std::size_t(bt)] * m * k;
                          const float* bp = b.data() + b_index[std::size_t(bt)] * k * n;
                          float* yp = y.data() + bt * m * n;
                          matmul_tile(ap, k, bp, n, k, m0, m1, n0, n1,
                                      [&](std::int64_t i, std::int64_t j, double acc) { yp[i * n + j] = float(acc); });
                        });
  return float_output(node, a_t.element_type(), out_shape, y);
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "MatMul",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& a = required_info(node, in, 0);
      const auto& b = required_info(node, in, 1);
      return std::vector{value_info(a.element_type, matmul_shape(node, a.shape, b.shape))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      return std::vector{matmul(node, required_input(node, in, 0), required_input(node, in, 1))};
    }});

// ---------------------------------------------------------------- Gemm

// Row-major [rows x cols] copy of a 2-D operand, transposed when asked.
std::vector<float> gemm_operand(const float* p, std::int64_t r, std::int64_t c, bool transpose) {
  std::vector<float> out(std::size_t(r * c));
  if (!transpose) {
    std::copy(p, p + r * c, out.begin());
  } else {
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < c; ++j) out[std::size_t(j * r + i)] = p[i * c + j];
  }
  return out;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Gemm",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& a = required_info(node, in, 0);
      const auto& b = required_info(node, in, 1);
      Dimension m = Dimension::dynamic(), n = Dimension::dynamic();
      if (a.shape.rank_known()) {
        if (a.shape.rank() != 2) fail(node, "A must be 2-D, got " + a.shape.to_string());
        m = a.shape[node.get_int("transA", 0) ? 1 : 0];
      }
      if (b.shape.rank_known()) {
        if (b.shape.rank() != 2) fail(node, "B must be 2-D, got " + b.shape.to_string());
        n = b.shape[node.get_int("transB", 0) ? 0 : 1];
      }
      return std::vector{value_info(a.element_type, PartialShape({m, n}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& a_t = required_input(node, in, 0);
      const Tensor& b_t = required_input(node, in, 1);
      if (a_t.shape().size() != 2 || b_t.shape().size() != 2)
        fail(node, "A and B must be 2-D, got " + to_string(a_t.shape()) + " and " + to_string(b_t.shape()));
      const bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
      const double alpha = node.get_float("alpha", 1.0), beta = node.get_float("beta", 1.0);
      const std::int64_t m = a_t.shape()[ta ? 1 : 0], k = a_t.shape()[ta ? 0 : 1];
      const std::int64_t n = b_t.shape()[tb ? 0 : 1];
      if (b_t.shape()[tb ? 1 : 0] != k)
        fail(node, "inner dims differ: " + to_string(a_t.shape()) + " x " + to_string(b_t.shape()));
      const FloatInput a_in(node, a_t), b_in(node, b_t);
      const auto a = gemm_operand(a_in.data(), a_t.shape()[0], a_t.shape()[1], ta);
      const auto b = gemm_operand(b_in.data(), b_t.shape()[0], b_t.shape()[1], tb);
      // C broadcast unidirectionally to [M, N].
      std::vector<double> c(std::size_t(m * n), 0.0);
      if (const Tensor* c_t = optional_input(in, 2)) {
        const Shape out{m, n};
        if (broadcast_shapes(node, c_t->shape(), out) != out)
          fail(node, "C of shape " + to_string(c_t->shape()) + " does not broadcast to " + to_string(out));
        const FloatInput c_in(node, *c_t);
        const std::vector<std::int64_t> strides[1] = {broadcast_strides(c_t->shape(), out)};
        for_each_index(out, strides, [&](std::int64_t i, const std::int64_t* off) {
          c[std::size_t(i)] = double(c_in.data()[off[0]]);
        });
      }
      std::vector<float> y(std::size_t(m * n));
      parallel_matmul_tiles(1, m, n, [&](std::int64_t, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
        matmul_tile(a.data(), k, b.data(), n, k, m0, m1, n0, n1, [&](std::int64_t i, std::int64_t j, double acc) {
          const std::size_t o = std::size_t(i * n + j);
          y[o] = float(alpha * acc + beta * c[o]);
        });
      });
      if (k == 0)
        for (std::size_t o = 0; o < y.size(); ++o) y[o] = float(beta * c[o]);
      return std::vector{float_output(node, a_t.element_type(), {m, n}, y)};
    }});

}  // namespace
}  // namespace autosched::reference
