#pragma once
// A tiny hand-rolled protobuf encoder for ONNX messages, so tests can build
// malformed or unusual ONNX files (huge declared tensors, external data,
// foreign domains) without including the ONNX headers. Field numbers follow
// onnx/onnx.proto (ONNX 1.12).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace autosched::test::onnx_proto {

// One protobuf message under construction.
struct Msg {
  std::string bytes;

  Msg& varint(int field, std::uint64_t v) {
    put_varint(std::uint64_t(field) << 3);  // wire type 0
    put_varint(v);
    return *this;
  }
  Msg& str(int field, const std::string& s) {
    put_varint((std::uint64_t(field) << 3) | 2);  // wire type 2
    put_varint(s.size());
    bytes += s;
    return *this;
  }
  Msg& msg(int field, const Msg& m) { return str(field, m.bytes); }
  Msg& f32(int field, float f) {
    put_varint((std::uint64_t(field) << 3) | 5);  // wire type 5
    char b[4];
    std::memcpy(b, &f, 4);
    bytes.append(b, 4);
    return *this;
  }
  // Packed repeated scalar fields (float_data, int32_data, int64_data).
  Msg& packed_varints(int field, const std::vector<std::int64_t>& v) {
    Msg body;
    for (auto x : v) body.put_varint(std::uint64_t(x));
    return str(field, body.bytes);
  }
  Msg& packed_f32(int field, const std::vector<float>& v) {
    return str(field, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  }

 private:
  void put_varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes.push_back(char(v | 0x80));
      v >>= 7;
    }
    bytes.push_back(char(v));
  }
};

// TensorProto.DataType values.
enum DataType { FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6, INT64 = 7, STRING = 8, BOOL = 9, FLOAT16 = 10,
                DOUBLE = 11, BFLOAT16 = 16 };

inline Msg tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims) {
  Msg t;
  for (auto d : dims) t.varint(1, std::uint64_t(d));
  t.varint(2, std::uint64_t(data_type));
  t.str(8, name);
  return t;
}
inline Msg raw_tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims,
                      const std::string& raw) {
  return tensor(name, data_type, dims).str(9, raw);
}
inline Msg external_tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims,
                           const std::vector<std::pair<std::string, std::string>>& entries) {
  Msg t = tensor(name, data_type, dims);
  for (const auto& [k, v] : entries) t.msg(13, Msg().str(1, k).str(2, v));
  return t.varint(14, 1);  // data_location = EXTERNAL
}
template <class T> std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Dimension: a number, or a symbol (dim_param), or "" for an unknown dim.
struct Dim {
  std::int64_t value = -1;
  std::string param;
  Dim(std::int64_t v) : value(v) {}  // NOLINT
  Dim(const char* p) : param(p) {}   // NOLINT
};

inline Msg value_info(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  Msg shape;
  for (const auto& d : dims) {
    Msg dim;
    if (d.value >= 0) dim.varint(1, std::uint64_t(d.value));
    else if (!d.param.empty()) dim.str(2, d.param);
    shape.msg(1, dim);
  }
  Msg tensor_type;
  tensor_type.varint(1, std::uint64_t(elem_type)).msg(2, shape);
  return Msg().str(1, name).msg(2, Msg().msg(1, tensor_type));
}

inline Msg node(const std::string& op, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, const std::string& name = {},
                const std::string& domain = {}) {
  Msg n;
  for (const auto& i : inputs) n.str(1, i);
  for (const auto& o : outputs) n.str(2, o);
  if (!name.empty()) n.str(3, name);
  n.str(4, op);
  if (!domain.empty()) n.str(7, domain);
  return n;
}
// AttributeProto of type INT (2) / FLOAT (1) / STRING (3).
inline Msg attr_int(const std::string& name, std::int64_t v) {
  return Msg().str(1, name).varint(3, std::uint64_t(v)).varint(20, 2);
}
inline Msg attr_float(const std::string& name, float v) { return Msg().str(1, name).f32(2, v).varint(20, 1); }
inline Msg& add_attr(Msg& node, const Msg& attr) { return node.msg(5, attr); }

struct GraphParts {
  std::vector<Msg> nodes, initializers, inputs, outputs;
  std::string name = "test_graph";
};

inline Msg graph(const GraphParts& p) {
  Msg g;
  for (const auto& n : p.nodes) g.msg(1, n);
  g.str(2, p.name);
  for (const auto& t : p.initializers) g.msg(5, t);
  for (const auto& i : p.inputs) g.msg(11, i);
  for (const auto& o : p.outputs) g.msg(12, o);
  return g;
}

inline std::string model(const GraphParts& p, std::int64_t opset = 13, const std::string& domain = {},
                         std::int64_t ir_version = 8) {
  Msg m;
  m.varint(1, std::uint64_t(ir_version));
  Msg imp;
  if (!domain.empty()) imp.str(1, domain);
  imp.varint(2, std::uint64_t(opset));
  m.msg(8, imp);
  m.msg(7, graph(p));
  return m.bytes;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace autosched::test::onnx_proto
