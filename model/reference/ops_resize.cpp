// Reference Resize (opsets 11–19 forms): modes nearest / linear / cubic,
// every coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
// exclude_outside, extrapolation_value (tf_crop_and_resize), scales or sizes,
// opset-18 axes and keep_aspect_ratio_policy. antialias is not supported.
//
// Resize is separable: each output coordinate of each axis maps to a few
// (input index, weight) taps, computed once per axis; an output element is
// the f64 sum over the product of its axes' taps. The coordinate mapping
// follows the ONNX reference implementation (which produced the node tests),
// including its use of the unrounded resized length (scale * input length).
#include <tbb/parallel_for.h>

#include <cmath>

#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"

namespace autosched::reference {
namespace {

struct Tap {
  std::int64_t index;
  double weight;
};

// Per axis: the output length and, per output coordinate, its taps. An empty
// tap list means "outside the crop": the output is extrapolation_value.
struct AxisPlan {
  std::int64_t out = 0;
  std::vector<std::vector<Tap>> taps;
};

// Floating or integer tensor values as doubles (roi and scales are float).
std::vector<double> read_doubles(const ir::Node& node, const Tensor& t) {
  std::vector<double> out(t.size());
  dispatch_type(t.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(t.data());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = to_double(p[i]);
  });
  return out;
}

// An input that is absent or holds zero elements (ONNX marks "not given" both ways).
const Tensor* given(const Tensor* t) { return t && t->size() > 0 ? t : nullptr; }

// The axes scales/sizes/roi refer to: the `axes` attribute (opset 18) or all.
std::vector<std::int64_t> resize_axes(const ir::Node& node, std::int64_t rank) {
  std::vector<std::int64_t> axes = node.get_ints("axes");
  if (axes.empty()) {
    for (std::int64_t i = 0; i < rank; ++i) axes.push_back(i);
    return axes;
  }
  std::vector<bool> seen(std::size_t(rank), false);
  for (auto& a : axes) {
    a = normalize_axis(node, a, rank);
    if (seen[std::size_t(a)]) fail(node, "axes lists axis " + std::to_string(a) + " twice");
    seen[std::size_t(a)] = true;
  }
  return axes;
}

// Output shape and per-axis scale (scale * input length is the "resized
// length" the coordinate transforms use). Exactly one of scales/sizes.
struct Geometry {
  Shape out;
  std::vector<double> scale;
  std::vector<double> resized_length;
};

Geometry resize_geometry(const ir::Node& node, const Shape& xs, const Tensor* scales_t, const Tensor* sizes_t) {
  const std::int64_t rank = std::int64_t(xs.size());
  const auto axes = resize_axes(node, rank);
  Geometry g;
  g.out = xs;
  g.scale.assign(xs.size(), 1.0);
  g.resized_length.assign(xs.size(), 0.0);
  for (std::size_t i = 0; i < xs.size(); ++i) g.resized_length[i] = double(xs[i]);
  if (bool(scales_t) == bool(sizes_t))
    fail(node, "exactly one of the inputs 'scales' (2) and 'sizes' (3) must be given");
  if (scales_t) {
    const auto scales = read_doubles(node, *scales_t);
    if (scales.size() != axes.size())
      fail(node, "scales has " + std::to_string(scales.size()) + " values, expected " +
                     std::to_string(axes.size()) + " (one per resized axis of input " + to_string(xs) + ")");
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const auto a = std::size_t(axes[k]);
      if (!(scales[k] > 0)) fail(node, "scales must be positive, got " + std::to_string(scales[k]));
      g.scale[a] = scales[k];
      g.resized_length[a] = scales[k] * double(xs[a]);
      g.out[a] = std::int64_t(std::floor(g.resized_length[a]));
    }
    return g;
  }
  const auto sizes = read_ints(node, *sizes_t);
  if (sizes.size() != axes.size())
    fail(node, "sizes has " + std::to_string(sizes.size()) + " values, expected " + std::to_string(axes.size()) +
                   " (one per resized axis of input " + to_string(xs) + ")");
  for (auto s : sizes)
    if (s < 0) fail(node, "sizes must not be negative, got " + std::to_string(s));
  const std::string policy = node.get_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    fail(node, "keep_aspect_ratio_policy '" + policy + "' is not one of stretch, not_larger, not_smaller");
  double common = policy == "not_larger" ? INFINITY : 0.0;
  for (std::size_t k = 0; k < axes.size(); ++k) {
    const double s = double(sizes[k]) / double(std::max<std::int64_t>(xs[std::size_t(axes[k])], 1));
    common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
  }
  for (std::size_t k = 0; k < axes.size(); ++k) {
    const auto a = std::size_t(axes[k]);
    const double in = double(std::max<std::int64_t>(xs[a], 1));
    if (policy == "stretch") {
      g.out[a] = sizes[k];
      g.scale[a] = double(sizes[k]) / in;
    } else {
      g.out[a] = std::int64_t(std::round(common * in));
      g.scale[a] = common;
    }
    g.resized_length[a] = policy == "stretch" ? double(g.out[a]) : common * in;
  }
  return g;
}

// Cubic convolution weights for the taps at floor(x)-1 .. floor(x)+2.
void cubic_weights(double t, double a, double w[4]) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };          // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };     // 1 < |d| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

std::int64_t nearest_index(const std::string& mode, double x, const ir::Node& node) {
  const double f = std::floor(x);
  const double t = x - f;
  if (t == 0) return std::int64_t(f);
  if (mode == "round_prefer_floor") return std::int64_t(t <= 0.5 ? f : f + 1);
  if (mode == "round_prefer_ceil") return std::int64_t(t < 0.5 ? f : f + 1);
  if (mode == "floor") return std::int64_t(f);
  if (mode == "ceil") return std::int64_t(f + 1);
  fail(node, "nearest_mode '" + mode + "' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil");
}

struct Options {
  std::string mode, transform, nearest_mode;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

Options read_options(const ir::Node& node) {
  Options o;
  o.mode = node.get_string("mode", "nearest");
  if (o.mode != "nearest" && o.mode != "linear" && o.mode != "cubic")
    fail(node, "mode '" + o.mode + "' is not one of nearest, linear, cubic");
  o.transform = node.get_string("coordinate_transformation_mode", "half_pixel");
  static const char* kTransforms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(std::begin(kTransforms), std::end(kTransforms), o.transform) == std::end(kTransforms))
    fail(node, "coordinate_transformation_mode '" + o.transform +
                   "' is not one of half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, "
                   "asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize");
  o.nearest_mode = node.get_string("nearest_mode", "round_prefer_floor");
  o.cubic_a = node.get_float("cubic_coeff_a", -0.75);
  o.exclude_outside = node.get_int("exclude_outside", 0) != 0;
  if (node.get_int("antialias", 0) != 0) fail(node, "antialias=1 is not supported", ErrorCode::unsupported);
  return o;
}

// Taps of one axis. `roi_start/end` are used by tf_crop_and_resize only.
AxisPlan plan_axis(const ir::Node& node, const Options& o, std::int64_t in, std::int64_t out, double scale,
                   double resized, double roi_start, double roi_end) {
  AxisPlan p;
  p.out = out;
  p.taps.resize(std::size_t(out));
  const bool identity = in == out && scale == 1.0 && o.transform != "tf_crop_and_resize";
  for (std::int64_t xr = 0; xr < out; ++xr) {
    auto& taps = p.taps[std::size_t(xr)];
    if (identity) {
      taps.push_back({xr, 1.0});
      continue;
    }
    const double xd = double(xr);
    double x = 0;
    const std::string& t = o.transform;
    if (t == "half_pixel") x = (xd + 0.5) / scale - 0.5;
    else if (t == "pytorch_half_pixel") x = resized == 1.0 ? -0.5 : (xd + 0.5) / scale - 0.5;
    else if (t == "align_corners") x = resized == 1.0 ? 0.0 : xd * double(in - 1) / (resized - 1);
    else if (t == "asymmetric") x = xd / scale;
    else if (t == "tf_half_pixel_for_nn") x = (xd + 0.5) / scale;
    else if (t == "half_pixel_symmetric") {
      const double center = double(in) / 2;
      x = center * (1 - double(out) / resized) + (xd + 0.5) / scale - 0.5;
    } else {  // tf_crop_and_resize
      x = resized == 1.0 ? (roi_end - roi_start) * double(in - 1) / 2
                         : xd * (roi_end - roi_start) * double(in - 1) / (resized - 1);
      x += roi_start * double(in - 1);
      if (x < 0 || x > double(in - 1)) continue;  // no taps: extrapolation_value
    }
    auto clamp = [in](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, in - 1); };
    if (o.mode == "nearest") {
      taps.push_back({clamp(nearest_index(o.nearest_mode, x, node)), 1.0});
      continue;
    }
    const double f = std::floor(x);
    const double frac = x - f;
    const auto base = std::int64_t(f);
    std::vector<Tap> raw;
    if (o.mode == "linear") {
      raw = {{base, 1 - frac}, {base + 1, frac}};
    } else {
      double w[4];
      cubic_weights(frac, o.cubic_a, w);
      for (int k = 0; k < 4; ++k) raw.push_back({base - 1 + k, w[k]});
    }
    if (o.exclude_outside) {
      double sum = 0;
      for (auto& tap : raw) {
        if (tap.index < 0 || tap.index >= in) tap.weight = 0;
        sum += tap.weight;
      }
      if (sum != 0)
        for (auto& tap : raw) tap.weight /= sum;
    }
    for (const auto& tap : raw)
      if (tap.weight != 0) taps.push_back({clamp(tap.index), tap.weight});
    if (taps.empty()) taps.push_back({clamp(base), 0.0});
  }
  return p;
}

Tensor resize(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& x_t = required_input(node, in, 0);
  const Shape& xs = x_t.shape();
  if (xs.empty()) fail(node, "input X must have rank >= 1");
  const Options o = read_options(node);
  const Geometry g = resize_geometry(node, xs, given(optional_input(in, 2)), given(optional_input(in, 3)));
  const std::size_t rank = xs.size();
  std::vector<double> roi_start(rank, 0.0), roi_end(rank, 1.0);
  if (o.transform == "tf_crop_and_resize") {
    const Tensor* roi_t = given(optional_input(in, 1));
    if (!roi_t) fail(node, "coordinate_transformation_mode tf_crop_and_resize needs the input 'roi' (1)");
    const auto roi = read_doubles(node, *roi_t);
    const auto axes = resize_axes(node, std::int64_t(rank));
    if (roi.size() != 2 * axes.size())
      fail(node, "roi has " + std::to_string(roi.size()) + " values, expected " + std::to_string(2 * axes.size()) +
                     " (starts then ends of each resized axis)");
    for (std::size_t k = 0; k < axes.size(); ++k) {
      roi_start[std::size_t(axes[k])] = roi[k];
      roi_end[std::size_t(axes[k])] = roi[axes.size() + k];
    }
  }
  for (std::size_t a = 0; a < rank; ++a)
    if (xs[a] == 0 && g.out[a] > 0) fail(node, "cannot resize the empty axis " + std::to_string(a));
  std::vector<AxisPlan> plans;
  for (std::size_t a = 0; a < rank; ++a)
    plans.push_back(plan_axis(node, o, xs[a], g.out[a], g.scale[a], g.resized_length[a], roi_start[a], roi_end[a]));

  Tensor y_t(x_t.element_type(), g.out);
  const std::int64_t total = shape_size(g.out);
  if (total == 0) return y_t;
  const auto in_strides = strides_of(xs);
  const double extrapolation = node.get_float("extrapolation_value", 0.0);
  // Rows along the last axis run in parallel; each element is one fixed loop.
  const std::int64_t inner = g.out.empty() ? 1 : g.out.back();
  const std::int64_t rows = total / inner;
  dispatch_type(x_t.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(x_t.data());
    T* y = static_cast<T*>(y_t.data());
    tbb::parallel_for(std::int64_t(0), rows, [&](std::int64_t row) {
      std::vector<const std::vector<Tap>*> taps(rank);
      std::vector<std::size_t> pick(rank);
      std::int64_t rest = row;
      for (std::size_t a = rank - 1; a-- > 0;) {
        taps[a] = &plans[a].taps[std::size_t(rest % g.out[a])];
        rest /= g.out[a];
      }
      for (std::int64_t col = 0; col < inner; ++col) {
        if (rank > 0) taps[rank - 1] = &plans[rank - 1].taps[std::size_t(col)];
        bool outside = false;
        for (std::size_t a = 0; a < rank; ++a) outside = outside || taps[a]->empty();
        double acc = 0;
        if (outside) {
          acc = extrapolation;
        } else {
          // Odometer over the product of the axes' taps.
          std::fill(pick.begin(), pick.end(), 0);
          while (true) {
            double w = 1;
            std::int64_t off = 0;
            for (std::size_t a = 0; a < rank; ++a) {
              const Tap& tap = (*taps[a])[pick[a]];
              w *= tap.weight;
              off += tap.index * in_strides[a];
            }
            acc += w * to_double(x[off]);
            std::size_t a = rank;
            while (a-- > 0) {
              if (++pick[a] < taps[a]->size()) break;
              pick[a] = 0;
            }
            if (a == std::size_t(-1)) break;
          }
        }
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) acc = std::round(acc);
        y[row * inner + col] = from_double<T>(acc);
      }
    });
  });
  return y_t;
}

std::vector<ir::ValueInfo> infer_resize(const ir::Node& node, const std::vector<ir::ValueInfo>& in,
                                        const std::vector<const Tensor*>& constants) {
  const auto& x = required_info(node, in, 0);
  read_options(node);  // reject bad attributes at compile time
  if (!x.shape.rank_known()) return {value_info(x.element_type, PartialShape::dynamic_rank())};
  if (x.shape.rank() == 0) fail(node, "input X must have rank >= 1");
  // A value is known when it is a constant or absent (an empty constant counts as absent).
  auto known = [&](std::size_t i) { return !optional_info(in, i) || constant_of(constants, i); };
  const Tensor* scales_c = given(constant_of(constants, 2));
  const Tensor* sizes_c = given(constant_of(constants, 3));
  std::vector<Dimension> dims = x.shape.dims();
  const auto axes = resize_axes(node, std::int64_t(dims.size()));
  if (x.shape.is_static() && known(2) && known(3)) {
    const Geometry g = resize_geometry(node, x.shape.to_shape(), scales_c, sizes_c);
    return {value_info(x.element_type, PartialShape(g.out))};
  }
  // Partly known: resized axes get their size when it does not depend on a dynamic dim.
  const bool stretch = node.get_string("keep_aspect_ratio_policy", "stretch") == "stretch";
  const auto scales = known(2) && scales_c ? read_doubles(node, *scales_c) : std::vector<double>{};
  const auto sizes = known(3) && sizes_c && stretch ? read_ints(node, *sizes_c) : std::vector<std::int64_t>{};
  for (std::size_t k = 0; k < axes.size(); ++k) {
    Dimension& d = dims[std::size_t(axes[k])];
    if (sizes.size() == axes.size()) d = Dimension(sizes[k]);
    else if (scales.size() == axes.size() && d.is_static())
      d = Dimension(std::int64_t(std::floor(scales[k] * double(d.length))));
    else if (scales.size() == axes.size() && scales[k] == 1.0) continue;  // keeps its (symbolic) dim
    else d = Dimension::dynamic();
  }
  return {value_info(x.element_type, PartialShape(dims))};
}

AUTOSCHED_REGISTER_OP(OpDefinition{"Resize", infer_resize,
                                   [](const ir::Node& node, const std::vector<Tensor>& in) {
                                     return std::vector<Tensor>{resize(node, in)};
                                   }});

}  // namespace
}  // namespace autosched::reference
