// Reference kernels for the broadcasting element-wise ops: arithmetic (Add,
// Sub, Mul, Div, Pow, Mod), variadic (Max, Min, Sum, Mean), comparisons,
// logical ops and Where. All use ONNX multidirectional broadcasting. Float
// types compute in double and round once to the output type (so f32/f16
// results equal numpy's correctly rounded ones); integers compute natively
// with wrap-around, and integer division truncates toward zero (C++/ONNX
// Runtime semantics).
#include <cmath>

#include "model/reference/elementwise_loops.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

// out = f(a, b) elementwise with broadcasting; a of type A, b of B, out of O.
template <class O, class A, class B, class F>
Tensor broadcast_binary(const ir::Node& node, const Tensor& a, const Tensor& b, ElementType out_type, F&& f) {
  const Shape out_shape = broadcast_shapes(node, a.shape(), b.shape());
  Tensor out(out_type, out_shape);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  O* po = out.data<O>();
  if (a.shape() == b.shape()) {
    parallel_chunks(std::int64_t(out.size()), 1 << 15, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
  } else {
    for_each_broadcast<2>(out_shape, {a.shape(), b.shape()},
                          [&](std::int64_t i, const std::array<std::int64_t, 2>& off) { po[i] = f(pa[off[0]], pb[off[1]]); });
  }
  return out;
}

void check_same_types(const ir::Node& node, const std::vector<Tensor>& in, std::size_t first, std::size_t count) {
  for (std::size_t i = first; i < first + count; ++i) {
    const Tensor& t = required_input(node, in, i);
    if (t.element_type() != in[first].element_type())
      fail(node, std::string("input ") + std::to_string(i) + " has element type " + to_string(t.element_type()) +
                     " but input " + std::to_string(first) + " has " + to_string(in[first].element_type()) +
                     "; they must match");
  }
}

// Inference for broadcasting ops: the output shape broadcasts inputs
// [first, first+count) (all inputs when count is 0), whose known element types
// must agree; the output type is `out_type`, or that common type when undefined.
std::vector<ir::ValueInfo> infer_broadcast(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                           ElementType out_type, std::size_t first = 0, std::size_t count = 0) {
  if (count == 0) count = node.inputs.size() - first;
  if (count == 0) fail(node, "needs at least one input");
  ElementType common = ElementType::undefined;
  PartialShape shape;
  for (std::size_t i = first; i < first + count; ++i) {
    const auto& info = required_info(node, in, i);
    if (info.element_type != ElementType::undefined) {
      if (common != ElementType::undefined && common != info.element_type)
        fail(node, std::string("input ") + std::to_string(i) + " has element type " + to_string(info.element_type) +
                       " but an earlier input has " + to_string(common) + "; they must match");
      common = info.element_type;
    }
    shape = i == first ? info.shape : broadcast_partial(node, shape, info.shape);
  }
  return {{out_type == ElementType::undefined ? common : out_type, shape}};
}

// Arithmetic with both inputs of one type. f is called with doubles for float
// types and native values for integers; booleans are rejected.
template <class F> Tensor arithmetic(const ir::Node& node, const Tensor& a, const Tensor& b, F f) {
  if (a.element_type() != b.element_type())
    fail(node, std::string("inputs have element types ") + to_string(a.element_type()) + " and " +
                   to_string(b.element_type()) + "; they must match");
  return dispatch_type(a.element_type(), node, [&](auto tag) -> Tensor {
    using T = decltype(tag);
    if constexpr (is_float_element_v<T>) {
      return broadcast_binary<T, T, T>(node, a, b, a.element_type(),
                                       [&](T x, T y) { return from_double<T>(f(to_double(x), to_double(y))); });
    } else if constexpr (std::is_same_v<T, bool>) {
      fail(node, "element type boolean is not supported", ErrorCode::unsupported);
    } else {
      return broadcast_binary<T, T, T>(node, a, b, a.element_type(), [&](T x, T y) { return static_cast<T>(f(x, y)); });
    }
  });
}

template <class F> OpDefinition arithmetic_op(std::string name, F f) {
  return OpDefinition{
      std::move(name),
      [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
        return infer_broadcast(node, in, ElementType::undefined, 0, 2);
      },
      [f](const ir::Node& node, const std::vector<Tensor>& in) {
        return std::vector<Tensor>{arithmetic(node, required_input(node, in, 0), required_input(node, in, 1), f)};
      }};
}

AUTOSCHED_REGISTER_OP(arithmetic_op("Add", [](auto x, auto y) { return x + y; }));
AUTOSCHED_REGISTER_OP(arithmetic_op("Sub", [](auto x, auto y) { return x - y; }));
AUTOSCHED_REGISTER_OP(arithmetic_op("Mul", [](auto x, auto y) { return x * y; }));
AUTOSCHED_REGISTER_OP(arithmetic_op("Div", [](auto x, auto y) {
  if constexpr (std::is_integral_v<decltype(x)>) {
    if (y == 0) throw Error(ErrorCode::invalid_argument, "Div: integer division by zero");
  }
  return x / y;
}));

// PRelu: slope broadcasts (unidirectionally) to X.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "PRelu",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return infer_broadcast(node, in, ElementType::undefined, 0, 2);
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      return std::vector<Tensor>{arithmetic(node, required_input(node, in, 0), required_input(node, in, 1),
                                            [](auto x, auto slope) { return x < 0 ? decltype(x)(x * slope) : x; })};
    }});

// Mod: fmod=0 → sign of the divisor (Python %), integers only; fmod=1 → C fmod.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "Mod",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return infer_broadcast(node, in, ElementType::undefined, 0, 2);
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const bool use_fmod = node.get_int("fmod", 0) != 0;
      return std::vector<Tensor>{arithmetic(node, required_input(node, in, 0), required_input(node, in, 1),
                                            [use_fmod](auto x, auto y) {
        using V = decltype(x);
        if constexpr (std::is_integral_v<V>) {
          if (y == 0) throw Error(ErrorCode::invalid_argument, "Mod: integer division by zero");
          V r = V(x % y);
          if (!use_fmod && r != 0 && ((r < 0) != (y < 0))) r = V(r + y);
          return r;
        } else {
          double r = std::fmod(x, y);
          if (!use_fmod && r != 0 && ((r < 0) != (y < 0))) r += y;
          return r;
        }
      })};
    }});

// Pow: base and exponent may have different types; the output has the base type.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "Pow",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& base = required_info(node, in, 0);
      return std::vector<ir::ValueInfo>{
          {base.element_type, broadcast_partial(node, base.shape, required_info(node, in, 1).shape)}};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& a = required_input(node, in, 0);
      const Tensor& b = required_input(node, in, 1);
      return std::vector<Tensor>{dispatch_type(a.element_type(), node, [&](auto base_tag) -> Tensor {
        using A = decltype(base_tag);
        return dispatch_type(b.element_type(), node, [&](auto exp_tag) -> Tensor {
          using B = decltype(exp_tag);
          if constexpr (std::is_same_v<A, bool> || std::is_same_v<B, bool>) {
            fail(node, "boolean base or exponent is not supported", ErrorCode::unsupported);
          } else {
            return broadcast_binary<A, A, B>(node, a, b, a.element_type(), [](A x, B y) {
              return convert_element<A>(std::pow(to_double(x), to_double(y)));
            });
          }
        });
      })};
    }});

// Variadic ops fold their inputs left to right, rounding to T after each step
// (as numpy does for a chain of binary ops).
template <class F> Tensor fold_inputs(const ir::Node& node, const std::vector<Tensor>& in, F f) {
  if (in.empty()) fail(node, "needs at least one input");
  check_same_types(node, in, 0, in.size());
  Tensor acc = in[0].clone();
  for (std::size_t i = 1; i < in.size(); ++i) acc = arithmetic(node, acc, in[i], f);
  return acc;
}

std::vector<ir::ValueInfo> infer_variadic(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                          const std::vector<const Tensor*>&) {
  return infer_broadcast(node, in, ElementType::undefined);
}

AUTOSCHED_REGISTER_OP(OpDefinition{"Max", infer_variadic, [](const ir::Node& node, const std::vector<Tensor>& in) {
  return std::vector<Tensor>{fold_inputs(node, in, [](auto x, auto y) {
    if constexpr (std::is_floating_point_v<decltype(x)>) {
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
    }
    return x < y ? y : x;
  })};
}});
AUTOSCHED_REGISTER_OP(OpDefinition{"Min", infer_variadic, [](const ir::Node& node, const std::vector<Tensor>& in) {
  return std::vector<Tensor>{fold_inputs(node, in, [](auto x, auto y) {
    if constexpr (std::is_floating_point_v<decltype(x)>) {
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
    }
    return y < x ? y : x;
  })};
}});
AUTOSCHED_REGISTER_OP(OpDefinition{"Sum", infer_variadic, [](const ir::Node& node, const std::vector<Tensor>& in) {
  return std::vector<Tensor>{fold_inputs(node, in, [](auto x, auto y) { return x + y; })};
}});
AUTOSCHED_REGISTER_OP(OpDefinition{"Mean", infer_variadic, [](const ir::Node& node, const std::vector<Tensor>& in) {
  Tensor sum = fold_inputs(node, in, [](auto x, auto y) { return x + y; });
  const double n = double(in.size());
  return std::vector<Tensor>{dispatch_type(sum.element_type(), node, [&](auto tag) -> Tensor {
    using T = decltype(tag);
    if constexpr (!is_float_element_v<T>) {
      fail(node, std::string("element type ") + to_string(sum.element_type()) + " is not supported; expects a float type",
           ErrorCode::unsupported);
    } else {
      return map_elements<T, T>(sum, sum.element_type(), [n](T v) { return from_double<T>(to_double(v) / n); });
    }
  })};
}});

// Comparisons: both inputs of one type, boolean output.
template <class F> OpDefinition compare_op(std::string name, F f) {
  return OpDefinition{
      std::move(name),
      [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
        return infer_broadcast(node, in, ElementType::boolean, 0, 2);
      },
      [f](const ir::Node& node, const std::vector<Tensor>& in) {
        check_same_types(node, in, 0, 2);
        const Tensor& a = in[0];
        const Tensor& b = in[1];
        return std::vector<Tensor>{dispatch_type(a.element_type(), node, [&](auto tag) -> Tensor {
          using T = decltype(tag);
          if constexpr (is_float_element_v<T>) {
            return broadcast_binary<bool, T, T>(node, a, b, ElementType::boolean,
                                                [&](T x, T y) { return f(to_double(x), to_double(y)); });
          } else {
            return broadcast_binary<bool, T, T>(node, a, b, ElementType::boolean, [&](T x, T y) { return f(x, y); });
          }
        })};
      }};
}

AUTOSCHED_REGISTER_OP(compare_op("Equal", [](auto x, auto y) { return x == y; }));
AUTOSCHED_REGISTER_OP(compare_op("Less", [](auto x, auto y) { return x < y; }));
AUTOSCHED_REGISTER_OP(compare_op("Greater", [](auto x, auto y) { return x > y; }));
AUTOSCHED_REGISTER_OP(compare_op("LessOrEqual", [](auto x, auto y) { return x <= y; }));
AUTOSCHED_REGISTER_OP(compare_op("GreaterOrEqual", [](auto x, auto y) { return x >= y; }));

// Logical ops: boolean inputs and output.
template <class F> OpDefinition logic_op(std::string name, F f) {
  return OpDefinition{
      std::move(name),
      [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
        return infer_broadcast(node, in, ElementType::boolean, 0, 2);
      },
      [f](const ir::Node& node, const std::vector<Tensor>& in) {
        check_same_types(node, in, 0, 2);
        if (in[0].element_type() != ElementType::boolean)
          fail(node, std::string("expects boolean inputs, got ") + to_string(in[0].element_type()));
        return std::vector<Tensor>{broadcast_binary<bool, bool, bool>(node, in[0], in[1], ElementType::boolean, f)};
      }};
}

AUTOSCHED_REGISTER_OP(logic_op("And", [](bool x, bool y) { return x && y; }));
AUTOSCHED_REGISTER_OP(logic_op("Or", [](bool x, bool y) { return x || y; }));
AUTOSCHED_REGISTER_OP(logic_op("Xor", [](bool x, bool y) { return x != y; }));

// Where(condition, X, Y): three-way broadcast.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "Where",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& cond = required_info(node, in, 0);
      auto out = infer_broadcast(node, in, ElementType::undefined, 1, 2);
      out[0].shape = broadcast_partial(node, cond.shape, out[0].shape);
      return out;
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& c = required_input(node, in, 0);
      if (c.element_type() != ElementType::boolean)
        fail(node, std::string("condition must be boolean, got ") + to_string(c.element_type()));
      check_same_types(node, in, 1, 2);
      const Tensor& x = in[1];
      const Tensor& y = in[2];
      const Shape shape = broadcast_shapes(node, c.shape(), broadcast_shapes(node, x.shape(), y.shape()));
      return std::vector<Tensor>{dispatch_type(x.element_type(), node, [&](auto tag) -> Tensor {
        using T = decltype(tag);
        Tensor out(x.element_type(), shape);
        const bool* pc = c.data<bool>();
        const T* px = x.data<T>();
        const T* py = y.data<T>();
        T* po = out.data<T>();
        for_each_broadcast<3>(shape, {c.shape(), x.shape(), y.shape()},
                              [&](std::int64_t i, const std::array<std::int64_t, 3>& off) {
                                po[i] = pc[off[0]] ? px[off[1]] : py[off[2]];
                              });
        return out;
      })};
    }});

}  // namespace
}  // namespace autosched::reference
