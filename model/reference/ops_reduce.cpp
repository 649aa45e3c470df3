// Reference kernels for the Reduce* family, ArgMax/ArgMin and CumSum.
//
// Axes come from input 1 when present (ReduceSum since opset 13, every Reduce
// op since 18) or from the "axes" attribute; no axes means "all axes" unless
// noop_with_empty_axes=1, which makes the op an identity. Float types
// accumulate in double, integers in int64, in a fixed order per output
// element; output elements are computed in parallel.
#include <cmath>
#include <limits>
#include <optional>

#include "model/reference/elementwise_loops.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

// Which input axes to reduce, or std::nullopt when the op is an identity.
std::optional<std::vector<bool>> reduced_axes(const ir::Node& node, std::size_t rank,
                                              const std::vector<std::int64_t>& axes) {
  if (axes.empty()) {
    if (node.get_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
    return std::vector<bool>(rank, true);
  }
  std::vector<bool> reduced(rank, false);
  for (auto a : axes) {
    const auto n = normalize_axis(node, a, std::int64_t(rank));
    if (reduced[std::size_t(n)]) fail(node, "axis " + std::to_string(a) + " is listed twice");
    reduced[std::size_t(n)] = true;
  }
  return reduced;
}

std::vector<std::int64_t> axes_of(const ir::Node& node, const std::vector<Tensor>& in) {
  if (in.size() > 1 && !in[1].empty()) return int_values(node, in[1]);
  return node.get_ints("axes");
}

// The accumulator view of an element: double for float types, int64 otherwise.
template <class T> auto to_double_or_native(T v) {
  if constexpr (is_float_element_v<T>) return to_double(v);
  else return std::int64_t(v);
}

// For every output element (in parallel) folds the reduced elements of x in
// row-major order: acc = step(acc, value) from init, then out = finish(acc, count).
template <class T, class A, class Step, class Finish>
Tensor reduce_tensor(const Tensor& x, const std::vector<bool>& reduced, bool keepdims, A init, Step step,
                     Finish finish) {
  const Shape& shape = x.shape();
  const auto strides = strides_of(shape);
  Shape out_shape, kept_dims, red_dims;
  std::vector<std::int64_t> kept_strides, red_strides;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      red_dims.push_back(shape[d]);
      red_strides.push_back(strides[d]);
      if (keepdims) out_shape.push_back(1);
    } else {
      kept_dims.push_back(shape[d]);
      kept_strides.push_back(strides[d]);
      out_shape.push_back(shape[d]);
    }
  }
  Tensor out(x.element_type(), out_shape);
  const T* src = x.data<T>();
  T* dst = out.data<T>();
  const std::int64_t count = shape_size(red_dims);
  const std::int64_t red_rank = std::int64_t(red_dims.size());
  parallel_chunks(shape_size(kept_dims), std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(count, 1)),
                  [&](std::int64_t b, std::int64_t e) {
    std::vector<std::int64_t> idx(red_dims.size());
    for (std::int64_t o = b; o < e; ++o) {
      std::int64_t base = 0, rem = o;
      for (std::size_t d = kept_dims.size(); d-- > 0;) {
        base += (rem % kept_dims[d]) * kept_strides[d];
        rem /= kept_dims[d];
      }
      A acc = init;
      std::fill(idx.begin(), idx.end(), 0);
      std::int64_t off = base;
      for (std::int64_t i = 0; i < count; ++i) {
        acc = step(acc, static_cast<A>(to_double_or_native(src[off])));
        for (std::int64_t d = red_rank; d-- > 0;) {
          off += red_strides[std::size_t(d)];
          if (++idx[std::size_t(d)] < red_dims[std::size_t(d)]) break;
          off -= red_strides[std::size_t(d)] * red_dims[std::size_t(d)];
          idx[std::size_t(d)] = 0;
        }
      }
      dst[o] = convert_element<T>(finish(acc, count));
    }
  });
  return out;
}

// Reduce op: step/finish are generic over the accumulator (double for float
// types, int64 for integers); init_low/init_high pick the neutral start.
enum class Start { zero, one, lowest, highest };

template <class Step, class Finish>
OpDefinition reduce_op(std::string name, Start start, Step step, Finish finish) {
  auto infer = [](const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                  const std::vector<const Tensor*>& constants) {
    const auto& x = required_info(node, in, 0);
    const bool keepdims = node.get_int("keepdims", 1) != 0;
    std::vector<std::int64_t> axes = node.get_ints("axes");
    if (node.has_input(1)) {
      if (constants.size() < 2 || !constants[1]) {  // axes only known at run time
        if (!keepdims || !x.shape.rank_known()) return std::vector<ir::ValueInfo>{{x.element_type, PartialShape::dynamic_rank()}};
        return std::vector<ir::ValueInfo>{{x.element_type, PartialShape(std::vector<Dimension>(x.shape.rank()))}};
      }
      axes = int_values(node, *constants[1]);
    }
    if (!x.shape.rank_known()) return std::vector<ir::ValueInfo>{{x.element_type, PartialShape::dynamic_rank()}};
    const auto reduced = reduced_axes(node, x.shape.rank(), axes);
    if (!reduced) return std::vector<ir::ValueInfo>{x};
    std::vector<Dimension> dims;
    for (std::size_t d = 0; d < x.shape.rank(); ++d) {
      if (!(*reduced)[d]) dims.push_back(x.shape[d]);
      else if (keepdims) dims.push_back(Dimension(1));
    }
    return std::vector<ir::ValueInfo>{{x.element_type, PartialShape(dims)}};
  };
  auto evaluate = [start, step, finish](const ir::Node& node, const std::vector<Tensor>& in) {
    const Tensor& x = required_input(node, in, 0);
    const auto reduced = reduced_axes(node, x.shape().size(), axes_of(node, in));
    if (!reduced) return std::vector<Tensor>{x.clone()};
    const bool keepdims = node.get_int("keepdims", 1) != 0;
    return std::vector<Tensor>{dispatch_type(x.element_type(), node, [&](auto tag) -> Tensor {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        fail(node, "element type boolean is not supported", ErrorCode::unsupported);
      } else {
        using A = std::conditional_t<is_float_element_v<T>, double, std::int64_t>;
        A init{};
        switch (start) {
          case Start::zero: init = A(0); break;
          case Start::one: init = A(1); break;
          case Start::lowest:
            if constexpr (is_float_element_v<T>) init = -std::numeric_limits<double>::infinity();
            else init = A(std::numeric_limits<T>::lowest());
            break;
          case Start::highest:
            if constexpr (is_float_element_v<T>) init = std::numeric_limits<double>::infinity();
            else init = A(std::numeric_limits<T>::max());
            break;
        }
        return reduce_tensor<T, A>(x, *reduced, keepdims, init, step, finish);
      }
    })};
  };
  return OpDefinition{std::move(name), infer, evaluate};
}

const auto sum_step = [](auto a, auto v) { return a + v; };
const auto identity_finish = [](auto a, std::int64_t) { return a; };

AUTOSCHED_REGISTER_OP(reduce_op("ReduceSum", Start::zero, sum_step, identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceMean", Start::zero, sum_step, [](auto a, std::int64_t n) {
  return n == 0 ? a : decltype(a)(a / n);
}));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceProd", Start::one, [](auto a, auto v) { return a * v; }, identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceMax", Start::lowest, [](auto a, auto v) { return v > a || v != v ? v : a; },
                                identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceMin", Start::highest, [](auto a, auto v) { return v < a || v != v ? v : a; },
                                identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceL1", Start::zero, [](auto a, auto v) { return a + (v < 0 ? -v : v); },
                                identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceL2", Start::zero, [](auto a, auto v) { return a + v * v; },
                                [](auto a, std::int64_t) { return std::sqrt(double(a)); }));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceSumSquare", Start::zero, [](auto a, auto v) { return a + v * v; },
                                identity_finish));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceLogSum", Start::zero, sum_step,
                                [](auto a, std::int64_t) { return std::log(double(a)); }));
AUTOSCHED_REGISTER_OP(reduce_op("ReduceLogSumExp", Start::zero,
                                [](auto a, auto v) { return decltype(a)(double(a) + std::exp(double(v))); },
                                [](auto a, std::int64_t) { return std::log(double(a)); }));

// ArgMax / ArgMin along one axis; ties pick the first index unless
// select_last_index=1. Output int64.
template <class Better> OpDefinition arg_op(std::string name, Better better) {
  auto infer = [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
    const auto& x = required_info(node, in, 0);
    if (!x.shape.rank_known()) return std::vector<ir::ValueInfo>{{ElementType::i64, PartialShape::dynamic_rank()}};
    if (x.shape.rank() == 0) fail(node, "the input is a scalar; ArgMax/ArgMin need rank >= 1");
    const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(x.shape.rank())));
    std::vector<Dimension> dims = x.shape.dims();
    if (node.get_int("keepdims", 1) != 0) dims[axis] = Dimension(1);
    else dims.erase(dims.begin() + std::ptrdiff_t(axis));
    return std::vector<ir::ValueInfo>{{ElementType::i64, PartialShape(dims)}};
  };
  auto evaluate = [better](const ir::Node& node, const std::vector<Tensor>& in) {
    const Tensor& x = required_input(node, in, 0);
    const Shape& shape = x.shape();
    if (shape.empty()) fail(node, "the input is a scalar; ArgMax/ArgMin need rank >= 1");
    const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(shape.size())));
    const bool last = node.get_int("select_last_index", 0) != 0;
    Shape out_shape = shape;
    if (node.get_int("keepdims", 1) != 0) out_shape[axis] = 1;
    else out_shape.erase(out_shape.begin() + std::ptrdiff_t(axis));
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
    for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    const std::int64_t n = shape[axis];
    if (n == 0) fail(node, "cannot take the arg of an empty axis");
    Tensor out(ElementType::i64, out_shape);
    std::int64_t* dst = out.data<std::int64_t>();
    dispatch_type(x.element_type(), node, [&](auto tag) {
      using T = decltype(tag);
      const T* src = x.data<T>();
      parallel_chunks(outer * inner, 1024, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t o = b; o < e; ++o) {
          const T* p = src + (o / inner) * n * inner + o % inner;
          std::int64_t best = 0;
          double best_v = to_double(p[0]);
          for (std::int64_t i = 1; i < n; ++i) {
            const double v = to_double(p[i * inner]);
            if (better(v, best_v) || (last && v == best_v)) {
              best = i;
              best_v = v;
            }
          }
          dst[o] = best;
        }
      });
    });
    return std::vector<Tensor>{out};
  };
  return OpDefinition{std::move(name), infer, evaluate};
}

AUTOSCHED_REGISTER_OP(arg_op("ArgMax", [](double v, double best) { return v > best; }));
AUTOSCHED_REGISTER_OP(arg_op("ArgMin", [](double v, double best) { return v < best; }));

// CumSum(x, axis): running sums along one axis; exclusive=1 shifts by one,
// reverse=1 runs from the end. Accumulates in double / int64.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "CumSum", infer_same_as_input, [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Shape& shape = x.shape();
      const auto axis_values = int_values(node, required_input(node, in, 1));
      if (axis_values.size() != 1) fail(node, "axis must be a scalar");
      const auto axis = std::size_t(normalize_axis(node, axis_values[0], std::int64_t(shape.size())));
      const bool exclusive = node.get_int("exclusive", 0) != 0;
      const bool reverse = node.get_int("reverse", 0) != 0;
      std::int64_t outer = 1, inner = 1;
      for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
      for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
      const std::int64_t n = shape.empty() ? 1 : shape[axis];
      Tensor out(x.element_type(), shape);
      dispatch_type(x.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
          fail(node, "element type boolean is not supported", ErrorCode::unsupported);
        } else {
          using A = std::conditional_t<is_float_element_v<T>, double, std::int64_t>;
          const T* src = x.data<T>();
          T* dst = out.data<T>();
          parallel_chunks(outer * inner, 256, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t r = b; r < e; ++r) {
              const std::int64_t base = (r / inner) * n * inner + r % inner;
              A acc = 0;
              for (std::int64_t k = 0; k < n; ++k) {
                const std::int64_t i = base + (reverse ? n - 1 - k : k) * inner;
                const A v = static_cast<A>(to_double_or_native(src[i]));
                if (!exclusive) acc += v;
                dst[i] = convert_element<T>(acc);
                if (exclusive) acc += v;
              }
            }
          });
        }
      });
      return std::vector<Tensor>{out};
    }});

}  // namespace
}  // namespace autosched::reference
