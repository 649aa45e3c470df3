#include "devices/cpu/program_builder.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include "autosched/error.hpp"
#include "devices/cpu/omp_wait_policy.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::cpu {

using dt = dnnl::memory::data_type;

dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type type) {
  const std::size_t rank = std::max<std::size_t>(shape.size(), 1);
  dnnl::memory::dims dims(rank, 1), strides(rank, 1);
  for (std::size_t i = 0; i < shape.size(); ++i) dims[i] = shape[i];
  for (std::size_t i = rank; i-- > 1;) strides[i - 1] = strides[i] * std::max<std::int64_t>(dims[i], 1);
  return dnnl::memory::desc(dims, type, strides);
}

namespace {

dt to_dnnl(ElementType t) {
  switch (t) {
    case ElementType::f32: return dt::f32;
    case ElementType::bf16: return dt::bf16;
    case ElementType::i32: return dt::s32;
    case ElementType::i8: return dt::s8;
    case ElementType::u8: return dt::u8;
    default: return dt::undef;
  }
}

bool is_random(const std::string& op) { return op.rfind("Random", 0) == 0 || op == "Multinomial" || op == "Bernoulli"; }

}  // namespace

bool ConstantPool::poolable(const Source& source) {
  return source.by_address || source.desc.get_size() <= (std::size_t(1) << 20);
}

bool ConstantPool::same(const Entry& e, const Source& s) {
  if (e.source.by_address != s.by_address || e.source.scale_mask != s.scale_mask || e.source.desc != s.desc ||
      e.source.scales != s.scales)
    return false;
  if (s.by_address) return e.source.data == s.data;
  return std::memcmp(e.content.data(), s.data, e.content.size()) == 0;
}

const ConstantPool::Entry* ConstantPool::lookup(const Source& source, const dnnl::memory::desc& wanted) const {
  if (!poolable(source)) return nullptr;
  for (const auto& e : entries_)
    if (e.memory.get_desc() == wanted && same(e, source)) return &e;
  return nullptr;
}

dnnl::memory ConstantPool::find(const Source& source, const dnnl::memory::desc& wanted) const {
  const Entry* entry = lookup(source, wanted);
  if (!entry) return {};
  ++hits_;
  return entry->memory;
}

bool ConstantPool::holds(const Source& source, const dnnl::memory::desc& wanted) const {
  return lookup(source, wanted) != nullptr;
}

std::optional<dnnl::memory::desc> ConstantPool::layout_of(const Source& source) const {
  if (!poolable(source)) return std::nullopt;
  for (const auto& e : entries_)
    if (same(e, source)) return e.memory.get_desc();
  return std::nullopt;
}

void ConstantPool::add(const Source& source, const dnnl::memory& memory) {
  if (!poolable(source)) return;
  Entry entry{source, {}, memory};
  if (!source.by_address) {
    const auto* bytes = static_cast<const std::byte*>(source.data);
    entry.content.assign(bytes, bytes + source.desc.get_size());
    entry.source.data = nullptr;  // known by content only
  }
  entries_.push_back(std::move(entry));
}

void ConstantPool::truncate(std::size_t size) {
  entries_.erase(entries_.begin() + std::ptrdiff_t(std::min(size, entries_.size())), entries_.end());
}

ProgramBuilder::ProgramBuilder(const ir::Graph& graph, const std::vector<Shape>& input_shapes,
                               const BuildOptions& options, ConstantPool* pool)
    : graph_(graph), options_(options), pool_(pool), program_(std::make_shared<Program>()), build_stream_(cpu_engine()) {
  for (const auto& [name, tensor] : graph_.initializers) {
    Value& v = values_[name];
    v.type = tensor.element_type();
    v.shape = tensor.shape();
    v.constant = tensor;
    if (pool_ && !tensor.empty()) {  // pooled by address
      const auto* begin = static_cast<const std::byte*>(tensor.data());
      initializer_bytes_.emplace_back(begin, begin + tensor.byte_size());
    }
  }
  if (input_shapes.size() != graph_.inputs.size())
    throw Error(ErrorCode::invalid_argument, "CPU: expected " + std::to_string(graph_.inputs.size()) +
                                                 " input shapes, got " + std::to_string(input_shapes.size()));
  for (std::size_t k = 0; k < graph_.inputs.size(); ++k) {
    Value& v = values_[graph_.inputs[k].name];
    v.type = graph_.inputs[k].element_type;
    v.shape = input_shapes[k];
    TensorSlot slot;
    slot.kind = TensorSlot::Kind::input;
    slot.input = int(k);
    slot.type = v.type;
    slot.shape = input_shapes[k];
    v.slot = int(program_->slots.size());
    program_->slots.push_back(std::move(slot));
  }
  for (std::size_t n = 0; n < graph_.nodes.size(); ++n)
    for (const auto& in : graph_.nodes[n].inputs)
      if (!in.empty()) consumers_[in].push_back(int(n));
  for (const auto& out : graph_.outputs) is_output_[out.name] = true;
  fused_.assign(graph_.nodes.size(), false);
}

ProgramBuilder::Value& ProgramBuilder::value(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error(ErrorCode::internal, "CPU: value '" + name + "' is unknown");
  return it->second;
}

bool ProgramBuilder::is_f32_static(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.type == ElementType::f32 && it->second.shape.has_value();
}

const Shape& ProgramBuilder::shape_of(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || !it->second.shape)
    throw Error(ErrorCode::internal, "CPU: value '" + name + "' has no static shape");
  return *it->second.shape;
}

const Tensor* ProgramBuilder::constant_of(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.constant ? &*it->second.constant : nullptr;
}

bool ProgramBuilder::is_defined(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && (it->second.constant || it->second.buffer >= 0 || it->second.slot >= 0);
}

int ProgramBuilder::single_consumer(const std::string& value) const {
  if (is_output_.count(value)) return -1;
  auto it = consumers_.find(value);
  if (it == consumers_.end() || it->second.size() != 1) return -1;
  return it->second.front();
}

bool ProgramBuilder::can_overwrite(const std::string& residual, int n, const std::vector<int>& fused,
                                   const dnnl::memory::desc& desc) const {
  auto it = values_.find(residual);
  if (it == values_.end()) return false;
  const Value& r = it->second;
  if (r.view || r.buffer < 0 || r.desc != desc) return false;
  // Read by a step at or after node n (other than the nodes fused into it), or a model output.
  auto read_later = [&](const std::string& name) {
    if (is_output_.count(name)) return true;
    auto c = consumers_.find(name);
    if (c == consumers_.end()) return false;
    for (int consumer : c->second)
      if (consumer >= n && std::find(fused.begin(), fused.end(), consumer) == fused.end()) return true;
    return false;
  };
  if (read_later(residual)) return false;
  for (const auto& [name, v] : values_)  // views (Reshape & co.) and earlier in-place results share buffers
    if (name != residual && v.buffer == r.buffer && read_later(name)) return false;
  return true;
}

std::string ProgramBuilder::node_label(int n) const {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  return node.op_type + ":" + node.name;
}

bool ProgramBuilder::is_initializer_data(const void* data) const {
  const auto* p = static_cast<const std::byte*>(data);
  for (const auto& [begin, end] : initializer_bytes_)
    if (p >= begin && p < end) return true;
  return false;
}

int ProgramBuilder::add_constant(const dnnl::memory& memory) {
  program_->constants.push_back(memory);
  return int(program_->constants.size() - 1);
}

int ProgramBuilder::constant_memory(const Tensor& tensor, const dnnl::memory::desc& source,
                                    const dnnl::memory::desc& wanted) {
  return constant_memory(tensor.data(), source, wanted);
}

int ProgramBuilder::constant_memory(const void* data, const dnnl::memory::desc& source,
                                    const dnnl::memory::desc& wanted, const std::vector<float>& scales,
                                    int scale_mask) {
  // On one OpenMP thread: ~100 small reorders (weights, biases), each a parallel region, cost
  // more in team wake-ups than they gain, several times more on a loaded machine (resnet50
  // compile: ~150 ms on one thread, 300-1000 ms on two at load 5-7). The primitive is created
  // inside the scope too: oneDNN sizes its work split for the thread count at creation.
  std::optional<ConstantPool::Source> pooled;
  if (pool_) {
    pooled = pool_source(data, source, scales, scale_mask);
    if (auto shared = pool_->find(*pooled, wanted)) return add_constant(shared);
  }
  OmpThreadsScope one_thread(1);
  dnnl::memory src(source, cpu_engine(), const_cast<void*>(data));
  dnnl::memory dst(wanted, cpu_engine());
  if (pooled) pool_->add(*pooled, dst);
  dnnl::primitive_attr attr;
  if (!scales.empty()) attr.set_output_scales(scale_mask, scales);
  if (wanted.data.format_kind == dnnl_format_kind_wino) {
    // oneDNN's reorder into the Winograd weight format ignores output scales: scale in the source
    // layout first. The transform itself is slow (13.5 ms per 3x3 layer of resnet50 on one
    // thread): the transforms run together at the end of the build, one layer per CPU at a time.
    dnnl::memory from = src;  // the tensor's data: it outlives the build
    if (!scales.empty()) {
      from = dnnl::memory(source, cpu_engine());
      dnnl::reorder(dnnl::reorder::primitive_desc(src, from, attr)).execute(build_stream_, src, from);
      build_stream_.wait();
    }
    deferred_transforms_.push_back({from, dst});
    return add_constant(dst);
  }
  dnnl::reorder(dnnl::reorder::primitive_desc(src, dst, attr)).execute(build_stream_, src, dst);
  build_stream_.wait();
  return add_constant(dst);
}

dnnl::primitive_attr ProgramBuilder::attr_with(const dnnl::post_ops* ops) const {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (ops) attr.set_post_ops(*ops);
  return attr;
}

void ProgramBuilder::push_primitive(const std::string& label, const dnnl::primitive& primitive,
                                    std::vector<std::pair<int, BufferRef>> args,
                                    const dnnl::memory::desc& scratchpad) {
  const int index = int(program_->steps.size());
  auto touch = [&](int buffer) {
    ArenaBuffer& b = program_->buffers[std::size_t(buffer)];
    b.first_step = std::min(b.first_step, index);
    b.last_step = std::max(b.last_step, index);
  };
  for (const auto& [arg, ref] : args) {
    if (ref.kind == BufferRef::Kind::arena) touch(ref.index);
    if (ref.kind == BufferRef::Kind::slot && program_->slots[std::size_t(ref.index)].buffer >= 0)
      touch(program_->slots[std::size_t(ref.index)].buffer);
  }
  if (scratchpad.get_size() > 0) {
    args.emplace_back(DNNL_ARG_SCRATCHPAD, BufferRef{BufferRef::Kind::scratchpad, -1, scratchpad});
    program_->scratchpad_bytes = std::max(program_->scratchpad_bytes, scratchpad.get_size());
  }
  program_->steps.push_back(Step{label, PrimitiveStep{primitive, std::move(args)}});
}

void ProgramBuilder::push_reorder(const BufferRef& src, const BufferRef& dst, const std::string& why) {
  dnnl::reorder::primitive_desc pd(cpu_engine(), src.desc, cpu_engine(), dst.desc, attr_with());
  push_primitive("reorder " + why, dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}},
                 pd.scratchpad_desc());
}

BufferRef ProgramBuilder::define_arena(const std::string& name, const dnnl::memory::desc& desc) {
  Value& v = value(name);
  program_->buffers.push_back(ArenaBuffer{desc.get_size(), 0, INT_MAX, -1});
  v.buffer = int(program_->buffers.size() - 1);
  v.desc = desc;
  return BufferRef{BufferRef::Kind::arena, v.buffer, desc};
}

BufferRef ProgramBuilder::current_ref(const std::string& name) {
  Value& v = value(name);
  if (v.buffer >= 0) return BufferRef{BufferRef::Kind::arena, v.buffer, v.desc};
  if (!v.shape) throw Error(ErrorCode::internal, "CPU: value '" + name + "' has no static shape");
  return BufferRef{BufferRef::Kind::slot, slot_of(name), plain_desc(*v.shape, to_dnnl(v.type))};
}

dnnl::memory::desc ProgramBuilder::current_desc(const std::string& name) { return current_ref(name).desc; }

BufferRef ProgramBuilder::ref_as(const std::string& name, const dnnl::memory::desc& wanted) {
  Value& v = value(name);
  if (v.buffer >= 0 && v.desc == wanted) return BufferRef{BufferRef::Kind::arena, v.buffer, wanted};
  for (const auto& [desc, buffer] : v.copies)
    if (desc == wanted) return BufferRef{BufferRef::Kind::arena, buffer, wanted};
  if (v.constant) {
    const int index = constant_memory(*v.constant, plain_desc(v.constant->shape(), to_dnnl(v.type)), wanted);
    return BufferRef{BufferRef::Kind::constant, index, wanted};
  }
  if (v.buffer < 0 && v.slot >= 0 && v.shape && wanted == plain_desc(*v.shape, to_dnnl(v.type)))
    return BufferRef{BufferRef::Kind::slot, v.slot, wanted};
  const BufferRef src = current_ref(name);
  program_->buffers.push_back(ArenaBuffer{wanted.get_size(), 0, INT_MAX, -1});
  const int buffer = int(program_->buffers.size() - 1);
  const BufferRef dst{BufferRef::Kind::arena, buffer, wanted};
  push_reorder(src, dst, name);
  value(name).copies.emplace_back(wanted, buffer);
  return dst;
}

BufferRef ProgramBuilder::plain_ref(const std::string& name) {
  Value& v = value(name);
  return ref_as(name, plain_desc(*v.shape, to_dnnl(v.type)));
}

int ProgramBuilder::slot_of(const std::string& name) {
  Value& v = value(name);
  if (v.slot >= 0) return v.slot;
  TensorSlot slot;
  slot.type = v.type;
  if (v.constant) {
    slot.kind = TensorSlot::Kind::constant;
    slot.constant = *v.constant;
    slot.shape = v.constant->shape();
  } else if (v.buffer >= 0) {
    const BufferRef plain = plain_ref(name);  // the value itself when already plain
    slot.kind = TensorSlot::Kind::arena_view;
    slot.buffer = plain.index;
    slot.shape = *v.shape;
  } else {
    throw Error(ErrorCode::internal, "CPU: value '" + name + "' is used before it is defined");
  }
  Value& again = value(name);  // plain_ref may have grown values_' copies, not the map itself
  again.slot = int(program_->slots.size());
  program_->slots.push_back(std::move(slot));
  return again.slot;
}

void ProgramBuilder::finish_fused(const PostOps& fused, const std::string& produced) {
  for (int n : fused.nodes) fused_[std::size_t(n)] = true;
  if (fused.output != produced) {
    Value& out = values_[fused.output];
    const Value& in = value(produced);
    out.type = in.type;
    out.shape = in.shape;
  }
}

void ProgramBuilder::lower_fallback(int n) {
  const ir::Node& node = graph_.nodes[std::size_t(n)];
  FallbackStep step;
  step.node = node;
  for (const auto& in : node.inputs) step.inputs.push_back(in.empty() ? -1 : slot_of(in));
  for (const auto& out : node.outputs) {
    if (out.empty()) {
      step.outputs.push_back(-1);
      continue;
    }
    Value& v = values_[out];
    TensorSlot slot;
    slot.kind = TensorSlot::Kind::produced;
    slot.type = v.type;
    if (v.shape) slot.shape = *v.shape;
    v.slot = int(program_->slots.size());
    program_->slots.push_back(slot);
    step.outputs.push_back(v.slot);
  }
  const int index = int(program_->steps.size());
  for (int s : step.inputs)
    if (s >= 0 && program_->slots[std::size_t(s)].buffer >= 0) {
      ArenaBuffer& b = program_->buffers[std::size_t(program_->slots[std::size_t(s)].buffer)];
      b.first_step = std::min(b.first_step, index);
      b.last_step = std::max(b.last_step, index);
    }
  program_->steps.push_back(Step{"reference " + node_label(n), std::move(step)});
}

void ProgramBuilder::plan_arena() {
  auto& buffers = program_->buffers;
  const int end = int(program_->steps.size());
  for (int s : program_->output_slots)
    if (program_->slots[std::size_t(s)].buffer >= 0) buffers[std::size_t(program_->slots[std::size_t(s)].buffer)].last_step = end;
  std::vector<int> order;
  for (std::size_t b = 0; b < buffers.size(); ++b)
    if (buffers[b].last_step >= 0) order.push_back(int(b));
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return buffers[std::size_t(a)].bytes > buffers[std::size_t(b)].bytes; });
  auto rounded = [](std::size_t bytes) { return (bytes + 63) / 64 * 64; };
  std::vector<int> placed;
  std::size_t total = 0, naive = 0;
  for (int b : order) {
    ArenaBuffer& buf = buffers[std::size_t(b)];
    std::vector<const ArenaBuffer*> conflicts;
    for (int p : placed) {
      const ArenaBuffer& other = buffers[std::size_t(p)];
      if (other.first_step <= buf.last_step && buf.first_step <= other.last_step) conflicts.push_back(&other);
    }
    std::sort(conflicts.begin(), conflicts.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    std::size_t offset = 0;
    for (const ArenaBuffer* c : conflicts) {
      if (offset + rounded(buf.bytes) <= c->offset) break;
      offset = std::max(offset, c->offset + rounded(c->bytes));
    }
    buf.offset = offset;
    total = std::max(total, offset + rounded(buf.bytes));
    naive += rounded(buf.bytes);
    placed.push_back(b);
  }
  program_->arena_bytes = total;
  program_->naive_bytes = naive;
}

std::shared_ptr<Program> ProgramBuilder::build() {
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (fused_[i]) continue;
    const ir::Node& node = graph_.nodes[i];
    bool all_constant = true;
    for (const auto& in : node.inputs)
      if (!in.empty() && !constant_of(in)) all_constant = false;
    if (all_constant && !is_random(node.op_type)) {  // constant sub-graph: evaluate once now
      std::vector<Tensor> args;
      for (const auto& in : node.inputs) args.push_back(in.empty() ? Tensor() : *constant_of(in));
      auto results = reference::evaluate_node(node, args);
      for (std::size_t k = 0; k < node.outputs.size() && k < results.size(); ++k) {
        if (node.outputs[k].empty()) continue;
        Value& v = values_[node.outputs[k]];
        v.type = results[k].element_type();
        v.shape = results[k].shape();
        v.constant = results[k];
      }
      continue;
    }
    if (node.op_type == "Shape" && values_.count(node.input(0)) && value(node.input(0)).shape) {
      const Shape& s = *value(node.input(0)).shape;
      const auto rank = std::int64_t(s.size());
      auto clamp = [&](std::int64_t a) { return std::clamp(a < 0 ? a + rank : a, std::int64_t{0}, rank); };
      const std::int64_t start = clamp(node.get_int("start", 0)), stop = clamp(node.get_int("end", rank));
      Tensor t(ElementType::i64, {std::max<std::int64_t>(stop - start, 0)});
      for (std::int64_t d = start; d < stop; ++d) t.data<std::int64_t>()[d - start] = s[std::size_t(d)];
      Value& v = values_[node.outputs.at(0)];
      v.type = ElementType::i64;
      v.shape = t.shape();
      v.constant = t;
      continue;
    }
    std::vector<ir::ValueInfo> infos;
    std::vector<const Tensor*> constants;
    for (const auto& in : node.inputs) {
      ir::ValueInfo info;
      if (!in.empty()) {
        const Value& v = value(in);
        info.element_type = v.type;
        info.shape = v.shape ? PartialShape(*v.shape) : graph_.value_info(in).shape;
      }
      infos.push_back(info);
      constants.push_back(in.empty() ? nullptr : constant_of(in));
    }
    const auto outs = reference::infer_node(node, infos, constants, graph_.opset);
    for (std::size_t k = 0; k < node.outputs.size() && k < outs.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      Value& v = values_[node.outputs[k]];
      v.type = outs[k].element_type;
      if (outs[k].shape.is_static()) v.shape = outs[k].shape.to_shape();
    }
    bool lowered = false;
    try {
      lowered = lower_node(int(i));
    } catch (const dnnl::error&) {
      lowered = false;  // oneDNN has no implementation for this configuration
    }
    if (!lowered) lower_fallback(int(i));
  }
  for (const auto& out : graph_.outputs) program_->output_slots.push_back(slot_of(out.name));
  plan_arena();
  run_deferred_transforms();
  return program_;
}

void ProgramBuilder::run_deferred_transforms() {
  // One std::thread per CPU, each with a one-thread OpenMP team, so that no OpenMP pool outlives
  // the build: a team of more than one thread on the compiling thread would stay in libgomp's
  // books, and more threads than CPUs keeps every stream's barriers in the short-spin regime
  // (omp_wait_policy.hpp; seen: resnet50 LATENCY 14,900 voluntary context switches in 4 s, not 117).
  if (deferred_transforms_.empty()) return;
  const std::size_t workers = std::min(deferred_transforms_.size(), std::size_t(std::max(1, omp_get_num_procs())));
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        omp_set_num_threads(1);
        dnnl::stream stream(cpu_engine());
        for (std::size_t k = next++; k < deferred_transforms_.size(); k = next++) {
          auto& [from, to] = deferred_transforms_[k];
          dnnl::reorder(from, to).execute(stream, from, to);
        }
        stream.wait();
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  deferred_transforms_.clear();
  if (failure) std::rethrow_exception(failure);
}

bool ProgramBuilder::lower_node(int n) {
  const std::string& op = graph_.nodes[std::size_t(n)].op_type;
  if (op == "Conv") return lower_conv(n);
  if (op == "Gemm") return lower_gemm(n);
  if (op == "MatMul") return lower_matmul(n);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool")
    return lower_pool(n);
  if (op == "ReduceMean") return lower_layer_norm_pattern(n);
  if (op == "Div" && lower_gelu_pattern(n)) return true;
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min" || op == "Pow")
    return lower_binary(n);
  if (op == "Softmax" || op == "LogSoftmax") return lower_softmax(n);
  if (op == "Concat") return lower_concat(n);
  if (op == "LayerNormalization") return lower_layer_norm(n);
  if (op == "BatchNormalization") return lower_batch_norm(n);
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" ||
      op == "Dropout")
    return lower_view(n);
  if (op == "Transpose") return lower_transpose(n);
  return lower_eltwise(n);
}

bool is_dnnl_candidate(const std::string& op) {
  static const std::set<std::string> ops = {
      "Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Sub",
      "Mul", "Div", "Max", "Min", "Pow", "Softmax", "LogSoftmax", "Concat", "LayerNormalization",
      "BatchNormalization", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose",
      "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Exp", "Log", "Sqrt", "Abs", "Neg", "Clip", "Softplus",
      "HardSwish", "Round", "ReduceMean" /* LayerNorm pattern */, "Erf" /* Gelu pattern */};
  return ops.count(op) != 0;
}

ConvAlgorithm parse_conv_algorithm(const std::string& value) {
  if (value == "auto") return ConvAlgorithm::automatic;
  if (value == "direct") return ConvAlgorithm::direct;
  throw Error(ErrorCode::invalid_argument,
              "cpu_convolution='" + value + "' is not a convolution algorithm; valid: auto, direct");
}

const char* to_string(ConvAlgorithm algorithm) { return algorithm == ConvAlgorithm::direct ? "direct" : "auto"; }

std::shared_ptr<const Program> build_program(const ir::Graph& graph, const std::vector<Shape>& input_shapes,
                                             const BuildOptions& options, ConstantPool* pool) {
  const std::size_t pooled_before = pool ? pool->size() : 0;
  try {
    return ProgramBuilder(graph, input_shapes, options, pool).build();
  } catch (...) {
    if (pool) pool->truncate(pooled_before);  // a failed build may leave weights untransformed
    throw;
  }
}

}  // namespace autosched::cpu
