#pragma once
// Sliding-window geometry shared by Conv and the pooling ops: kernel,
// strides, dilations, pads (explicit or auto_pad) and output sizes per
// spatial dim, following the ONNX formulas. Header-only, internal.
#include <string>
#include <vector>

#include "model/reference/kernel_support.hpp"

namespace autosched::reference {

struct WindowGeometry {
  std::vector<std::int64_t> kernel, strides, dilations, pad_begin, pad_end, output;
};

// Reads strides/dilations/pads/auto_pad for `spatial` dims (defaults 1/1/0/NOTSET).
inline WindowGeometry window_attributes(const ir::Node& node, const std::vector<std::int64_t>& kernel) {
  const std::size_t n = kernel.size();
  WindowGeometry g;
  g.kernel = kernel;
  g.strides = node.get_ints("strides", std::vector<std::int64_t>(n, 1));
  g.dilations = node.get_ints("dilations", std::vector<std::int64_t>(n, 1));
  const auto pads = node.get_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  if (g.strides.size() != n || g.dilations.size() != n || pads.size() != 2 * n)
    fail(node, "strides, dilations and pads must match " + std::to_string(n) + " spatial dims");
  g.pad_begin.assign(pads.begin(), pads.begin() + std::ptrdiff_t(n));
  g.pad_end.assign(pads.begin() + std::ptrdiff_t(n), pads.end());
  for (std::size_t i = 0; i < n; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1)
      fail(node, "kernel, strides and dilations must be positive");
  }
  return g;
}

// Output length of one spatial dim; adjusts the pads for auto_pad. Returns
// -1 when the input length is unknown (pads of SAME then stay unknown too).
inline std::int64_t window_output(const ir::Node& node, WindowGeometry& g, std::size_t i, std::int64_t in,
                                  bool ceil_mode) {
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  const std::int64_t ek = (g.kernel[i] - 1) * g.dilations[i] + 1, s = g.strides[i];
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    if (in < 0) return -1;
    const std::int64_t out = (in + s - 1) / s;
    const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + ek - in);
    const std::int64_t small = total / 2;
    g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
    g.pad_end[i] = total - g.pad_begin[i];
    return out;
  }
  if (auto_pad == "VALID") {
    g.pad_begin[i] = g.pad_end[i] = 0;
  } else if (auto_pad != "NOTSET") {
    fail(node, "auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  if (in < 0) return -1;
  const std::int64_t span = in + g.pad_begin[i] + g.pad_end[i] - ek;
  if (span < 0)
    fail(node, "kernel extent " + std::to_string(ek) + " exceeds padded input " +
                   std::to_string(in + g.pad_begin[i] + g.pad_end[i]) + " on spatial dim " + std::to_string(i));
  std::int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  // A window that would start inside the end padding only is dropped.
  if (ceil_mode && (out - 1) * s >= in + g.pad_begin[i]) --out;
  return out;
}

// Full geometry for static spatial input lengths.
inline WindowGeometry window_geometry(const ir::Node& node, const std::vector<std::int64_t>& kernel,
                                      const Shape& spatial_in, bool ceil_mode) {
  WindowGeometry g = window_attributes(node, kernel);
  if (spatial_in.size() != kernel.size())
    fail(node, "kernel has " + std::to_string(kernel.size()) + " dims for " + std::to_string(spatial_in.size()) +
                   " spatial dims");
  for (std::size_t i = 0; i < kernel.size(); ++i) g.output.push_back(window_output(node, g, i, spatial_in[i], ceil_mode));
  return g;
}

// Shape inference: [N, channels, out...] from a partial [N, C, in...].
inline PartialShape window_output_shape(const ir::Node& node, const PartialShape& x, const Dimension& channels,
                                        const std::vector<std::int64_t>& kernel, bool ceil_mode) {
  if (!x.rank_known()) return PartialShape::dynamic_rank();
  if (x.rank() != kernel.size() + 2)
    fail(node, "input rank " + std::to_string(x.rank()) + " does not match a " + std::to_string(kernel.size()) +
                   "-d kernel");
  WindowGeometry g = window_attributes(node, kernel);
  std::vector<Dimension> dims{x[0], channels};
  for (std::size_t i = 0; i < kernel.size(); ++i) {
    const std::int64_t out = window_output(node, g, i, x[i + 2].is_static() ? x[i + 2].length : -1, ceil_mode);
    dims.push_back(out < 0 ? Dimension::dynamic() : Dimension(out));
  }
  return PartialShape(dims);
}

}  // namespace autosched::reference
