// Reference pooling: MaxPool (with optional Indices), AveragePool
// (count_include_pad, ceil_mode), GlobalAveragePool, GlobalMaxPool. Planes
// (n, c) run in parallel; each output is computed by one fixed loop.
#include <tbb/parallel_for.h>

#include <limits>

#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"
#include "model/reference/window_geometry.hpp"

namespace autosched::reference {
namespace {

std::vector<std::int64_t> pool_kernel(const ir::Node& node) {
  auto k = node.get_ints("kernel_shape");
  if (k.empty()) fail(node, "kernel_shape is required");
  return k;
}

// Per spatial dim sizes padded to 3 dims with leading 1s.
struct Pool3 {
  std::int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};

Pool3 pool3(const ir::Node& node, const Shape& xs, const WindowGeometry& g) {
  const std::size_t n = g.kernel.size();
  if (n > 3) fail(node, "more than 3 spatial dims are not supported", ErrorCode::unsupported);
  Pool3 p;
  for (std::size_t i = 0; i < 3; ++i) {
    const bool real = i >= 3 - n;
    const std::size_t j = real ? i - (3 - n) : 0;
    p.in[i] = real ? xs[2 + j] : 1;
    p.out[i] = real ? g.output[j] : 1;
    p.k[i] = real ? g.kernel[j] : 1;
    p.s[i] = real ? g.strides[j] : 1;
    p.d[i] = real ? g.dilations[j] : 1;
    p.pb[i] = real ? g.pad_begin[j] : 0;
    p.pe[i] = real ? g.pad_end[j] : 0;
  }
  return p;
}

Shape pooled_shape(const Shape& xs, const WindowGeometry& g) {
  Shape s{xs[0], xs[1]};
  s.insert(s.end(), g.output.begin(), g.output.end());
  return s;
}

// Calls f(out_linear, window) for every output of a plane, where window
// visits (input_linear, inside_padded_bounds) for each kernel tap.
template <class F> void for_each_window(const Pool3& p, F&& f) {
  std::int64_t o = 0;
  for (std::int64_t z = 0; z < p.out[0]; ++z)
    for (std::int64_t y = 0; y < p.out[1]; ++y)
      for (std::int64_t x = 0; x < p.out[2]; ++x, ++o) {
        f(o, [&](auto&& tap) {
          for (std::int64_t a = 0; a < p.k[0]; ++a) {
            const std::int64_t iz = z * p.s[0] + a * p.d[0] - p.pb[0];
            const bool pz = iz >= -p.pb[0] && iz < p.in[0] + p.pe[0];
            for (std::int64_t b = 0; b < p.k[1]; ++b) {
              const std::int64_t iy = y * p.s[1] + b * p.d[1] - p.pb[1];
              const bool py = iy >= -p.pb[1] && iy < p.in[1] + p.pe[1];
              for (std::int64_t c = 0; c < p.k[2]; ++c) {
                const std::int64_t ix = x * p.s[2] + c * p.d[2] - p.pb[2];
                const bool px = ix >= -p.pb[2] && ix < p.in[2] + p.pe[2];
                const bool valid = iz >= 0 && iz < p.in[0] && iy >= 0 && iy < p.in[1] && ix >= 0 && ix < p.in[2];
                tap(valid, pz && py && px, valid ? (iz * p.in[1] + iy) * p.in[2] + ix : -1, iz, iy, ix);
              }
            }
          }
        });
      }
}

ir::ValueInfo pool_info(const ir::Node& node, const std::vector<ir::ValueInfo>& in) {
  const auto& x = required_info(node, in, 0);
  const bool ceil_mode = node.get_int("ceil_mode", 0) != 0;
  const Dimension c = x.shape.rank_known() && x.shape.rank() > 1 ? x.shape[1] : Dimension::dynamic();
  return value_info(x.element_type, window_output_shape(node, x.shape, c, pool_kernel(node), ceil_mode));
}

// ---------------------------------------------------------------- MaxPool

AUTOSCHED_REGISTER_OP(OpDefinition{
    "MaxPool",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      auto y = pool_info(node, in);
      std::vector<ir::ValueInfo> outs{y};
      if (node.outputs.size() > 1) outs.push_back(value_info(ElementType::i64, y.shape));
      return outs;
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x_t = required_input(node, in, 0);
      const Shape& xs = x_t.shape();
      if (xs.size() < 3) fail(node, "input must have rank >= 3, got " + to_string(xs));
      const auto g = window_geometry(node, pool_kernel(node), Shape(xs.begin() + 2, xs.end()),
                                     node.get_int("ceil_mode", 0) != 0);
      const Pool3 p = pool3(node, xs, g);
      const bool col_major = node.get_int("storage_order", 0) != 0;
      const Shape out_shape = pooled_shape(xs, g);
      Tensor y_t(x_t.element_type(), out_shape);
      Tensor idx_t(ElementType::i64, out_shape);
      const std::int64_t planes = xs[0] * xs[1];
      const std::int64_t in_plane = p.in[0] * p.in[1] * p.in[2], out_plane = p.out[0] * p.out[1] * p.out[2];
      dispatch_type(x_t.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* x = static_cast<const T*>(x_t.data());
        T* y = static_cast<T*>(y_t.data());
        std::int64_t* idx = static_cast<std::int64_t*>(idx_t.data());
        tbb::parallel_for(std::int64_t(0), planes, [&](std::int64_t plane) {
          const T* xp = x + plane * in_plane;
          for_each_window(p, [&](std::int64_t o, auto&& window) {
            double best = -std::numeric_limits<double>::infinity();
            std::int64_t best_at = -1, best_z = 0, best_y = 0, best_x = 0;
            window([&](bool valid, bool, std::int64_t at, std::int64_t iz, std::int64_t iy, std::int64_t ix) {
              if (!valid) return;
              const double v = to_double(xp[at]);
              if (best_at < 0 || v > best) {
                best = v;
                best_at = at;
                best_z = iz;
                best_y = iy;
                best_x = ix;
              }
            });
            if (best_at >= 0) y[plane * out_plane + o] = xp[best_at];
            else if constexpr (std::is_integral_v<T>) y[plane * out_plane + o] = std::numeric_limits<T>::lowest();
            else y[plane * out_plane + o] = from_double<T>(best);
            const std::int64_t within = col_major ? (best_x * p.in[1] + best_y) * p.in[0] + best_z : best_at;
            idx[plane * out_plane + o] = plane * in_plane + within;
          });
        });
      });
      std::vector<Tensor> outs{y_t};
      if (node.outputs.size() > 1) outs.push_back(idx_t);
      return outs;
    }});

// ---------------------------------------------------------------- AveragePool

AUTOSCHED_REGISTER_OP(OpDefinition{
    "AveragePool",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector{pool_info(node, in)};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x_t = required_input(node, in, 0);
      const Shape& xs = x_t.shape();
      if (xs.size() < 3) fail(node, "input must have rank >= 3, got " + to_string(xs));
      const auto g = window_geometry(node, pool_kernel(node), Shape(xs.begin() + 2, xs.end()),
                                     node.get_int("ceil_mode", 0) != 0);
      const Pool3 p = pool3(node, xs, g);
      const bool include_pad = node.get_int("count_include_pad", 0) != 0;
      Tensor y_t(x_t.element_type(), pooled_shape(xs, g));
      const std::int64_t planes = xs[0] * xs[1];
      const std::int64_t in_plane = p.in[0] * p.in[1] * p.in[2], out_plane = p.out[0] * p.out[1] * p.out[2];
      dispatch_type(x_t.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T>) {
          fail(node, std::string("element type ") + to_string(x_t.element_type()) + " is not supported",
               ErrorCode::unsupported);
        } else {
          const T* x = static_cast<const T*>(x_t.data());
          T* y = static_cast<T*>(y_t.data());
          tbb::parallel_for(std::int64_t(0), planes, [&](std::int64_t plane) {
            const T* xp = x + plane * in_plane;
            for_each_window(p, [&](std::int64_t o, auto&& window) {
              double sum = 0.0;
              std::int64_t count = 0;
              window([&](bool valid, bool in_padded, std::int64_t at, std::int64_t, std::int64_t, std::int64_t) {
                if (valid) sum += to_double(xp[at]);
                if (include_pad ? in_padded : valid) ++count;
              });
              y[plane * out_plane + o] = from_double<T>(count ? sum / double(count) : 0.0);
            });
          });
        }
      });
      return std::vector{y_t};
    }});

// ---------------------------------------------------------------- Global pools

std::vector<ir::ValueInfo> global_pool_info(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                            const std::vector<const Tensor*>&) {
  const auto& x = required_info(node, in, 0);
  if (!x.shape.rank_known()) return {value_info(x.element_type, x.shape)};
  if (x.shape.rank() < 2) fail(node, "input must have rank >= 2, got " + x.shape.to_string());
  std::vector<Dimension> dims{x.shape[0], x.shape[1]};
  dims.resize(x.shape.rank(), Dimension(1));
  return {value_info(x.element_type, PartialShape(dims))};
}

template <bool Max> std::vector<Tensor> global_pool(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& x_t = required_input(node, in, 0);
  const Shape& xs = x_t.shape();
  if (xs.size() < 2) fail(node, "input must have rank >= 2, got " + to_string(xs));
  Shape out_shape(xs.size(), 1);
  out_shape[0] = xs[0];
  out_shape[1] = xs[1];
  const std::int64_t planes = xs[0] * xs[1];
  const std::int64_t plane_size = shape_size(Shape(xs.begin() + 2, xs.end()));
  Tensor y_t(x_t.element_type(), out_shape);
  dispatch_type(x_t.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(x_t.data());
    T* y = static_cast<T*>(y_t.data());
    tbb::parallel_for(std::int64_t(0), planes, [&](std::int64_t plane) {
      const T* xp = x + plane * plane_size;
      if constexpr (Max) {
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < plane_size; ++i)
          if (to_double(xp[i]) > to_double(xp[best])) best = i;
        y[plane] = plane_size ? xp[best] : T{};
      } else {
        double sum = 0.0;
        for (std::int64_t i = 0; i < plane_size; ++i) sum += to_double(xp[i]);
        y[plane] = from_double<T>(plane_size ? sum / double(plane_size) : 0.0);
      }
    });
  });
  return {y_t};
}

AUTOSCHED_REGISTER_OP(OpDefinition{"GlobalAveragePool", global_pool_info, global_pool<false>});
AUTOSCHED_REGISTER_OP(OpDefinition{"GlobalMaxPool", global_pool_info, global_pool<true>});

}  // namespace
}  // namespace autosched::reference
