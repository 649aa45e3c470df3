// autosched::Preprocessor: turns recorded per-input preprocessing into graph
// ops (Cast, Transpose, Resize, Sub, Div) in front of the model's nodes.
#include "autosched/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"

namespace autosched {

// ---------------------------------------------------------------- InputPreprocess

InputPreprocess& InputPreprocess::tensor(ElementType type, std::string layout, SpatialSize spatial) {
  settings_.type_set = true;
  settings_.type = type;
  settings_.layout = std::move(layout);
  settings_.spatial = spatial;
  return *this;
}

InputPreprocess& InputPreprocess::model_layout(std::string layout) {
  settings_.model_layout = std::move(layout);
  return *this;
}

InputPreprocess& InputPreprocess::mean(std::vector<float> values) {
  settings_.mean = std::move(values);
  return *this;
}

InputPreprocess& InputPreprocess::scale(std::vector<float> values) {
  settings_.scale = std::move(values);
  return *this;
}

InputPreprocess& InputPreprocess::resize(ResizeAlgorithm algorithm) {
  settings_.resize = true;
  settings_.algorithm = algorithm;
  return *this;
}

// ---------------------------------------------------------------- Preprocessor

namespace {

std::string port_names(const std::vector<PortInfo>& ports) {
  std::string names;
  for (const auto& p : ports) names += (names.empty() ? "'" : ", '") + p.name + "'";
  return names.empty() ? "none" : names;
}

std::string message_of(const Error& e) {
  const std::string what = e.what();
  const std::string prefix = std::string(to_string(e.code())) + ": ";
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

// ONNX TensorProto data type code of an element type (for Cast's 'to').
std::int64_t onnx_type_code(ElementType t) {
  switch (t) {
    case ElementType::f32: return 1;
    case ElementType::u8: return 2;
    case ElementType::i8: return 3;
    case ElementType::i32: return 6;
    case ElementType::i64: return 7;
    case ElementType::boolean: return 9;
    case ElementType::f16: return 10;
    case ElementType::f64: return 11;
    case ElementType::bf16: return 16;
    default: return 0;
  }
}

// Builds the step chain of one input into a graph.
class InputChain {
 public:
  InputChain(ir::Graph& graph, PortInfo& port, const InputPreprocess::Settings& s)
      : graph_(graph), port_(port), s_(s) {}

  void apply() {
    const PartialShape& mshape = port_.shape;
    if (!mshape.rank_known()) fail("the model input's rank is unknown; reshape the model first");
    const std::size_t rank = mshape.rank();
    std::string model_layout = s_.model_layout;
    if (model_layout.empty() && rank == 4) model_layout = "NCHW";
    check_layout("model_layout", model_layout, rank);
    std::string layout = s_.layout.empty() ? model_layout : s_.layout;
    if (!s_.layout.empty()) {
      if (model_layout.empty())
        fail("tensor layout '" + s_.layout + "' needs the model's layout too: call model_layout(...) (the input has rank " +
             std::to_string(rank) + ")");
      check_layout("tensor layout", layout, rank);
      if (std::set<char>(layout.begin(), layout.end()) != std::set<char>(model_layout.begin(), model_layout.end()))
        fail("tensor layout '" + layout + "' must hold the same letters as the model layout '" + model_layout + "'");
    }
    const bool spatial_given = s_.spatial.height >= 0 || s_.spatial.width >= 0;
    const bool needs_hw = s_.resize || spatial_given;
    if (needs_hw && (model_layout.find('H') == std::string::npos || model_layout.find('W') == std::string::npos))
      fail("resize and a spatial size need a layout with H and W; the model layout is '" + model_layout + "'");
    const bool needs_c = !s_.mean.empty() || !s_.scale.empty();
    if (needs_c && model_layout.find('C') == std::string::npos)
      fail("mean/scale need a layout with C; the model layout is '" + model_layout +
           "' (call model_layout(...), e.g. \"NCHW\")");

    // The application's tensor shape: the model's dims in `layout` order,
    // with H/W from the spatial size (or unfixed when resizing).
    std::vector<Dimension> app(rank);
    for (std::size_t i = 0; i < rank; ++i) {
      const char letter = layout.empty() ? '?' : layout[i];
      const std::size_t m = layout.empty() ? i : model_layout.find(letter);
      app[i] = mshape[m];
      if (letter == 'H' || letter == 'W') {
        const std::int64_t given = letter == 'H' ? s_.spatial.height : s_.spatial.width;
        const Dimension& model_dim = mshape[m];
        if (s_.resize) {
          if (!model_dim.is_static())
            fail(std::string("resize needs the model's ") + letter + " to be static, got " + mshape.to_string() +
                 "; reshape the model first");
          app[i] = given >= 0 ? Dimension(given) : Dimension::dynamic();
        } else if (given >= 0) {
          if (model_dim.is_static() && model_dim.length != given)
            fail(std::string("the tensor's ") + letter + " " + std::to_string(given) + " differs from the model's " +
                 std::to_string(model_dim.length) + "; call resize() to resize it");
          app[i] = Dimension(given);
        }
      }
    }
    std::size_t channels_at = model_layout.find('C');
    std::int64_t channels = -1;
    if (needs_c && mshape[channels_at].is_static()) channels = mshape[channels_at].length;
    check_per_channel("mean", s_.mean, channels);
    check_per_channel("scale", s_.scale, channels);
    for (float v : s_.scale)
      if (v == 0.f || !std::isfinite(v)) fail("scale values must be finite and non-zero, got " + std::to_string(v));

    // The chain: app tensor -> ... -> the value the model's nodes consume.
    const std::string original = port_.name;
    std::string v = original;
    const std::string prefix = original + "/preprocess/";
    std::vector<ir::Node> chain;
    auto add = [&](const std::string& op, std::vector<std::string> inputs,
                   std::map<std::string, ir::AttributeValue> attrs) {
      ir::Node n;
      n.name = fresh(prefix + op);
      n.op_type = op;
      n.inputs = std::move(inputs);
      n.outputs = {n.name};
      n.attributes = std::move(attrs);
      chain.push_back(n);
      v = n.name;
      return v;
    };
    const ElementType app_type = s_.type_set ? s_.type : port_.element_type;
    if (app_type != ElementType::f32) {
      if (onnx_type_code(app_type) == 0) fail(std::string("element type ") + to_string(app_type) + " cannot be converted");
      add("Cast", {v}, {{"to", std::int64_t(1)}});
    }
    if (!layout.empty() && layout != model_layout) {
      std::vector<std::int64_t> perm;
      for (char letter : model_layout) perm.push_back(std::int64_t(layout.find(letter)));
      add("Transpose", {v}, {{"perm", perm}});
    }
    if (s_.resize) add_resize(add, v, model_layout, mshape);
    if (!s_.mean.empty()) add("Sub", {v, per_channel_constant(prefix + "mean", s_.mean, rank, channels_at)}, {});
    if (!s_.scale.empty()) add("Div", {v, per_channel_constant(prefix + "scale", s_.scale, rank, channels_at)}, {});
    if (port_.element_type != ElementType::f32 && !chain.empty()) {
      if (onnx_type_code(port_.element_type) == 0)
        fail(std::string("the model input's element type ") + to_string(port_.element_type) + " is not supported");
      add("Cast", {v}, {{"to", onnx_type_code(port_.element_type)}});
    }
    port_.element_type = app_type;
    port_.shape = PartialShape(app);
    if (chain.empty()) return;
    // The model's nodes now read the chain's result instead of the raw input.
    for (auto& node : graph_.nodes)
      for (auto& in : node.inputs)
        if (in == original) in = v;
    graph_.nodes.insert(graph_.nodes.begin(), chain.begin(), chain.end());
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, "Preprocessor: input '" + port_.name + "': " + what);
  }

  void check_layout(const std::string& what, const std::string& layout, std::size_t rank) const {
    if (layout.empty()) return;
    if (layout.size() != rank)
      fail(what + " '" + layout + "' has " + std::to_string(layout.size()) + " letters, the input has rank " +
           std::to_string(rank) + " (" + port_.shape.to_string() + ")");
    std::set<char> seen;
    for (char c : layout)
      if (!(c >= 'A' && c <= 'Z') || !seen.insert(c).second)
        fail(what + " '" + layout + "' must be distinct upper-case letters, one per dim (e.g. \"NCHW\", \"NHWC\")");
  }

  void check_per_channel(const std::string& what, const std::vector<float>& values, std::int64_t channels) const {
    if (values.empty() || values.size() == 1) return;
    if (channels < 0)
      fail(what + " has " + std::to_string(values.size()) +
           " values but the model's channel dim is dynamic; give one value or reshape the model");
    if (std::int64_t(values.size()) != channels)
      fail(what + " has " + std::to_string(values.size()) + " values, the model input has " +
           std::to_string(channels) + " channels (" + port_.shape.to_string() + "): give " +
           std::to_string(channels) + " values or 1 for all");
  }

  // A value name not used in the graph yet.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; used(name); ++k) name = base + "_" + std::to_string(k);
    taken_.insert(name);
    return name;
  }
  bool used(const std::string& name) const {
    if (taken_.count(name) || graph_.initializers.count(name)) return true;
    for (const auto& p : graph_.inputs)
      if (p.name == name) return true;
    for (const auto& n : graph_.nodes)
      if (n.name == name || std::find(n.outputs.begin(), n.outputs.end(), name) != n.outputs.end()) return true;
    return false;
  }

  // f32 constant broadcasting along the channel dim (a scalar when one value).
  std::string per_channel_constant(const std::string& base, const std::vector<float>& values, std::size_t rank,
                                   std::size_t channels_at) {
    Shape shape;
    if (values.size() > 1) {
      shape.assign(rank, 1);
      shape[channels_at] = std::int64_t(values.size());
    }
    Tensor t(ElementType::f32, shape);
    std::copy(values.begin(), values.end(), t.data<float>());
    const std::string name = fresh(base);
    graph_.initializers[name] = t;
    return name;
  }

  // Resize to the model's H, W (ONNX opset-13 form: X, roi, scales, sizes).
  // Sizes are a constant when every other dim is static, else computed from
  // Shape(x) so a dynamic batch still works.
  template <class Add>
  void add_resize(Add& add, const std::string& x, const std::string& model_layout, const PartialShape& mshape) {
    const std::size_t rank = mshape.rank();
    std::vector<std::int64_t> keep(rank, 0), fixed(rank, 0);
    bool others_static = true;
    for (std::size_t i = 0; i < rank; ++i) {
      const char letter = model_layout[i];
      if (letter == 'H' || letter == 'W') {
        fixed[i] = mshape[i].length;
      } else if (mshape[i].is_static()) {
        fixed[i] = mshape[i].length;
      } else {
        keep[i] = 1;
        others_static = false;
      }
    }
    const std::string prefix = port_.name + "/preprocess/";
    auto ints = [&](const std::string& base, const std::vector<std::int64_t>& values) {
      Tensor t(ElementType::i64, {std::int64_t(values.size())});
      std::copy(values.begin(), values.end(), t.data<std::int64_t>());
      const std::string name = fresh(base);
      graph_.initializers[name] = t;
      return name;
    };
    const std::string input = x;
    std::string sizes;
    if (others_static) {
      sizes = ints(prefix + "sizes", fixed);
    } else {  // sizes = Shape(x) * keep + fixed
      const std::string shape = add("Shape", {input}, {});
      const std::string kept = add("Mul", {shape, ints(prefix + "keep", keep)}, {});
      sizes = add("Add", {kept, ints(prefix + "fixed", fixed)}, {});
    }
    const char* mode = s_.algorithm == ResizeAlgorithm::linear    ? "linear"
                       : s_.algorithm == ResizeAlgorithm::nearest ? "nearest"
                                                                  : "cubic";
    add("Resize", {input, "", "", sizes},
        {{"mode", std::string(mode)}, {"coordinate_transformation_mode", std::string("half_pixel")}});
  }
  ir::Graph& graph_;
  PortInfo& port_;
  const InputPreprocess::Settings& s_;
  std::set<std::string> taken_;
};

}  // namespace

Preprocessor::Preprocessor(Model model) : model_(std::move(model)) {
  if (model_.empty())
    throw Error(ErrorCode::invalid_argument, "Preprocessor needs a model, got an empty one (read one first)");
}

InputPreprocess& Preprocessor::input(const std::string& name) {
  const auto& ports = model_.inputs();
  if (std::none_of(ports.begin(), ports.end(), [&](const PortInfo& p) { return p.name == name; }))
    throw Error(ErrorCode::not_found, "Preprocessor: model '" + model_.name() + "' has no input '" + name +
                                          "'; its inputs are " + port_names(ports));
  return inputs_[name];
}

InputPreprocess& Preprocessor::input() {
  const auto& ports = model_.inputs();
  if (ports.size() != 1)
    throw Error(ErrorCode::invalid_argument, "Preprocessor::input(): model '" + model_.name() + "' has " +
                                                 std::to_string(ports.size()) + " inputs (" + port_names(ports) +
                                                 "); name one: input(\"name\")");
  return inputs_[ports[0].name];
}

Model Preprocessor::build() const {
  auto graph = std::make_shared<ir::Graph>(model_.graph());
  for (const auto& [name, pre] : inputs_) {
    auto it = std::find_if(graph->inputs.begin(), graph->inputs.end(),
                           [&, &name = name](const PortInfo& p) { return p.name == name; });
    InputChain chain(*graph, *it, pre.settings());
    chain.apply();
  }
  for (auto& out : graph->outputs) out.shape = PartialShape::dynamic_rank();  // re-inferred
  try {
    graph->finalize();
  } catch (const Error& e) {
    throw Error(e.code(), "Preprocessor::build for model '" + graph->name + "': " + message_of(e));
  }
  return Model(std::move(graph));
}

}  // namespace autosched
