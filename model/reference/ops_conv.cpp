// Reference Conv (1-D/2-D/3-D, groups, strides, dilations, pads, auto_pad,
// optional bias) as im2col + the shared double-accumulating matmul, and
// ConvTranspose (1-D/2-D/3-D) as a direct gather. f32 math; f16/bf16/f64
// inputs go through f32.
#include <tbb/parallel_for.h>

#include <cstring>

#include "model/reference/matmul_kernel.hpp"
#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"
#include "model/reference/window_geometry.hpp"

namespace autosched::reference {
namespace {

// Spatial sizes padded to 3 dims (leading 1s) so one loop nest serves 1-D..3-D.
struct Dims3 {
  std::int64_t d = 1, h = 1, w = 1;
};
Dims3 to3(const ir::Node& node, const std::vector<std::int64_t>& v, std::int64_t fill) {
  if (v.size() > 3) fail(node, "more than 3 spatial dims are not supported", ErrorCode::unsupported);
  std::vector<std::int64_t> p(3 - v.size(), fill);
  p.insert(p.end(), v.begin(), v.end());
  return {p[0], p[1], p[2]};
}

std::vector<std::int64_t> conv_kernel_shape(const ir::Node& node, const Shape& w) {
  std::vector<std::int64_t> k(w.begin() + 2, w.end());
  const auto attr = node.get_ints("kernel_shape");
  if (!attr.empty() && attr != k)
    fail(node, "kernel_shape " + to_string(attr) + " does not match weights " + to_string(w));
  return k;
}

// ---------------------------------------------------------------- Conv

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Conv",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      const auto& w = required_info(node, in, 1);
      if (!w.shape.rank_known() || !w.shape.is_static()) {
        auto kernel = node.get_ints("kernel_shape");
        if (kernel.empty() || !x.shape.rank_known())
          return std::vector{value_info(x.element_type, x.shape.rank_known() ? dynamic_dims(x.shape.rank()) : x.shape)};
        const Dimension m = w.shape.rank_known() ? w.shape[0] : Dimension::dynamic();
        return std::vector{value_info(x.element_type, window_output_shape(node, x.shape, m, kernel, false))};
      }
      const Shape ws = w.shape.to_shape();
      if (ws.size() < 3) fail(node, "weights must have rank >= 3, got " + to_string(ws));
      if (x.shape.rank_known() && x.shape[1].is_static()) {
        const std::int64_t group = node.get_int("group", 1);
        if (x.shape[1].length != ws[1] * group)
          fail(node, "input channels " + std::to_string(x.shape[1].length) + " != weight channels " +
                         std::to_string(ws[1]) + " x group " + std::to_string(group));
      }
      return std::vector{value_info(x.element_type, window_output_shape(node, x.shape, ws[0], conv_kernel_shape(node, ws), false))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& inputs) {
      const Tensor& x_t = required_input(node, inputs, 0);
      const Tensor& w_t = required_input(node, inputs, 1);
      const Shape& xs = x_t.shape();
      const Shape& ws = w_t.shape();
      if (xs.size() < 3 || ws.size() != xs.size())
        fail(node, "input " + to_string(xs) + " and weights " + to_string(ws) + " ranks do not fit");
      const std::int64_t group = node.get_int("group", 1);
      const std::int64_t batch = xs[0], c_in = xs[1], m_out = ws[0];
      if (group < 1 || c_in != ws[1] * group || m_out % group != 0)
        fail(node, "input channels " + std::to_string(c_in) + ", weights " + to_string(ws) + " and group " +
                       std::to_string(group) + " do not fit");
      const auto kernel = conv_kernel_shape(node, ws);
      const WindowGeometry g = window_geometry(node, kernel, Shape(xs.begin() + 2, xs.end()), false);
      const Dims3 in = to3(node, Shape(xs.begin() + 2, xs.end()), 1), out = to3(node, g.output, 1);
      const Dims3 k = to3(node, kernel, 1), s = to3(node, g.strides, 1), dl = to3(node, g.dilations, 1);
      const Dims3 p = to3(node, g.pad_begin, 0);
      const std::int64_t cg = c_in / group, mg = m_out / group;
      const std::int64_t kg = cg * k.d * k.h * k.w;  // reduction length per group
      const std::int64_t in_size = in.d * in.h * in.w, out_size = out.d * out.h * out.w;

      const FloatInput x(node, x_t), w(node, w_t);
      std::vector<double> bias(std::size_t(m_out), 0.0);
      if (const Tensor* b_t = optional_input(inputs, 2)) {
        if (std::int64_t(b_t->size()) != m_out) fail(node, "bias has " + std::to_string(b_t->size()) + " elements, expected " + std::to_string(m_out));
        const FloatInput b(node, *b_t);
        for (std::int64_t i = 0; i < m_out; ++i) bias[std::size_t(i)] = double(b.data()[i]);
      }
      Shape out_shape{batch, m_out};
      out_shape.insert(out_shape.end(), g.output.begin(), g.output.end());
      std::vector<float> y(std::size_t(shape_size(out_shape)));
      if (out_size == 0 || m_out == 0) return std::vector{float_output(node, x_t.element_type(), out_shape, y)};

      const bool direct = k.d * k.h * k.w == 1 && s.d * s.h * s.w == 1 && p.d + p.h + p.w == 0 &&
                          out_size == in_size;  // 1x1 conv: the input is already the column matrix
      std::vector<float> col(direct ? 0 : std::size_t(c_in * k.d * k.h * k.w * out_size));
      for (std::int64_t n = 0; n < batch; ++n) {
        const float* xn = x.data() + n * c_in * in_size;
        if (!direct) {
          tbb::parallel_for(std::int64_t(0), c_in, [&](std::int64_t c) {
            const float* xc = xn + c * in_size;
            for (std::int64_t kd = 0; kd < k.d; ++kd)
              for (std::int64_t kh = 0; kh < k.h; ++kh)
                for (std::int64_t kw = 0; kw < k.w; ++kw) {
                  float* row = col.data() + (((c * k.d + kd) * k.h + kh) * k.w + kw) * out_size;
                  for (std::int64_t od = 0; od < out.d; ++od) {
                    const std::int64_t id = od * s.d + kd * dl.d - p.d;
                    for (std::int64_t oh = 0; oh < out.h; ++oh) {
                      const std::int64_t ih = oh * s.h + kh * dl.h - p.h;
                      float* dst = row + (od * out.h + oh) * out.w;
                      if (id < 0 || id >= in.d || ih < 0 || ih >= in.h) {
                        std::fill(dst, dst + out.w, 0.0f);
                        continue;
                      }
                      const float* src = xc + (id * in.h + ih) * in.w;
                      for (std::int64_t ow = 0; ow < out.w; ++ow) {
                        const std::int64_t iw = ow * s.w + kw * dl.w - p.w;
                        dst[ow] = iw >= 0 && iw < in.w ? src[iw] : 0.0f;
                      }
                    }
                  }
                }
          });
        }
        const float* cols = direct ? xn : col.data();
        float* yn = y.data() + n * m_out * out_size;
        parallel_matmul_tiles(group, mg, out_size,
                              [&](std::int64_t gi, std::int64_t m0, std::int64_t m1, std::int64_t n0, std::int64_t n1) {
                                const float* wg = w.data() + gi * mg * kg;
                                const float* bg = cols + gi * kg * out_size;
                                float* yg = yn + gi * mg * out_size;
                                const double* biasg = bias.data() + gi * mg;
                                matmul_tile(wg, kg, bg, out_size, kg, m0, m1, n0, n1,
                                            [&](std::int64_t i, std::int64_t j, double acc) {
                                              yg[i * out_size + j] = float(acc + biasg[i]);
                                            });
                              });
      }
      return std::vector{float_output(node, x_t.element_type(), out_shape, y)};
    }});

// ---------------------------------------------------------------- ConvTranspose

struct TransposeGeometry {
  std::vector<std::int64_t> kernel, strides, dilations, pad_begin, output;
};

// Output sizes and begin pads per ONNX ConvTranspose: output_shape wins over
// pads; auto_pad SAME gives in * stride.
TransposeGeometry conv_transpose_geometry(const ir::Node& node, const std::vector<std::int64_t>& kernel,
                                          const std::vector<std::int64_t>& in) {
  const std::size_t n = kernel.size();
  TransposeGeometry g;
  g.kernel = kernel;
  g.strides = node.get_ints("strides", std::vector<std::int64_t>(n, 1));
  g.dilations = node.get_ints("dilations", std::vector<std::int64_t>(n, 1));
  auto pads = node.get_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  const auto out_pad = node.get_ints("output_padding", std::vector<std::int64_t>(n, 0));
  auto out_shape = node.get_ints("output_shape");
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (g.strides.size() != n || g.dilations.size() != n || pads.size() != 2 * n || out_pad.size() != n ||
      (!out_shape.empty() && out_shape.size() != n))
    fail(node, "strides, dilations, pads, output_padding and output_shape must match " + std::to_string(n) + " spatial dims");
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t ek = (kernel[i] - 1) * g.dilations[i] + 1;
    const std::int64_t full = g.strides[i] * (in[i] - 1) + out_pad[i] + ek;
    std::int64_t out;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out = !out_shape.empty() ? out_shape[i] : in[i] * g.strides[i];
      const std::int64_t total = full - out;  // negative when output_shape asks for more than the full size
      const std::int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor(total / 2)
      // ONNX: SAME_UPPER puts the extra padding at the end, otherwise at the beginning.
      pads[i] = auto_pad == "SAME_UPPER" ? half : total - half;
    } else {
      if (auto_pad == "VALID") pads[i] = pads[i + n] = 0;
      out = full - pads[i] - pads[i + n];
    }
    if (out < 0) fail(node, "output size on spatial dim " + std::to_string(i) + " is negative");
    g.pad_begin.push_back(pads[i]);
    g.output.push_back(out);
  }
  return g;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "ConvTranspose",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      const auto& w = required_info(node, in, 1);
      if (!x.shape.rank_known() || !w.shape.rank_known() || !w.shape.is_static())
        return std::vector{value_info(x.element_type, x.shape.rank_known() ? dynamic_dims(x.shape.rank()) : x.shape)};
      const Shape ws = w.shape.to_shape();
      if (ws.size() != x.shape.rank() || ws.size() < 3) fail(node, "input and weight ranks do not fit");
      const std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
      std::vector<std::int64_t> spatial;
      for (std::size_t i = 2; i < x.shape.rank(); ++i) spatial.push_back(x.shape[i].is_static() ? x.shape[i].length : 1);
      const auto g = conv_transpose_geometry(node, kernel, spatial);
      std::vector<Dimension> dims{x.shape[0], Dimension(ws[1] * node.get_int("group", 1))};
      for (std::size_t i = 0; i < g.output.size(); ++i)
        dims.push_back(x.shape[i + 2].is_static() ? Dimension(g.output[i]) : Dimension::dynamic());
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x_t = required_input(node, in, 0);
      const Tensor& w_t = required_input(node, in, 1);
      const Shape& xs = x_t.shape();
      const Shape& ws = w_t.shape();
      if (xs.size() < 3 || ws.size() != xs.size()) fail(node, "input and weight ranks do not fit");
      const std::int64_t group = node.get_int("group", 1);
      const std::int64_t batch = xs[0], c_in = xs[1];
      if (group < 1 || ws[0] != c_in || c_in % group != 0)
        fail(node, "input channels " + std::to_string(c_in) + ", weights " + to_string(ws) + " and group do not fit");
      const std::int64_t cg = c_in / group, mg = ws[1], m_out = mg * group;
      const std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
      const auto g = conv_transpose_geometry(node, kernel, Shape(xs.begin() + 2, xs.end()));
      const Dims3 id = to3(node, Shape(xs.begin() + 2, xs.end()), 1), od = to3(node, g.output, 1);
      const Dims3 k = to3(node, kernel, 1), s = to3(node, g.strides, 1), dl = to3(node, g.dilations, 1);
      const Dims3 p = to3(node, g.pad_begin, 0);
      const std::int64_t in_size = id.d * id.h * id.w, out_size = od.d * od.h * od.w, k_size = k.d * k.h * k.w;
      const FloatInput x(node, x_t), w(node, w_t);
      std::vector<double> bias(std::size_t(m_out), 0.0);
      if (const Tensor* b_t = optional_input(in, 2)) {
        if (std::int64_t(b_t->size()) != m_out) fail(node, "bias size does not match output channels");
        const FloatInput b(node, *b_t);
        for (std::int64_t i = 0; i < m_out; ++i) bias[std::size_t(i)] = double(b.data()[i]);
      }
      Shape out_shape{batch, m_out};
      out_shape.insert(out_shape.end(), g.output.begin(), g.output.end());
      std::vector<float> y(std::size_t(shape_size(out_shape)));
      // Input position along one dim feeding output o through kernel tap t, or -1.
      auto source = [](std::int64_t o, std::int64_t t, std::int64_t stride, std::int64_t dil, std::int64_t pad,
                       std::int64_t len) -> std::int64_t {
        const std::int64_t v = o + pad - t * dil;
        if (v < 0 || v % stride != 0 || v / stride >= len) return -1;
        return v / stride;
      };
      tbb::parallel_for(std::int64_t(0), batch * m_out, [&](std::int64_t nm) {
        const std::int64_t n = nm / m_out, m = nm % m_out, gi = m / mg, mi = m % mg;
        float* yp = y.data() + nm * out_size;
        for (std::int64_t o = 0; o < out_size; ++o) {
          const std::int64_t ozd = o / (od.h * od.w), ozh = (o / od.w) % od.h, ozw = o % od.w;
          double acc = bias[std::size_t(m)];
          for (std::int64_t c = 0; c < cg; ++c) {
            const float* xc = x.data() + (n * c_in + gi * cg + c) * in_size;
            const float* wc = w.data() + ((gi * cg + c) * mg + mi) * k_size;
            for (std::int64_t td = 0; td < k.d; ++td) {
              const std::int64_t sd = source(ozd, td, s.d, dl.d, p.d, id.d);
              if (sd < 0) continue;
              for (std::int64_t th = 0; th < k.h; ++th) {
                const std::int64_t sh = source(ozh, th, s.h, dl.h, p.h, id.h);
                if (sh < 0) continue;
                for (std::int64_t tw = 0; tw < k.w; ++tw) {
                  const std::int64_t sw = source(ozw, tw, s.w, dl.w, p.w, id.w);
                  if (sw < 0) continue;
                  acc += double(xc[(sd * id.h + sh) * id.w + sw]) * double(wc[(td * k.h + th) * k.w + tw]);
                }
              }
            }
          }
          yp[o] = float(acc);
        }
      });
      return std::vector{float_output(node, x_t.element_type(), out_shape, y)};
    }});

}  // namespace
}  // namespace autosched::reference
