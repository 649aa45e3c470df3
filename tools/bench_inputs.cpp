#include "tools/bench_inputs.hpp"

#include <cctype>
#include <map>
#include <random>

#include "autosched/error.hpp"

namespace autosched::tools {

namespace {

[[noreturn]] void bad_shape(const std::string& message) {
  throw Error(ErrorCode::invalid_argument,
              "-shape: " + message + " (valid: [1,3,224,224] for every input, or name[1,3,224,224],name2[...])");
}

Shape parse_dims(const std::string& text) {
  // text is "[d0,d1,...]" with non-negative integers.
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') bad_shape("'" + text + "' is not [d0,d1,...]");
  Shape shape;
  std::string digits;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (c == ',' || c == ']') {
      if (digits.empty()) {
        if (c == ']' && shape.empty() && i == 1) break;  // "[]": a scalar
        bad_shape("'" + text + "' has an empty or negative dimension");
      }
      shape.push_back(std::stoll(digits));
      digits.clear();
    } else if (c != ' ') {
      bad_shape("'" + text + "' has '" + std::string(1, c) + "' where a dimension belongs");
    }
  }
  return shape;
}

// "name[...]" items separated by commas outside brackets; an item without a name applies to every input.
std::map<std::string, Shape> parse_shape_text(const std::string& text) {
  std::map<std::string, Shape> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find('[', pos);
    const auto close = text.find(']', pos);
    if (open == std::string::npos || close == std::string::npos || close < open)
      bad_shape("'" + text + "' is not a list of name[d0,d1,...]");
    out[text.substr(pos, open - pos)] = parse_dims(text.substr(open, close - open + 1));
    pos = close + 1;
    if (pos < text.size()) {
      if (text[pos] != ',') bad_shape("'" + text + "': expected ',' after ']'");
      ++pos;
    }
  }
  return out;
}

std::string input_names(const std::vector<PortInfo>& inputs) {
  std::string s;
  for (const auto& p : inputs) s += (s.empty() ? "" : ", ") + p.name + p.shape.to_string();
  return s;
}

}  // namespace

std::vector<Shape> resolve_input_shapes(const std::vector<PortInfo>& inputs, const std::string& shape_text,
                                        int batch) {
  const auto given = parse_shape_text(shape_text);
  for (const auto& [name, shape] : given) {
    if (name.empty()) continue;
    bool known = false;
    for (const auto& p : inputs) known = known || p.name == name;
    if (!known) bad_shape("the model has no input '" + name + "'; its inputs: " + input_names(inputs));
  }
  std::vector<Shape> shapes;
  for (const auto& port : inputs) {
    Shape shape;
    auto it = given.find(port.name);
    if (it == given.end()) it = given.find("");
    if (it != given.end()) {
      shape = it->second;
    } else if (!port.shape.rank_known()) {
      bad_shape("input '" + port.name + "' has an unknown rank; give its shape");
    } else {
      for (const auto& d : port.shape.dims()) shape.push_back(d.is_static() ? d.length : 1);
    }
    if (batch > 0) {
      if (shape.empty())
        throw Error(ErrorCode::invalid_argument, "-b " + std::to_string(batch) + ": input '" + port.name +
                                                     "' is a scalar; -b sets the first dimension");
      if (port.shape.rank_known() && !port.shape.dims().empty() && port.shape[0].is_static() &&
          port.shape[0].length != batch)
        throw Error(ErrorCode::invalid_argument,
                    "-b " + std::to_string(batch) + ": input '" + port.name + "' has a static batch of " +
                        std::to_string(port.shape[0].length) + " (" + port.shape.to_string() +
                        "); -b needs a dynamic first dimension");
      shape[0] = batch;
    }
    if (port.shape.rank_known() && !port.shape.compatible(shape))
      throw Error(ErrorCode::invalid_argument, "-shape: " + to_string(shape) + " does not fit input '" + port.name +
                                                   "' of shape " + port.shape.to_string() +
                                                   " (same rank, equal static dimensions)");
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

void fill_inputs(InferRequest& request, const std::vector<Shape>& shapes) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (std::size_t k = 0; k < shapes.size(); ++k) {
    auto t = request.get_input_tensor(k);
    if (t.shape() != shapes[k]) t.set_shape(shapes[k]);
    switch (t.element_type()) {
      case ElementType::f32:
        for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = uni(rng);
        break;
      case ElementType::i64:
        for (std::size_t i = 0; i < t.size(); ++i) t.data<std::int64_t>()[i] = std::int64_t(rng() % 2);
        break;
      case ElementType::i32:
        for (std::size_t i = 0; i < t.size(); ++i) t.data<std::int32_t>()[i] = std::int32_t(rng() % 2);
        break;
      default: break;  // zero-filled
    }
  }
}

}  // namespace autosched::tools
