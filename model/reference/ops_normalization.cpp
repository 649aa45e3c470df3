// Reference kernels for Softmax, LogSoftmax, Hardmax, LayerNormalization,
// BatchNormalization and InstanceNormalization (float types). Statistics are
// computed in double with two passes (mean, then squared deviations), one row
// per task, so results do not depend on the thread count.
//
// Softmax/LogSoftmax/Hardmax follow opset-13 semantics: "axis" defaults to -1 and the
// op normalises along that single axis. Models of opset < 13 coerced the input
// to 2-D instead ([prod(d<axis), prod(d>=axis)], axis default 1); the ONNX
// reader marks such nodes with the int attribute "_coerce_2d" = 1 and writes
// the explicit axis (1 when the model omits it).
#include <cmath>

#include "model/reference/elementwise_loops.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::reference {
namespace {

// Calls f(T{}) for float element types; fails for any other type.
template <class F> decltype(auto) dispatch_float(ElementType t, const ir::Node& node, F&& f) {
  if (!is_float_type(t))
    fail(node, std::string("element type ") + to_string(t) + " is not supported; expects a float type",
         ErrorCode::unsupported);
  return dispatch_type(t, node, [&](auto tag) -> decltype(auto) {
    using T = decltype(tag);
    if constexpr (is_float_element_v<T>) return f(tag);
    else return f(float{});  // unreachable: the type was checked above
  });
}

// Reads a float tensor (of any float type) into doubles.
std::vector<double> as_doubles(const ir::Node& node, const Tensor& t) {
  std::vector<double> v(t.size());
  dispatch_float(t.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = to_double(p[i]);
  });
  return v;
}

// ---- Softmax / LogSoftmax / Hardmax --------------------------------------------------

enum class SoftmaxKind { soft, log, hard };

std::vector<Tensor> softmax(const ir::Node& node, const std::vector<Tensor>& in, SoftmaxKind kind) {
  const Tensor& x = required_input(node, in, 0);
  const Shape& shape = x.shape();
  const bool coerce_2d = node.get_int("_coerce_2d", 0) != 0;
  const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", coerce_2d ? 1 : -1), std::int64_t(shape.size())));
  std::int64_t outer = 1, n = 1, inner = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < axis) outer *= shape[d];
    else if (d == axis || coerce_2d) n *= shape[d];
    else inner *= shape[d];
  }
  Tensor out(x.element_type(), shape);
  dispatch_float(x.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    parallel_chunks(outer * inner, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(n, 1)),
                    [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t r = b; r < e; ++r) {
        const std::int64_t base = (r / inner) * n * inner + r % inner;
        double mx = -std::numeric_limits<double>::infinity();
        std::int64_t arg = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          const double v = to_double(src[base + i * inner]);
          if (v > mx) {
            mx = v;
            arg = i;
          }
        }
        if (kind == SoftmaxKind::hard) {  // 1 at the first maximum, 0 elsewhere
          for (std::int64_t i = 0; i < n; ++i) dst[base + i * inner] = from_double<T>(i == arg ? 1.0 : 0.0);
          continue;
        }
        double sum = 0;
        for (std::int64_t i = 0; i < n; ++i) sum += std::exp(to_double(src[base + i * inner]) - mx);
        const double log_sum = std::log(sum);
        for (std::int64_t i = 0; i < n; ++i) {
          const double v = to_double(src[base + i * inner]) - mx;
          dst[base + i * inner] = from_double<T>(kind == SoftmaxKind::log ? v - log_sum : std::exp(v) / sum);
        }
      }
    });
  });
  return {out};
}

AUTOSCHED_REGISTER_OP(OpDefinition{"Softmax", infer_same_as_input,
                                   [](const ir::Node& node, const std::vector<Tensor>& in) {
                                     return softmax(node, in, SoftmaxKind::soft);
                                   }});
AUTOSCHED_REGISTER_OP(OpDefinition{"Hardmax", infer_same_as_input,
                                   [](const ir::Node& node, const std::vector<Tensor>& in) {
                                     return softmax(node, in, SoftmaxKind::hard);
                                   }});
AUTOSCHED_REGISTER_OP(OpDefinition{"LogSoftmax", infer_same_as_input,
                                   [](const ir::Node& node, const std::vector<Tensor>& in) {
                                     return softmax(node, in, SoftmaxKind::log);
                                   }});

// ---- LayerNormalization (opset 17) ------------------------------------------
// Outputs: Y (type of X), Mean and InvStdDev (f32, shape of X with the
// normalised dims set to 1).

std::vector<ir::ValueInfo> infer_layer_norm(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                            const std::vector<const Tensor*>&) {
  const auto& x = required_info(node, in, 0);
  PartialShape stats = PartialShape::dynamic_rank();
  if (x.shape.rank_known()) {
    const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), std::int64_t(x.shape.rank())));
    std::vector<Dimension> dims = x.shape.dims();
    for (std::size_t d = axis; d < dims.size(); ++d) dims[d] = Dimension(1);
    stats = PartialShape(dims);
  }
  std::vector<ir::ValueInfo> out{x};
  for (std::size_t i = 1; i < std::max<std::size_t>(node.outputs.size(), 1); ++i)
    out.push_back({ElementType::f32, stats});
  return out;
}

std::vector<Tensor> layer_norm(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& x = required_input(node, in, 0);
  const Tensor& scale = required_input(node, in, 1);
  const Shape& shape = x.shape();
  const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), std::int64_t(shape.size())));
  const double eps = float_attr(node, "epsilon", 1e-5);
  const Shape norm_shape(shape.begin() + std::ptrdiff_t(axis), shape.end());
  const std::int64_t n = shape_size(norm_shape);
  const std::int64_t rows = n == 0 ? 0 : shape_size(shape) / n;

  // Scale and bias expanded to the normalised shape (they broadcast to it).
  auto expand = [&](const Tensor& t) {
    if (broadcast_shapes(node, t.shape(), norm_shape) != norm_shape)
      fail(node, "scale/bias shape " + to_string(t.shape()) + " does not broadcast to " + to_string(norm_shape));
    const auto values = as_doubles(node, t);
    std::vector<double> full(static_cast<std::size_t>(n));
    for_each_broadcast<1>(norm_shape, {t.shape()},
                          [&](std::int64_t i, const std::array<std::int64_t, 1>& off) { full[i] = values[off[0]]; });
    return full;
  };
  const auto gamma = expand(scale);
  const auto beta = in.size() > 2 && !in[2].empty() ? expand(in[2]) : std::vector<double>(static_cast<std::size_t>(n), 0.0);

  Shape stats_shape = shape;
  for (std::size_t d = axis; d < stats_shape.size(); ++d) stats_shape[d] = 1;
  Tensor y(x.element_type(), shape), mean_t(ElementType::f32, stats_shape), inv_t(ElementType::f32, stats_shape);
  float* mean_out = mean_t.data<float>();
  float* inv_out = inv_t.data<float>();
  dispatch_float(x.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    parallel_chunks(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(n, 1)), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t r = b; r < e; ++r) {
        const T* row = src + r * n;
        double mean = 0;
        for (std::int64_t i = 0; i < n; ++i) mean += to_double(row[i]);
        mean /= double(n);
        double var = 0;
        for (std::int64_t i = 0; i < n; ++i) var += (to_double(row[i]) - mean) * (to_double(row[i]) - mean);
        var /= double(n);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (std::int64_t i = 0; i < n; ++i)
          dst[r * n + i] = from_double<T>((to_double(row[i]) - mean) * inv * gamma[std::size_t(i)] + beta[std::size_t(i)]);
        mean_out[r] = float(mean);
        inv_out[r] = float(inv);
      }
    });
  });
  std::vector<Tensor> out{y, mean_t, inv_t};
  out.resize(std::max<std::size_t>(1, std::min<std::size_t>(3, node.outputs.size())));
  return out;
}

AUTOSCHED_REGISTER_OP(OpDefinition{"LayerNormalization", infer_layer_norm, layer_norm});

// ---- BatchNormalization / InstanceNormalization -----------------------------

// y[n,c,s] = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c], with
// mean/var per channel (batch norm) or per (n,c) (instance norm) given as
// callables of (n, c).
template <class MeanFn, class VarFn>
Tensor normalize_channels(const ir::Node& node, const Tensor& x, const std::vector<double>& scale,
                          const std::vector<double>& bias, double eps, MeanFn mean_of, VarFn var_of) {
  const Shape& shape = x.shape();
  if (shape.size() < 2) fail(node, "input must have rank >= 2 (N, C, ...), got " + to_string(shape));
  const std::int64_t batch = shape[0], channels = shape[1];
  const std::int64_t spatial = shape_size(Shape(shape.begin() + 2, shape.end()));
  if (std::int64_t(scale.size()) != channels || std::int64_t(bias.size()) != channels)
    fail(node, "scale and bias must have " + std::to_string(channels) + " elements (one per channel)");
  Tensor y(x.element_type(), shape);
  dispatch_float(x.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    parallel_chunks(batch * channels, 1, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t nc = b; nc < e; ++nc) {
        const std::int64_t c = nc % channels;
        const double mean = mean_of(nc / channels, c);
        const double k = scale[std::size_t(c)] / std::sqrt(var_of(nc / channels, c) + eps);
        for (std::int64_t s = 0; s < spatial; ++s)
          dst[nc * spatial + s] = from_double<T>((to_double(src[nc * spatial + s]) - mean) * k + bias[std::size_t(c)]);
      }
    });
  });
  return y;
}

// Per-(n,c) mean and biased variance over the spatial dims (two-pass, double).
void instance_stats(const ir::Node& node, const Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const Shape& shape = x.shape();
  if (shape.size() < 2) fail(node, "input must have rank >= 2 (N, C, ...), got " + to_string(shape));
  const std::int64_t rows = shape[0] * shape[1];
  const std::int64_t spatial = shape_size(Shape(shape.begin() + 2, shape.end()));
  mean.assign(std::size_t(rows), 0.0);
  var.assign(std::size_t(rows), 0.0);
  const auto values = as_doubles(node, x);
  parallel_chunks(rows, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) {
      const double* p = values.data() + r * spatial;
      double m = 0, v = 0;
      for (std::int64_t s = 0; s < spatial; ++s) m += p[s];
      m /= double(spatial);
      for (std::int64_t s = 0; s < spatial; ++s) v += (p[s] - m) * (p[s] - m);
      mean[std::size_t(r)] = m;
      var[std::size_t(r)] = v / double(spatial);
    }
  });
}

std::vector<ir::ValueInfo> infer_batch_norm(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                            const std::vector<const Tensor*>&) {
  std::vector<ir::ValueInfo> out{required_info(node, in, 0)};
  // Training mode also returns running_mean and running_var (shaped like input 3 / 4).
  for (std::size_t i = 1; i < node.outputs.size() && i < 3; ++i) out.push_back(required_info(node, in, 2 + i));
  return out;
}

Tensor channel_tensor_like(const Tensor& ref, const std::vector<double>& v, const ir::Node& node) {
  Tensor t(ref.element_type(), ref.shape());
  dispatch_float(ref.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = from_double<T>(v[i]);
  });
  return t;
}

std::vector<Tensor> batch_norm(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& x = required_input(node, in, 0);
  const auto scale = as_doubles(node, required_input(node, in, 1));
  const auto bias = as_doubles(node, required_input(node, in, 2));
  const auto mean = as_doubles(node, required_input(node, in, 3));
  const auto var = as_doubles(node, required_input(node, in, 4));
  const double eps = float_attr(node, "epsilon", 1e-5);
  if (mean.size() != scale.size() || var.size() != scale.size())
    fail(node, "scale, B, input_mean and input_var must have one element per channel");
  if (node.get_int("training_mode", 0) == 0) {
    return {normalize_channels(node, x, scale, bias, eps, [&](std::int64_t, std::int64_t c) { return mean[std::size_t(c)]; },
                               [&](std::int64_t, std::int64_t c) { return var[std::size_t(c)]; })};
  }
  // Training mode: normalise with the batch statistics (biased variance) and
  // blend them into the running statistics with `momentum`.
  const double momentum = float_attr(node, "momentum", 0.9);
  std::vector<double> m, v;
  instance_stats(node, x, m, v);
  const std::size_t batch = std::size_t(x.shape()[0]), channels = scale.size();
  std::vector<double> batch_mean(channels, 0.0), batch_var(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t n = 0; n < batch; ++n) batch_mean[c] += m[n * channels + c];
    batch_mean[c] /= double(batch);
    // Total variance = mean of per-instance variances + variance of per-instance means.
    for (std::size_t n = 0; n < batch; ++n)
      batch_var[c] += v[n * channels + c] + (m[n * channels + c] - batch_mean[c]) * (m[n * channels + c] - batch_mean[c]);
    batch_var[c] /= double(batch);
  }
  std::vector<double> run_mean(channels), run_var(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    run_mean[c] = mean[c] * momentum + batch_mean[c] * (1 - momentum);
    run_var[c] = var[c] * momentum + batch_var[c] * (1 - momentum);
  }
  std::vector<Tensor> out{
      normalize_channels(node, x, scale, bias, eps, [&](std::int64_t, std::int64_t c) { return batch_mean[std::size_t(c)]; },
                         [&](std::int64_t, std::int64_t c) { return batch_var[std::size_t(c)]; }),
      channel_tensor_like(in[3], run_mean, node), channel_tensor_like(in[4], run_var, node)};
  out.resize(std::max<std::size_t>(1, std::min<std::size_t>(3, node.outputs.size())));
  return out;
}

AUTOSCHED_REGISTER_OP(OpDefinition{"BatchNormalization", infer_batch_norm, batch_norm});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "InstanceNormalization", infer_same_as_input, [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const auto scale = as_doubles(node, required_input(node, in, 1));
      const auto bias = as_doubles(node, required_input(node, in, 2));
      std::vector<double> mean, var;
      instance_stats(node, x, mean, var);
      const std::size_t channels = x.shape().size() > 1 ? std::size_t(x.shape()[1]) : 0;
      return std::vector<Tensor>{normalize_channels(
          node, x, scale, bias, float_attr(node, "epsilon", 1e-5),
          [&](std::int64_t n, std::int64_t c) { return mean[std::size_t(n) * channels + std::size_t(c)]; },
          [&](std::int64_t n, std::int64_t c) { return var[std::size_t(n) * channels + std::size_t(c)]; })};
    }});

}  // namespace
}  // namespace autosched::reference
