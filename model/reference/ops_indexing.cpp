// Reference indexing ops: GatherElements, ScatterElements, GatherND,
// ScatterND, DepthToSpace, SpaceToDepth, Trilu, OneHot, TopK, NonZero, Compress. Gathers move bytes
// (element_size); scatters with a reduction work on the element type.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "model/reference/op_registry.hpp"
#include "model/reference/op_support.hpp"

namespace autosched::reference {
namespace {

std::int64_t checked_index(const ir::Node& node, std::int64_t i, std::int64_t dim) {
  if (i < -dim || i >= dim)
    fail(node, "index " + std::to_string(i) + " is out of range for a dim of size " + std::to_string(dim));
  return i < 0 ? i + dim : i;
}

ir::ValueInfo same_as_input(const ir::Node& node, const std::vector<ir::ValueInfo>& in, std::size_t i) {
  const auto& x = required_info(node, in, i);
  return value_info(x.element_type, x.shape);
}

// Applies a scatter reduction on one element.
template <class T> void reduce_into(T& dst, T v, const std::string& reduction) {
  if (reduction == "none") dst = v;
  else if (reduction == "add") dst = from_double<T>(to_double(dst) + to_double(v));
  else if (reduction == "mul") dst = from_double<T>(to_double(dst) * to_double(v));
  else if (reduction == "max") dst = to_double(v) > to_double(dst) ? v : dst;
  else dst = to_double(v) < to_double(dst) ? v : dst;  // "min"
}

std::string scatter_reduction(const ir::Node& node) {
  std::string r = node.get_string("reduction", "none");
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
    fail(node, "reduction '" + r + "' is not one of none, add, mul, max, min");
  return r;
}

// ---------------------------------------------------------------- GatherElements / ScatterElements

AUTOSCHED_REGISTER_OP(OpDefinition{
    "GatherElements",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector{value_info(required_info(node, in, 0).element_type, required_info(node, in, 1).shape)};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Tensor& idx_t = required_input(node, in, 1);
      const std::size_t rank = x.shape().size();
      if (idx_t.shape().size() != rank) fail(node, "data and indices must have the same rank");
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(rank)));
      const auto indices = read_ints(node, idx_t);
      Tensor out(x.element_type(), idx_t.shape());
      const std::size_t esz = element_size(x.element_type());
      const auto xs = strides_of(x.shape());
      std::vector<std::int64_t> strides[1] = {xs};
      strides[0][axis] = 0;  // off[0]: the same coordinates in x with 0 along the axis
      const auto* src = static_cast<const unsigned char*>(x.data());
      auto* dst = static_cast<unsigned char*>(out.data());
      for_each_index(idx_t.shape(), strides, [&](std::int64_t i, const std::int64_t* off) {
        const std::int64_t at = checked_index(node, indices[std::size_t(i)], x.shape()[axis]);
        std::memcpy(dst + std::size_t(i) * esz, src + std::size_t(off[0] + at * xs[axis]) * esz, esz);
      });
      return std::vector{out};
    }});

std::vector<Tensor> scatter_elements(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& x = required_input(node, in, 0);
  const Tensor& idx_t = required_input(node, in, 1);
  const Tensor& upd = required_input(node, in, 2);
  const std::size_t rank = x.shape().size();
  if (idx_t.shape() != upd.shape() || idx_t.shape().size() != rank)
    fail(node, "indices and updates must have the same shape and the rank of data");
  const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(rank)));
  const auto reduction = scatter_reduction(node);
  const auto indices = read_ints(node, idx_t);
  Tensor out = x.clone();
  const auto xs = strides_of(x.shape());
  std::vector<std::int64_t> strides[1] = {xs};
  strides[0][axis] = 0;
  dispatch_type(x.element_type(), node, [&](auto tag) {
    using T = decltype(tag);
    T* y = static_cast<T*>(out.data());
    const T* u = static_cast<const T*>(upd.data());
    for_each_index(idx_t.shape(), strides, [&](std::int64_t i, const std::int64_t* off) {
      const std::int64_t at = checked_index(node, indices[std::size_t(i)], x.shape()[axis]);
      reduce_into(y[off[0] + at * xs[axis]], u[i], reduction);
    });
  });
  return {out};
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "ScatterElements",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector{same_as_input(node, in, 0)};
    },
    scatter_elements});

// ---------------------------------------------------------------- GatherND / ScatterND

AUTOSCHED_REGISTER_OP(OpDefinition{
    "GatherND",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      const auto& idx = required_info(node, in, 1);
      if (!x.shape.rank_known() || !idx.shape.rank_known() || idx.shape.rank() == 0 ||
          !idx.shape.dims().back().is_static())
        return std::vector{value_info(x.element_type, PartialShape::dynamic_rank())};
      const auto b = std::size_t(node.get_int("batch_dims", 0));
      const auto k = std::size_t(idx.shape.dims().back().length);
      if (b + k > x.shape.rank()) fail(node, "indices address more dims than data has");
      std::vector<Dimension> dims(idx.shape.dims().begin(), idx.shape.dims().end() - 1);
      dims.insert(dims.end(), x.shape.dims().begin() + std::ptrdiff_t(b + k), x.shape.dims().end());
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Tensor& idx_t = required_input(node, in, 1);
      const Shape& xs = x.shape();
      const Shape& is = idx_t.shape();
      const auto b = std::size_t(node.get_int("batch_dims", 0));
      if (is.empty() || b >= is.size() || b + std::size_t(is.back()) > xs.size())
        fail(node, "indices " + to_string(is) + " do not fit data " + to_string(xs) + " with batch_dims " + std::to_string(b));
      const auto k = std::size_t(is.back());
      Shape out_shape(is.begin(), is.end() - 1);
      out_shape.insert(out_shape.end(), xs.begin() + std::ptrdiff_t(b + k), xs.end());
      Tensor out(x.element_type(), out_shape);
      const auto indices = read_ints(node, idx_t);
      const auto st = strides_of(xs);
      const std::size_t esz = element_size(x.element_type());
      std::int64_t batch = 1, per_batch = 1, slice = 1;
      for (std::size_t i = 0; i < b; ++i) batch *= is[i];
      for (std::size_t i = b; i + 1 < is.size(); ++i) per_batch *= is[i];
      for (std::size_t i = b + k; i < xs.size(); ++i) slice *= xs[i];
      const std::int64_t batch_stride = b ? st[b - 1] : 0;
      const auto* src = static_cast<const unsigned char*>(x.data());
      auto* dst = static_cast<unsigned char*>(out.data());
      for (std::int64_t bi = 0; bi < batch; ++bi)
        for (std::int64_t j = 0; j < per_batch; ++j) {
          const std::int64_t* tuple = indices.data() + (bi * per_batch + j) * std::int64_t(k);
          std::int64_t off = bi * batch_stride;
          for (std::size_t d = 0; d < k; ++d) off += checked_index(node, tuple[d], xs[b + d]) * st[b + d];
          std::memcpy(dst + std::size_t((bi * per_batch + j) * slice) * esz, src + std::size_t(off) * esz,
                      std::size_t(slice) * esz);
        }
      return std::vector{out};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "ScatterND",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector{same_as_input(node, in, 0)};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Tensor& idx_t = required_input(node, in, 1);
      const Tensor& upd = required_input(node, in, 2);
      const Shape& xs = x.shape();
      const Shape& is = idx_t.shape();
      if (is.empty() || std::size_t(is.back()) > xs.size()) fail(node, "indices do not fit data");
      const auto k = std::size_t(is.back());
      const auto reduction = scatter_reduction(node);
      const auto indices = read_ints(node, idx_t);
      const auto st = strides_of(xs);
      std::int64_t count = 1, slice = 1;
      for (std::size_t i = 0; i + 1 < is.size(); ++i) count *= is[i];
      for (std::size_t i = k; i < xs.size(); ++i) slice *= xs[i];
      if (std::int64_t(upd.size()) != count * slice) fail(node, "updates have the wrong number of elements");
      Tensor out = x.clone();
      dispatch_type(x.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        T* y = static_cast<T*>(out.data());
        const T* u = static_cast<const T*>(upd.data());
        for (std::int64_t j = 0; j < count; ++j) {
          std::int64_t off = 0;
          for (std::size_t d = 0; d < k; ++d) off += checked_index(node, indices[std::size_t(j) * k + d], xs[d]) * st[d];
          for (std::int64_t e = 0; e < slice; ++e) reduce_into(y[off + e], u[j * slice + e], reduction);
        }
      });
      return std::vector{out};
    }});

// ---------------------------------------------------------------- DepthToSpace / SpaceToDepth

// Both are a reshape to 6-D, a transpose and a reshape: read x through the
// transposed 6-D view.
Tensor block_rearrange(const ir::Node& node, const Tensor& x, const Shape& view, const std::vector<std::size_t>& perm,
                       const Shape& out_shape) {
  const auto st = strides_of(view);
  Shape shape;
  std::vector<std::int64_t> strides;
  for (auto p : perm) {
    shape.push_back(view[p]);
    strides.push_back(st[p]);
  }
  if (shape_size(view) != std::int64_t(x.size())) fail(node, "block size does not divide the input");
  Tensor out(x.element_type(), out_shape);
  copy_strided(out.data(), x.data(), shape, strides, element_size(x.element_type()));
  return out;
}

std::int64_t block_size(const ir::Node& node) {
  const std::int64_t b = node.get_int("blocksize", 0);
  if (b < 1) fail(node, "blocksize must be positive");
  return b;
}

AUTOSCHED_REGISTER_OP(OpDefinition{
    "DepthToSpace",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, dynamic_dims(4))};
      const std::int64_t b = block_size(node);
      auto scaled = [](const Dimension& d, std::int64_t f, bool divide) {
        return d.is_static() ? Dimension(divide ? d.length / f : d.length * f) : Dimension::dynamic();
      };
      return std::vector{value_info(x.element_type, PartialShape({x.shape[0], scaled(x.shape[1], b * b, true),
                                                                  scaled(x.shape[2], b, false), scaled(x.shape[3], b, false)}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      if (x.shape().size() != 4) fail(node, "input must be 4-D");
      const std::int64_t b = block_size(node), n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
      if (c % (b * b)) fail(node, "channels must be divisible by blocksize^2");
      const Shape out{n, c / (b * b), h * b, w * b};
      if (node.get_string("mode", "DCR") == "CRD")
        return std::vector{block_rearrange(node, x, {n, c / (b * b), b, b, h, w}, {0, 1, 4, 2, 5, 3}, out)};
      return std::vector{block_rearrange(node, x, {n, b, b, c / (b * b), h, w}, {0, 3, 4, 1, 5, 2}, out)};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "SpaceToDepth",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, dynamic_dims(4))};
      const std::int64_t b = block_size(node);
      auto scaled = [](const Dimension& d, std::int64_t f, bool divide) {
        return d.is_static() ? Dimension(divide ? d.length / f : d.length * f) : Dimension::dynamic();
      };
      return std::vector{value_info(x.element_type, PartialShape({x.shape[0], scaled(x.shape[1], b * b, false),
                                                                  scaled(x.shape[2], b, true), scaled(x.shape[3], b, true)}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      if (x.shape().size() != 4) fail(node, "input must be 4-D");
      const std::int64_t b = block_size(node), n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
      if (h % b || w % b) fail(node, "height and width must be divisible by blocksize");
      return std::vector{block_rearrange(node, x, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, {n, c * b * b, h / b, w / b})};
    }});

// ---------------------------------------------------------------- Trilu

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Trilu",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      return std::vector{same_as_input(node, in, 0)};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      if (x.shape().size() < 2) fail(node, "input must have rank >= 2");
      std::int64_t k = 0;
      if (const Tensor* kt = optional_input(in, 1)) k = read_ints(node, *kt).at(0);
      const bool upper = node.get_int("upper", 1) != 0;
      Tensor out = x.clone();
      const std::int64_t rows = x.shape()[x.shape().size() - 2], cols = x.shape().back();
      const std::size_t esz = element_size(x.element_type());
      auto* y = static_cast<unsigned char*>(out.data());
      const std::int64_t mats = rows * cols != 0 ? std::int64_t(x.size()) / (rows * cols) : 0;
      for (std::int64_t m = 0; m < mats; ++m)
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t j = 0; j < cols; ++j) {
            const bool keep = upper ? j - i >= k : j - i <= k;
            if (!keep) std::memset(y + std::size_t((m * rows + i) * cols + j) * esz, 0, esz);
          }
      return std::vector{out};
    }});

// ---------------------------------------------------------------- OneHot

AUTOSCHED_REGISTER_OP(OpDefinition{
    "OneHot",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& idx = required_info(node, in, 0);
      const auto& values = required_info(node, in, 2);
      if (!idx.shape.rank_known()) return std::vector{value_info(values.element_type, PartialShape::dynamic_rank())};
      const std::int64_t rank = std::int64_t(idx.shape.rank()) + 1;
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), rank));
      Dimension depth = Dimension::dynamic();
      if (const Tensor* d = constant_of(c, 1)) depth = Dimension(std::int64_t(dispatch_type(d->element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        return to_double(*static_cast<const T*>(d->data()));
      })));
      auto dims = idx.shape.dims();
      dims.insert(dims.begin() + std::ptrdiff_t(axis), depth);
      return std::vector{value_info(values.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& idx_t = required_input(node, in, 0);
      const Tensor& depth_t = required_input(node, in, 1);
      const Tensor& values = required_input(node, in, 2);
      if (values.size() != 2) fail(node, "values must hold [off, on]");
      const auto depth = std::int64_t(dispatch_type(depth_t.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        return to_double(*static_cast<const T*>(depth_t.data()));
      }));
      if (depth < 1) fail(node, "depth must be positive");
      const std::int64_t rank = std::int64_t(idx_t.shape().size()) + 1;
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), rank));
      Shape out_shape = idx_t.shape();
      out_shape.insert(out_shape.begin() + std::ptrdiff_t(axis), depth);
      std::int64_t outer = 1, inner = 1;
      for (std::size_t i = 0; i < idx_t.shape().size(); ++i) (i < axis ? outer : inner) *= idx_t.shape()[i];
      std::vector<double> indices(idx_t.size());
      dispatch_type(idx_t.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* p = static_cast<const T*>(idx_t.data());
        for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = to_double(p[i]);
      });
      Tensor out(values.element_type(), out_shape);
      const std::size_t esz = element_size(values.element_type());
      const auto* off_on = static_cast<const unsigned char*>(values.data());
      auto* y = static_cast<unsigned char*>(out.data());
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t d = 0; d < depth; ++d)
          for (std::int64_t i = 0; i < inner; ++i) {
            auto at = std::int64_t(indices[std::size_t(o * inner + i)]);
            if (at < 0) at += depth;
            std::memcpy(y + std::size_t((o * depth + d) * inner + i) * esz, off_on + (at == d ? esz : 0), esz);
          }
      return std::vector{out};
    }});

// ---------------------------------------------------------------- TopK

AUTOSCHED_REGISTER_OP(OpDefinition{
    "TopK",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>& c) {
      const auto& x = required_info(node, in, 0);
      PartialShape shape = x.shape;
      if (shape.rank_known()) {
        const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), std::int64_t(shape.rank())));
        const Tensor* k = constant_of(c, 1);
        shape.dims()[axis] = k ? Dimension(read_ints(node, *k).at(0)) : Dimension::dynamic();
      }
      return std::vector{value_info(x.element_type, shape), value_info(ElementType::i64, shape)};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const std::int64_t k = read_ints(node, required_input(node, in, 1)).at(0);
      const std::size_t rank = x.shape().size();
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", -1), std::int64_t(rank)));
      const bool largest = node.get_int("largest", 1) != 0;
      const std::int64_t dim = x.shape()[axis];
      if (k < 0 || k > dim) fail(node, "k = " + std::to_string(k) + " is out of range for an axis of " + std::to_string(dim));
      Shape out_shape = x.shape();
      out_shape[axis] = k;
      Tensor values(x.element_type(), out_shape), indices(ElementType::i64, out_shape);
      std::int64_t outer = 1, inner = 1;
      for (std::size_t i = 0; i < rank; ++i) {
        if (i < axis) outer *= x.shape()[i];
        if (i > axis) inner *= x.shape()[i];
      }
      dispatch_type(x.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* xp = static_cast<const T*>(x.data());
        T* vp = static_cast<T*>(values.data());
        auto* ip = static_cast<std::int64_t*>(indices.data());
        std::vector<std::int64_t> order(static_cast<std::size_t>(dim));
        for (std::int64_t o = 0; o < outer; ++o)
          for (std::int64_t i = 0; i < inner; ++i) {
            auto at = [&](std::int64_t j) { return to_double(xp[(o * dim + j) * inner + i]); };
            std::iota(order.begin(), order.end(), 0);
            // Ties keep the lower index first (stable sort).
            std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
              return largest ? at(a) > at(b) : at(a) < at(b);
            });
            for (std::int64_t j = 0; j < k; ++j) {
              vp[(o * k + j) * inner + i] = xp[(o * dim + order[std::size_t(j)]) * inner + i];
              ip[(o * k + j) * inner + i] = order[std::size_t(j)];
            }
          }
      });
      return std::vector{values, indices};
    }});

// ---------------------------------------------------------------- NonZero / Compress

AUTOSCHED_REGISTER_OP(OpDefinition{
    "NonZero",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      const Dimension rank = x.shape.rank_known() ? Dimension(std::int64_t(x.shape.rank())) : Dimension::dynamic();
      return std::vector{value_info(ElementType::i64, PartialShape({rank, Dimension::dynamic()}))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      std::vector<std::int64_t> hits;
      dispatch_type(x.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* p = static_cast<const T*>(x.data());
        for (std::size_t i = 0; i < x.size(); ++i)
          if (to_double(p[i]) != 0.0) hits.push_back(std::int64_t(i));
      });
      const Shape& s = x.shape();
      const auto st = strides_of(s);
      const auto rank = std::int64_t(s.size()), n = std::int64_t(hits.size());
      std::vector<std::int64_t> coords(std::size_t(rank * n));
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t d = 0; d < rank; ++d) coords[std::size_t(d * n + j)] = (hits[std::size_t(j)] / st[std::size_t(d)]) % s[std::size_t(d)];
      return std::vector{make_int_tensor(ElementType::i64, {rank, n}, coords, node)};
    }});

AUTOSCHED_REGISTER_OP(OpDefinition{
    "Compress",
    [](const ir::Node& node, const std::vector<ir::ValueInfo>& in, const std::vector<const Tensor*>&) {
      const auto& x = required_info(node, in, 0);
      if (!node.has("axis")) return std::vector{value_info(x.element_type, dynamic_dims(1))};
      if (!x.shape.rank_known()) return std::vector{value_info(x.element_type, x.shape)};
      auto dims = x.shape.dims();
      dims[std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(dims.size())))] = Dimension::dynamic();
      return std::vector{value_info(x.element_type, PartialShape(dims))};
    },
    [](const ir::Node& node, const std::vector<Tensor>& in) {
      const Tensor& x = required_input(node, in, 0);
      const Tensor& cond_t = required_input(node, in, 1);
      std::vector<std::int64_t> keep;
      dispatch_type(cond_t.element_type(), node, [&](auto tag) {
        using T = decltype(tag);
        const T* p = static_cast<const T*>(cond_t.data());
        for (std::size_t i = 0; i < cond_t.size(); ++i)
          if (to_double(p[i]) != 0.0) keep.push_back(std::int64_t(i));
      });
      // Without an axis the input is flattened first.
      const Shape shape = node.has("axis") ? x.shape() : Shape{std::int64_t(x.size())};
      const auto axis = std::size_t(normalize_axis(node, node.get_int("axis", 0), std::int64_t(shape.size())));
      if (!keep.empty() && keep.back() >= shape[axis]) fail(node, "condition selects beyond the axis length");
      std::int64_t outer = 1, inner = 1;
      for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i < axis) outer *= shape[i];
        if (i > axis) inner *= shape[i];
      }
      Shape out_shape = shape;
      out_shape[axis] = std::int64_t(keep.size());
      Tensor out(x.element_type(), out_shape);
      const std::size_t block = std::size_t(inner) * element_size(x.element_type());
      const auto* src = static_cast<const unsigned char*>(x.data());
      auto* dst = static_cast<unsigned char*>(out.data());
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::size_t j = 0; j < keep.size(); ++j)
          std::memcpy(dst + (std::size_t(o) * keep.size() + j) * block, src + std::size_t(o * shape[axis] + keep[j]) * block, block);
      return std::vector{out};
    }});

}  // namespace
}  // namespace autosched::reference
