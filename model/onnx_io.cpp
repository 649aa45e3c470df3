// ONNX <-> ir::Graph. The only translation unit that sees the ONNX protobuf
// types. Reading order matters for error quality: our own checks (file,
// protobuf, opsets/domains, tensor sizes, graph structure and shapes in
// Graph::finalize) run first and give precise messages; onnx::checker runs
// last and catches whatever schema-level malformation is left.
#include "model/onnx_io.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "autosched/error.hpp"

namespace autosched::onnx_io {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxTensorBytes = std::uint64_t(1) << 34;  // 16 GiB per tensor
constexpr std::int64_t kMinOpset = 11;
constexpr std::int64_t kMaxOpset = 17;

// Where the bytes came from: names the file in errors and anchors external data.
struct Source {
  std::string label;     // the path, or "<memory>"
  std::string base_dir;  // directory external data is relative to ("" = none allowed)
};

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

std::string onnx_type_name(int data_type) {
  if (onnx::TensorProto_DataType_IsValid(data_type))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(data_type));
  return "data type " + std::to_string(data_type);
}

// `what` names the tensor or value for the error message.
ElementType from_onnx_type(int data_type, const std::string& what) {
  switch (data_type) {
    case onnx::TensorProto::FLOAT: return ElementType::f32;
    case onnx::TensorProto::FLOAT16: return ElementType::f16;
    case onnx::TensorProto::BFLOAT16: return ElementType::bf16;
    case onnx::TensorProto::DOUBLE: return ElementType::f64;
    case onnx::TensorProto::INT64: return ElementType::i64;
    case onnx::TensorProto::INT32: return ElementType::i32;
    case onnx::TensorProto::INT8: return ElementType::i8;
    case onnx::TensorProto::UINT8: return ElementType::u8;
    case onnx::TensorProto::BOOL: return ElementType::boolean;
    default: break;
  }
  throw Error(ErrorCode::unsupported, what + " has element type " + onnx_type_name(data_type) +
                                          ", which is not supported (supported: FLOAT, FLOAT16, BFLOAT16, "
                                          "DOUBLE, INT64, INT32, INT8, UINT8, BOOL)");
}

int to_onnx_type(ElementType t) {
  switch (t) {
    case ElementType::f32: return onnx::TensorProto::FLOAT;
    case ElementType::f16: return onnx::TensorProto::FLOAT16;
    case ElementType::bf16: return onnx::TensorProto::BFLOAT16;
    case ElementType::f64: return onnx::TensorProto::DOUBLE;
    case ElementType::i64: return onnx::TensorProto::INT64;
    case ElementType::i32: return onnx::TensorProto::INT32;
    case ElementType::i8: return onnx::TensorProto::INT8;
    case ElementType::u8: return onnx::TensorProto::UINT8;
    case ElementType::boolean: return onnx::TensorProto::BOOL;
    case ElementType::undefined: break;
  }
  return onnx::TensorProto::UNDEFINED;
}

// ------------------------------------------------------------------ tensors in

// Resolves an external-data location inside `base_dir`; rejects absolute
// paths and paths that escape the directory (e.g. "../../etc/passwd").
fs::path resolve_external(const Source& src, const std::string& tensor, const std::string& location) {
  if (src.base_dir.empty())
    throw Error(ErrorCode::io, src.label + ": tensor '" + tensor + "' stores its data in external file '" +
                                   location + "', but no base directory is known (read the model from a file)");
  const fs::path rel(location);
  if (location.empty() || rel.is_absolute() || rel.has_root_name())
    throw Error(ErrorCode::io, src.label + ": tensor '" + tensor + "' has external data location '" + location +
                                   "'; it must be a relative path inside the model's directory");
  std::error_code base_ec, full_ec;
  const fs::path base = fs::weakly_canonical(fs::path(src.base_dir), base_ec);
  const fs::path full = fs::weakly_canonical(fs::path(src.base_dir) / rel, full_ec);
  const auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (base_ec || full_ec || base.empty() || b != base.end() || f == full.end())
    throw Error(ErrorCode::io, src.label + ": tensor '" + tensor + "' has external data location '" + location +
                                   "', which escapes the model directory '" + src.base_dir + "'");
  return full;
}

std::uint64_t parse_u64(const Source& src, const std::string& tensor, const std::string& key,
                        const std::string& text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || text[0] == '-')
    throw Error(ErrorCode::io, src.label + ": tensor '" + tensor + "' has external data " + key + " '" + text +
                                   "', expected a non-negative integer");
  return v;
}

Tensor read_external(const onnx::TensorProto& tp, const Source& src, ElementType type, const Shape& shape,
                     std::uint64_t bytes) {
  std::string location;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  for (const auto& kv : tp.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = parse_u64(src, tp.name(), "offset", kv.value());
    else if (kv.key() == "length") length = parse_u64(src, tp.name(), "length", kv.value());
  }
  const fs::path file = resolve_external(src, tp.name(), location);
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(file, ec);
  if (ec)
    throw Error(ErrorCode::io, src.label + ": external data file '" + file.string() + "' of tensor '" +
                                   tp.name() + "' cannot be read: " + ec.message());
  if (length && *length != bytes)
    throw Error(ErrorCode::io, src.label + ": tensor '" + tp.name() + "' declares " + std::to_string(bytes) +
                                   " bytes but its external data length is " + std::to_string(*length));
  if (offset > file_size || file_size - offset < bytes)
    throw Error(ErrorCode::io, src.label + ": tensor '" + tp.name() + "' needs " + std::to_string(bytes) +
                                   " bytes at offset " + std::to_string(offset) + " of '" + file.string() +
                                   "', which holds only " + std::to_string(file_size) + " bytes");
  Tensor out(type, shape);
  std::ifstream in(file, std::ios::binary);
  in.seekg(std::streamoff(offset));
  if (bytes && !in.read(static_cast<char*>(out.data()), std::streamsize(bytes)))
    throw Error(ErrorCode::io, src.label + ": reading external data of tensor '" + tp.name() + "' from '" +
                                   file.string() + "' failed");
  return out;
}

template <class Field>
void check_count(const Source& src, const onnx::TensorProto& tp, const Field& field, const char* field_name,
                 std::uint64_t count) {
  if (std::uint64_t(field.size()) != count)
    throw Error(ErrorCode::io, src.label + ": tensor '" + tp.name() + "' declares " + std::to_string(count) +
                                   " elements but its " + field_name + " holds " + std::to_string(field.size()));
}

template <class T, class Field, class Convert> void fill(Tensor& t, const Field& field, Convert convert) {
  T* out = t.data<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = convert(field.Get(i));
}

// Decodes a TensorProto, validating its declared size against the data it
// actually carries before anything is allocated.
Tensor decode_tensor(const onnx::TensorProto& tp, const Source& src) {
  const std::string what = src.label + ": tensor '" + tp.name() + "'";
  const ElementType type = from_onnx_type(tp.data_type(), what);
  if (tp.has_segment())
    throw Error(ErrorCode::unsupported, what + " is segmented, which is not supported");
  Shape shape;
  std::uint64_t count = 1;
  bool zero = false, over = false;
  for (auto d : tp.dims()) {
    if (d < 0) throw Error(ErrorCode::io, what + " has negative dimension " + std::to_string(d));
    shape.push_back(d);
    if (d == 0) zero = true;
    else if (count > kMaxTensorBytes / std::uint64_t(d)) over = true;
    else count *= std::uint64_t(d);
  }
  if (zero) count = 0, over = false;
  const std::uint64_t esize = element_size(type);
  if (over || count * esize > kMaxTensorBytes)
    throw Error(ErrorCode::resource_exhausted, what + " declares shape " + to_string(shape) +
                                                   ", more than the per-tensor limit of 16 GiB");
  const std::uint64_t bytes = count * esize;
  // Only now, with the size checked against the data actually present, is memory allocated.
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) return read_external(tp, src, type, shape, bytes);
  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != bytes)
      throw Error(ErrorCode::io, what + " declares shape " + to_string(shape) + " (" + std::to_string(bytes) +
                                     " bytes) but holds " + std::to_string(tp.raw_data().size()) +
                                     " bytes of raw data");
    Tensor t(type, shape);
    if (bytes) std::memcpy(t.data(), tp.raw_data().data(), bytes);
    return t;
  }
  switch (type) {
    case ElementType::f32: check_count(src, tp, tp.float_data(), "float_data", count); break;
    case ElementType::f64: check_count(src, tp, tp.double_data(), "double_data", count); break;
    case ElementType::i64: check_count(src, tp, tp.int64_data(), "int64_data", count); break;
    default: check_count(src, tp, tp.int32_data(), "int32_data", count); break;
  }
  Tensor t(type, shape);
  const auto& i32 = tp.int32_data();
  switch (type) {
    case ElementType::f32: fill<float>(t, tp.float_data(), [](float v) { return v; }); break;
    case ElementType::f64: fill<double>(t, tp.double_data(), [](double v) { return v; }); break;
    case ElementType::i64: fill<std::int64_t>(t, tp.int64_data(), [](std::int64_t v) { return v; }); break;
    case ElementType::i32: fill<std::int32_t>(t, i32, [](std::int32_t v) { return v; }); break;
    case ElementType::i8: fill<std::int8_t>(t, i32, [](std::int32_t v) { return std::int8_t(v); }); break;
    case ElementType::u8: fill<std::uint8_t>(t, i32, [](std::int32_t v) { return std::uint8_t(v); }); break;
    case ElementType::boolean: fill<bool>(t, i32, [](std::int32_t v) { return v != 0; }); break;
    // 16-bit floats travel as their bit patterns in the low half of int32_data.
    case ElementType::f16:
      fill<float16>(t, i32, [](std::int32_t v) { float16 h; h.bits = std::uint16_t(v); return h; });
      break;
    case ElementType::bf16:
      fill<bfloat16>(t, i32, [](std::int32_t v) { bfloat16 h; h.bits = std::uint16_t(v); return h; });
      break;
    case ElementType::undefined: break;
  }
  return t;
}

// ------------------------------------------------------------------ graph in

ir::AttributeValue decode_attribute(const onnx::AttributeProto& a, const onnx::NodeProto& node,
                                    const std::string& node_name, const Source& src) {
  using A = onnx::AttributeProto;
  auto type = a.type();
  if (type == A::UNDEFINED) {  // very old files leave the type out: use the field that is set
    if (a.has_f()) type = A::FLOAT;
    else if (a.has_i()) type = A::INT;
    else if (a.has_s()) type = A::STRING;
    else if (a.has_t()) type = A::TENSOR;
    else if (a.ints_size()) type = A::INTS;
    else if (a.floats_size()) type = A::FLOATS;
    else if (a.strings_size()) type = A::STRINGS;
  }
  switch (type) {
    case A::INT: return std::int64_t(a.i());
    case A::FLOAT: return double(a.f());
    case A::STRING: return a.s();
    case A::TENSOR: return decode_tensor(a.t(), src);
    case A::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default: break;
  }
  throw Error(ErrorCode::unsupported,
              src.label + ": attribute '" + a.name() + "' of " + node.op_type() + " node '" + node_name +
                  "' has type " + A::AttributeType_Name(type) +
                  "; supported attribute types: INT, FLOAT, STRING, INTS, FLOATS, STRINGS, TENSOR");
}

PortInfo decode_port(const onnx::ValueInfoProto& vi, const char* kind, const Source& src) {
  const std::string what = src.label + ": graph " + kind + " '" + vi.name() + "'";
  if (vi.has_type() && !vi.type().has_tensor_type())
    throw Error(ErrorCode::unsupported, what + " is not a tensor (sequence, map and optional types are not supported)");
  PortInfo port;
  port.name = vi.name();
  port.element_type = ElementType::undefined;
  port.shape = PartialShape::dynamic_rank();
  if (!vi.has_type()) return port;
  const auto& tt = vi.type().tensor_type();
  if (tt.elem_type() != onnx::TensorProto::UNDEFINED) port.element_type = from_onnx_type(tt.elem_type(), what);
  if (!tt.has_shape()) return port;
  std::vector<Dimension> dims;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0) dims.emplace_back(d.dim_value());
    else if (d.has_dim_param()) dims.push_back(Dimension::dynamic(d.dim_param()));
    else dims.push_back(Dimension::dynamic());
  }
  port.shape = PartialShape(dims);
  return port;
}

// Unique, non-empty node names (first holder of a name keeps it), so IR nodes
// can be matched back to proto nodes after Graph::finalize reorders them.
std::vector<std::string> unique_node_names(const onnx::GraphProto& gp) {
  std::unordered_set<std::string> taken;
  std::vector<std::string> names(gp.node_size());
  std::vector<bool> keeps(names.size());
  for (int i = 0; i < gp.node_size(); ++i) keeps[i] = !gp.node(i).name().empty() && taken.insert(gp.node(i).name()).second;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& n = gp.node(i);
    if (keeps[i]) {
      names[i] = n.name();
      continue;
    }
    const std::string base = n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    std::string candidate = base;
    for (int k = 1; taken.count(candidate); ++k) candidate = base + "_" + std::to_string(k);
    taken.insert(candidate);
    names[i] = candidate;
  }
  return names;
}

std::int64_t check_opsets(const onnx::ModelProto& model, const Source& src) {
  std::int64_t opset = -1;
  for (const auto& imp : model.opset_import()) {
    if (!is_default_domain(imp.domain())) continue;  // other domains only matter when a node uses them
    if (imp.version() < kMinOpset || imp.version() > kMaxOpset)
      throw Error(ErrorCode::unsupported, src.label + ": ONNX opset " + std::to_string(imp.version()) +
                                              " (default domain) is not supported; supported opsets are " +
                                              std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
    opset = imp.version();
  }
  if (opset < 0)
    throw Error(ErrorCode::unsupported, src.label + ": the model imports no opset of the default ONNX domain "
                                            "(supported: opsets 11 to 17 of domain '' / 'ai.onnx')");
  return opset;
}

// Before opset 13, Softmax / LogSoftmax / Hardmax coerced the input to 2-D
// ([prod(dims < axis), prod(dims >= axis)], axis default 1) and normalised each
// row. The IR (like every device) uses the opset-13 meaning (one axis), so
// such a node becomes Flatten(axis) → op(axis = 1 of the 2-D view) → Reshape
// back to the input's shape: the same result on every device, and still a
// valid model when written back at the old opset.
bool is_coercing_softmax(const std::string& op_type) {
  return op_type == "Softmax" || op_type == "LogSoftmax" || op_type == "Hardmax";
}

void append_coerced_softmax(ir::Graph& g, ir::Node node) {
  if (node.inputs.empty() || node.outputs.empty()) {  // malformed; finalize reports it
    g.nodes.push_back(std::move(node));
    return;
  }
  const std::int64_t axis = node.get_int("axis", 1);
  const std::string x = node.inputs[0], y = node.outputs[0], base = node.name + "/coerce_2d";
  ir::Node flatten;
  flatten.name = base + "/flatten";
  flatten.op_type = "Flatten";
  flatten.inputs = {x};
  flatten.outputs = {base + "/rows"};
  flatten.attributes["axis"] = axis;
  ir::Node shape;
  shape.name = base + "/shape";
  shape.op_type = "Shape";
  shape.inputs = {x};
  shape.outputs = {base + "/input_shape"};
  ir::Node reshape;
  reshape.name = base + "/reshape";
  reshape.op_type = "Reshape";
  reshape.inputs = {base + "/normalised", base + "/input_shape"};
  reshape.outputs = {y};
  node.inputs[0] = base + "/rows";
  node.outputs = {base + "/normalised"};
  node.attributes["axis"] = std::int64_t(1);
  g.nodes.push_back(std::move(flatten));
  g.nodes.push_back(std::move(node));
  g.nodes.push_back(std::move(shape));
  g.nodes.push_back(std::move(reshape));
}

std::shared_ptr<ir::Graph> convert_graph(const onnx::ModelProto& model, std::int64_t opset,
                                         const std::vector<std::string>& node_names, const Source& src) {
  const auto& gp = model.graph();
  auto g = std::make_shared<ir::Graph>();
  g->name = gp.name().empty() ? "model" : gp.name();
  g->opset = opset;
  if (gp.sparse_initializer_size())
    throw Error(ErrorCode::unsupported, src.label + ": sparse initializers are not supported");
  for (const auto& tp : gp.initializer()) {
    if (tp.name().empty()) throw Error(ErrorCode::io, src.label + ": an initializer has no name");
    if (g->initializers.count(tp.name()))
      throw Error(ErrorCode::invalid_argument, src.label + ": initializer '" + tp.name() + "' is defined twice");
    g->initializers.emplace(tp.name(), decode_tensor(tp, src));
  }
  for (const auto& vi : gp.input())
    if (!g->initializers.count(vi.name())) g->inputs.push_back(decode_port(vi, "input", src));
  for (const auto& vi : gp.output()) g->outputs.push_back(decode_port(vi, "output", src));
  g->nodes.reserve(gp.node_size());
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    if (!is_default_domain(np.domain()))
      throw Error(ErrorCode::unsupported, src.label + ": op '" + np.op_type() + "' (node '" + node_names[i] +
                                              "') is from domain '" + np.domain() +
                                              "', which is not supported; only the default ONNX domain "
                                              "('' / 'ai.onnx', opsets 11 to 17) is");
    ir::Node n;
    n.name = node_names[i];
    n.op_type = np.op_type();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) n.attributes[a.name()] = decode_attribute(a, np, n.name, src);
    if (opset < 13 && is_coercing_softmax(n.op_type)) {
      append_coerced_softmax(*g, std::move(n));
      continue;
    }
    g->nodes.push_back(std::move(n));
  }
  return g;
}

// Puts the proto's nodes in the finalized graph's order (Constants first) so
// the checker does not reject a valid but unsorted graph.
void sort_proto_nodes(onnx::GraphProto& gp, const ir::Graph& g, const std::vector<std::string>& names) {
  std::unordered_map<std::string, std::size_t> rank;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) rank[g.nodes[i].name] = i + 1;
  std::vector<std::pair<std::size_t, int>> keyed;
  for (int i = 0; i < gp.node_size(); ++i) {
    auto it = rank.find(names[i]);
    keyed.emplace_back(it == rank.end() ? 0 : it->second, i);
  }
  if (std::is_sorted(keyed.begin(), keyed.end())) return;
  std::stable_sort(keyed.begin(), keyed.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<onnx::NodeProto*> owned(gp.node_size());
  gp.mutable_node()->ExtractSubrange(0, gp.node_size(), owned.data());
  for (const auto& [key, i] : keyed) gp.mutable_node()->AddAllocated(owned[i]);
}

// onnx::checker over the whole model, with our own context so external data
// resolves against the model directory and newer IR versions are tolerated.
void run_checker(onnx::ModelProto& model, const Source& src) {
  for (auto& imp : *model.mutable_opset_import())
    if (imp.domain() == "ai.onnx") imp.set_domain("");
  for (auto& node : *model.mutable_graph()->mutable_node())
    if (node.domain() == "ai.onnx") node.set_domain("");
  onnx::checker::CheckerContext ctx;
  ctx.set_ir_version(int(std::min<std::int64_t>(model.ir_version(), onnx::IR_VERSION)));
  std::unordered_map<std::string, int> imports;
  for (const auto& imp : model.opset_import()) imports[imp.domain()] = int(imp.version());
  ctx.set_opset_imports(imports);
  ctx.set_model_dir(src.base_dir);
  onnx::checker::LexicalScopeContext lex;
  try {
    onnx::checker::check_graph(model.graph(), ctx, lex);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::io, src.label + ": the ONNX checker rejected the model: " + e.what());
  }
}

std::shared_ptr<ir::Graph> read_parsed(onnx::ModelProto& model, const Source& src) {
  if (model.ir_version() <= 0 || !model.has_graph())
    throw Error(ErrorCode::io, src.label + " is not an ONNX model (no IR version or no graph)");
  const std::int64_t opset = check_opsets(model, src);
  const auto names = unique_node_names(model.graph());
  auto graph = convert_graph(model, opset, names, src);
  try {
    graph->finalize();
  } catch (const Error& e) {  // same code, with the file named in front
    const std::string prefix = std::string(to_string(e.code())) + ": ";
    std::string message = e.what();
    if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
    throw Error(e.code(), src.label + ": " + message);
  }
  sort_proto_nodes(*model.mutable_graph(), *graph, names);
  run_checker(model, src);
  return graph;
}

void parse_or_throw(google::protobuf::MessageLite& msg, const void* data, std::size_t size, const Source& src,
                    const char* kind) {
  if (size > std::size_t(INT_MAX))
    throw Error(ErrorCode::io, src.label + " is larger than 2 GiB; protobuf cannot parse it (store the weights "
                                           "as external data)");
  if (!msg.ParseFromArray(data, int(size)))
    throw Error(ErrorCode::io, src.label + " is not a valid " + kind +
                                   " (protobuf parsing failed: the file is truncated, corrupt or not ONNX)");
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::not_found, "ONNX file '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::io, "'" + path + "' is a directory, not an ONNX file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, "cannot open '" + path + "' for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::io, "reading '" + path + "' failed");
  return bytes;
}

std::string parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// ------------------------------------------------------------------ graph out

void encode_tensor(const Tensor& t, onnx::TensorProto& tp) {
  tp.set_data_type(to_onnx_type(t.element_type()));
  for (auto d : t.shape()) tp.add_dims(d);
  tp.set_raw_data(static_cast<const char*>(t.data()), t.byte_size());
}

void encode_port(const PortInfo& port, onnx::ValueInfoProto& vi) {
  vi.set_name(port.name);
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(to_onnx_type(port.element_type));
  if (!port.shape.rank_known()) return;
  auto* shape = tt->mutable_shape();
  for (const auto& d : port.shape.dims()) {
    auto* dim = shape->add_dim();
    if (d.is_static()) dim->set_dim_value(d.length);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void encode_attribute(const std::string& name, const ir::AttributeValue& value, onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  a.set_name(name);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::int64_t>) a.set_type(A::INT), a.set_i(v);
        else if constexpr (std::is_same_v<T, double>) a.set_type(A::FLOAT), a.set_f(float(v));
        else if constexpr (std::is_same_v<T, std::string>) a.set_type(A::STRING), a.set_s(v);
        else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
          a.set_type(A::INTS);
          for (auto x : v) a.add_ints(x);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          a.set_type(A::FLOATS);
          for (auto x : v) a.add_floats(float(x));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          a.set_type(A::STRINGS);
          for (const auto& x : v) a.add_strings(x);
        } else {
          a.set_type(A::TENSOR);
          encode_tensor(v, *a.mutable_t());
        }
      },
      value);
}

}  // namespace

std::shared_ptr<ir::Graph> read_model(const std::string& path) {
  Source src{"'" + path + "'", parent_dir(path)};
  onnx::ModelProto model;
  {
    const std::string bytes = read_file(path);
    parse_or_throw(model, bytes.data(), bytes.size(), src, "ONNX model");
  }
  return read_parsed(model, src);
}

std::shared_ptr<ir::Graph> read_model_from_memory(const void* data, std::size_t size, const std::string& base_dir) {
  Source src{"<memory model>", base_dir};
  onnx::ModelProto model;
  parse_or_throw(model, data, size, src, "ONNX model");
  return read_parsed(model, src);
}

Tensor read_tensor(const std::string& path) {
  Source src{"'" + path + "'", parent_dir(path)};
  onnx::TensorProto tp;
  const std::string bytes = read_file(path);
  parse_or_throw(tp, bytes.data(), bytes.size(), src, "ONNX TensorProto");
  return decode_tensor(tp, src);
}

void write_model(const ir::Graph& graph, const std::string& path) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("autosched");
  auto* imp = model.add_opset_import();
  imp->set_domain("");
  imp->set_version(graph.opset);
  auto* gp = model.mutable_graph();
  gp->set_name(graph.name);
  for (const auto& [name, t] : graph.initializers) {
    auto* tp = gp->add_initializer();
    tp->set_name(name);
    encode_tensor(t, *tp);
  }
  for (const auto& in : graph.inputs) encode_port(in, *gp->add_input());
  for (const auto& out : graph.outputs) encode_port(out, *gp->add_output());
  for (const auto& n : graph.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [name, value] : n.attributes) encode_attribute(name, value, *np->add_attribute());
  }
  const std::size_t size = model.ByteSizeLong();
  if (size > std::size_t(INT_MAX))
    throw Error(ErrorCode::io, "model '" + graph.name + "' needs " + std::to_string(size) + " bytes; '" + path +
                                   "' cannot hold more than 2 GiB as one protobuf file");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::io, "cannot open '" + path + "' for writing");
  if (!model.SerializeToOstream(&out) || !out.flush())
    throw Error(ErrorCode::io, "writing the ONNX model to '" + path + "' failed");
}

}  // namespace autosched::onnx_io
