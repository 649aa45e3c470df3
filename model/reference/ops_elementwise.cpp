// Reference kernels for the unary element-wise ops (activations and math
// functions), Clip, Identity, Not, IsNaN, IsInf, Dropout (inference), Cast and
// CastLike. Float types are computed
// in double and rounded once to the output type; integer types natively.
#include <cmath>
#include <limits>

#include "model/reference/elementwise_loops.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

// A unary op from a factory make(node) -> f, where f is called with a double
// for float element types and with the native value for integer types (only
// when `allow_int`). Booleans are rejected.
template <class Make> OpDefinition unary_op(std::string name, bool allow_int, Make make) {
  auto evaluate = [make, allow_int](const ir::Node& node, const std::vector<Tensor>& in) {
    const Tensor& x = required_input(node, in, 0);
    auto f = make(node);
    return std::vector<Tensor>{dispatch_type(x.element_type(), node, [&](auto tag) -> Tensor {
      using T = decltype(tag);
      if constexpr (is_float_element_v<T>) {
        return map_elements<T, T>(x, x.element_type(), [&](T v) { return from_double<T>(f(to_double(v))); });
      } else if constexpr (!std::is_same_v<T, bool>) {
        if (!allow_int) fail(node, std::string("element type ") + to_string(x.element_type()) + " is not supported; expects a float type", ErrorCode::unsupported);
        return map_elements<T, T>(x, x.element_type(), [&](T v) { return static_cast<T>(f(v)); });
      } else {
        fail(node, "element type boolean is not supported", ErrorCode::unsupported);
      }
    })};
  };
  return OpDefinition{std::move(name), infer_same_as_input, evaluate};
}

// Factory for ops without attributes.
template <class F> auto plain(F f) {
  return [f](const ir::Node&) { return f; };
}

AUTOSCHED_REGISTER_OP(unary_op("Relu", true, plain([](auto v) { return v > 0 ? v : decltype(v)(0); })));
AUTOSCHED_REGISTER_OP(unary_op("Abs", true, plain([](auto v) {
  if constexpr (std::is_unsigned_v<decltype(v)>) return v;
  else return v < 0 ? decltype(v)(-v) : v;
})));
AUTOSCHED_REGISTER_OP(unary_op("Neg", true, plain([](auto v) { return decltype(v)(-v); })));
AUTOSCHED_REGISTER_OP(unary_op("Sign", true, plain([](auto v) {
  using V = decltype(v);
  if constexpr (std::is_floating_point_v<V>) {
    if (std::isnan(v)) return v;
  }
  return v > V(0) ? V(1) : (v < V(0) ? V(-1) : V(0));
})));
AUTOSCHED_REGISTER_OP(unary_op("Sigmoid", false, plain([](double v) {
  // Split by sign so exp never overflows.
  return v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
})));
AUTOSCHED_REGISTER_OP(unary_op("Tanh", false, plain([](double v) { return std::tanh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Erf", false, plain([](double v) { return std::erf(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Exp", false, plain([](double v) { return std::exp(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Log", false, plain([](double v) { return std::log(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Sqrt", false, plain([](double v) { return std::sqrt(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Reciprocal", false, plain([](double v) { return 1.0 / v; })));
AUTOSCHED_REGISTER_OP(unary_op("Floor", false, plain([](double v) { return std::floor(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Ceil", false, plain([](double v) { return std::ceil(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Softplus", false, plain([](double v) {
  return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
})));
AUTOSCHED_REGISTER_OP(unary_op("Softsign", false, plain([](double v) { return v / (1.0 + std::fabs(v)); })));
AUTOSCHED_REGISTER_OP(unary_op("HardSwish", false, plain([](double v) {
  return v * std::max(0.0, std::min(1.0, v / 6.0 + 0.5));
})));

AUTOSCHED_REGISTER_OP(unary_op("Round", false, plain([](double v) { return std::nearbyint(v); })));  // half to even
AUTOSCHED_REGISTER_OP(unary_op("Sin", false, plain([](double v) { return std::sin(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Cos", false, plain([](double v) { return std::cos(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Tan", false, plain([](double v) { return std::tan(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Asin", false, plain([](double v) { return std::asin(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Acos", false, plain([](double v) { return std::acos(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Atan", false, plain([](double v) { return std::atan(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Sinh", false, plain([](double v) { return std::sinh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Cosh", false, plain([](double v) { return std::cosh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Asinh", false, plain([](double v) { return std::asinh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Acosh", false, plain([](double v) { return std::acosh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Atanh", false, plain([](double v) { return std::atanh(v); })));
AUTOSCHED_REGISTER_OP(unary_op("Mish", false, plain([](double v) {
  return v * std::tanh(v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)));
})));
AUTOSCHED_REGISTER_OP(unary_op("Celu", false, [](const ir::Node& node) {
  const double alpha = float_attr(node, "alpha", 1.0);
  return [alpha](double v) { return std::max(0.0, v) + std::min(0.0, alpha * (std::exp(v / alpha) - 1.0)); };
}));
AUTOSCHED_REGISTER_OP(unary_op("Shrink", true, [](const ir::Node& node) {
  const double lambd = float_attr(node, "lambd", 0.5);
  const double bias = float_attr(node, "bias", 0.0);
  return [lambd, bias](auto v) {
    const double d = double(v);
    return decltype(v)(d < -lambd ? d + bias : (d > lambd ? d - bias : 0.0));
  };
}));

AUTOSCHED_REGISTER_OP(unary_op("LeakyRelu", false, [](const ir::Node& node) {
  const double alpha = float_attr(node, "alpha", 0.01);
  return [alpha](double v) { return v >= 0 ? v : alpha * v; };
}));
AUTOSCHED_REGISTER_OP(unary_op("Elu", false, [](const ir::Node& node) {
  const double alpha = float_attr(node, "alpha", 1.0);
  return [alpha](double v) { return v >= 0 ? v : alpha * (std::exp(v) - 1.0); };
}));
AUTOSCHED_REGISTER_OP(unary_op("Selu", false, [](const ir::Node& node) {
  // Defaults are the f32 values ONNX specifies.
  const double alpha = float_attr(node, "alpha", 1.67326319217681884765625);
  const double gamma = float_attr(node, "gamma", 1.05070102214813232421875);
  return [alpha, gamma](double v) { return v > 0 ? gamma * v : gamma * (alpha * std::exp(v) - alpha); };
}));
AUTOSCHED_REGISTER_OP(unary_op("HardSigmoid", false, [](const ir::Node& node) {
  const double alpha = float_attr(node, "alpha", 0.2);
  const double beta = float_attr(node, "beta", 0.5);
  return [alpha, beta](double v) { return std::max(0.0, std::min(1.0, alpha * v + beta)); };
}));
AUTOSCHED_REGISTER_OP(unary_op("ThresholdedRelu", false, [](const ir::Node& node) {
  const double alpha = float_attr(node, "alpha", 1.0);
  return [alpha](double v) { return v > alpha ? v : 0.0; };
}));

// Clip: bounds from inputs 1/2 (opset >= 11) or attributes min/max (opset 6);
// an absent bound does not limit.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "Clip", infer_same_as_input, [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      return std::vector<Tensor>{dispatch_type(x.element_type(), node, [&](auto tag) -> Tensor {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
          fail(node, "element type boolean is not supported", ErrorCode::unsupported);
        } else {
          // Work in double for floats, natively for integers.
          using C = std::conditional_t<is_float_element_v<T>, double, T>;
          C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
          if constexpr (is_float_element_v<T>) {
            lo = C(-std::numeric_limits<double>::infinity());
            hi = C(std::numeric_limits<double>::infinity());
          }
          if (in.size() > 1 && !in[1].empty()) lo = scalar_as<C>(node, in[1]);
          else if (node.has("min")) lo = C(float_attr(node, "min", 0.0));
          if (in.size() > 2 && !in[2].empty()) hi = scalar_as<C>(node, in[2]);
          else if (node.has("max")) hi = C(float_attr(node, "max", 0.0));
          return map_elements<T, T>(x, x.element_type(), [&](T v) {
            C c;
            if constexpr (is_float_element_v<T>) c = to_double(v);
            else c = v;
            if (c < lo) c = lo;
            if (c > hi) c = hi;  // ONNX: min(max(x, lo), hi), so hi wins when lo > hi
            if constexpr (is_float_element_v<T>) return from_double<T>(c);
            else return c;
          });
        }
      })};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Identity", infer_same_as_input, [](const ir::Node& node, const std::vector<Tensor>& in) {
      return std::vector<Tensor>{required_input(node, in, 0).clone()};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Not",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (x.element_type != ElementType::undefined && x.element_type != ElementType::boolean)
        fail(node, std::string("expects a boolean input, got ") + to_string(x.element_type));
      return std::vector<ir::ValueInfo>{{ElementType::boolean, x.shape}};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      if (x.element_type() != ElementType::boolean)
        fail(node, std::string("expects a boolean input, got ") + to_string(x.element_type()));
      return std::vector<Tensor>{map_elements<bool, bool>(x, ElementType::boolean, [](bool v) { return !v; })};
    }});

// IsNaN / IsInf: float input, boolean output.
template <class Pred> OpDefinition float_predicate_op(std::string name, Pred make) {
  return OpDefinition{
      std::move(name),
      [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
        return std::vector<ir::ValueInfo>{{ElementType::boolean, required_info(node, in, 0).shape}};
      },
      [make](const ir::Node& node, const std::vector<Tensor>& in) {
        const Tensor& x = required_input(node, in, 0);
        const auto pred = make(node);
        return std::vector<Tensor>{dispatch_type(x.element_type(), node, [&](auto tag) -> Tensor {
          using T = decltype(tag);
          if constexpr (!is_float_element_v<T>) {
            fail(node, std::string("element type ") + to_string(x.element_type()) + " is not supported; expects a float type",
                 ErrorCode::unsupported);
          } else {
            return map_elements<bool, T>(x, ElementType::boolean, [&](T v) { return pred(to_double(v)); });
          }
        })};
      }};
}

AUTOSCHED_REGISTER_OP(float_predicate_op("IsNaN", [](const ir::Node&) { return [](double v) { return std::isnan(v); }; }));
AUTOSCHED_REGISTER_OP(float_predicate_op("IsInf", [](const ir::Node& node) {
  const bool neg = node.get_int("detect_negative", 1) != 0;
  const bool pos = node.get_int("detect_positive", 1) != 0;
  return [neg, pos](double v) { return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)); };
}));

// Dropout in inference: output = input, mask = all true. Training mode (input 2
// true with a non-zero ratio) is random and not supported by the oracle.
AUTOSCHED_REGISTER_OP(OpDefinition{
    "Dropout",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      std::vector<ir::ValueInfo> out{x};
      if (node.outputs.size() > 1) out.push_back({ElementType::boolean, x.shape});
      return out;
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const bool training = in.size() > 2 && !in[2].empty() && scalar_as<bool>(node, in[2]);
      const double ratio = in.size() > 1 && !in[1].empty() ? scalar_as<double>(node, in[1]) : float_attr(node, "ratio", 0.5);
      if (training && ratio != 0.0) fail(node, "training mode is random and not supported", ErrorCode::unsupported);
      std::vector<Tensor> out{x.clone()};
      if (node.outputs.size() > 1) {
        Tensor mask(ElementType::boolean, x.shape());
        std::fill(mask.data<bool>(), mask.data<bool>() + mask.size(), true);
        out.push_back(mask);
      }
      return out;
    }});

// ONNX TensorProto.DataType → ElementType; fails for types autosched lacks.
ElementType from_onnx_data_type(const ir::Node& node, std::int64_t dt) {
  switch (dt) {
    case 1: return ElementType::f32;
    case 2: return ElementType::u8;
    case 3: return ElementType::i8;
    case 6: return ElementType::i32;
    case 7: return ElementType::i64;
    case 9: return ElementType::boolean;
    case 10: return ElementType::f16;
    case 11: return ElementType::f64;
    case 16: return ElementType::bf16;
    default: break;
  }
  fail(node, "target data type " + std::to_string(dt) +
                 " is not supported (supported: FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, DOUBLE, BFLOAT16)",
       ErrorCode::unsupported);
}

Tensor cast_tensor(const ir::Node& node, const Tensor& x, ElementType to) {
  return dispatch_type(x.element_type(), node, [&](auto src_tag) -> Tensor {
    using S = decltype(src_tag);
    return dispatch_type(to, node, [&](auto dst_tag) -> Tensor {
      using D = decltype(dst_tag);
      return map_elements<D, S>(x, to, [](S v) { return convert_element<D>(v); });
    });
  });
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Cast",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!node.has("to")) fail(node, "attribute 'to' is required");
      return std::vector<ir::ValueInfo>{{from_onnx_data_type(node, node.get_int("to", 0)), x.shape}};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      if (!node.has("to")) fail(node, "attribute 'to' is required");
      return std::vector<Tensor>{
          cast_tensor(node, required_input(node, in, 0), from_onnx_data_type(node, node.get_int("to", 0)))};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "CastLike",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector<ir::ValueInfo>{{required_info(node, in, 1).element_type, required_info(node, in, 0).shape}};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      return std::vector<Tensor>{
          cast_tensor(node, required_input(node, in, 0), required_input(node, in, 1).element_type())};
    }});

}  // namespace
}  // namespace autosched::reference
