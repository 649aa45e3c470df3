#pragma once
// Builds a Program (program.hpp) from a graph for one set of concrete input
// shapes: specialises shapes, folds constant sub-graphs, lowers supported
// nodes to oneDNN primitives (with BatchNormalization folded into conv
// weights and element-wise / residual-add consumers fused as post-ops),
// lowers the rest to per-node reference fallback, inserts reorders at layout
// boundaries and plans the activation arena.
//
// Must run on a thread whose OpenMP max-threads equals the threads of the
// streams that will execute the program (oneDNN sizes its kernels for it).
// Lowering functions live in lower_*.cpp; each returns false, before adding
// any step, when the node does not fit oneDNN (the node then falls back).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "devices/cpu/program.hpp"

namespace autosched::cpu {

// How f32 3x3 stride-1 convolutions run. auto: Winograd F(2x2,3x3) where oneDNN offers it (fewer
// multiplications; resnet50 THROUGHPUT +12 %, LATENCY +4 % measured here), else direct. direct: always
// direct (bit-for-bit what oneDNN's direct kernels give). bf16 is always direct.
enum class ConvAlgorithm { automatic, direct };
ConvAlgorithm parse_conv_algorithm(const std::string& value);  // Error naming valid values
const char* to_string(ConvAlgorithm algorithm);

struct BuildOptions {
  ElementType precision = ElementType::f32;  // f32 or bf16 (convolutions and matmuls)
  ConvAlgorithm convolution = ConvAlgorithm::automatic;
};

// Weights reordered for one program, reused by later programs of the same graph that want the same
// source in the same layout with the same scales: the batch-size programs of a model share one copy
// of their weights this way. A graph initializer is known by its address (its bytes live as long as
// the graph); anything computed during a build (biases with a folded BatchNormalization, folded
// constants) by its content, up to 1 MiB (a freed tensor's address may come back with other bytes).
// Not thread-safe: one build at a time.
class ConstantPool {
 public:
  struct Source {
    const void* data;
    dnnl::memory::desc desc;    // how `data` is read (may be strided)
    std::vector<float> scales;  // reorder output scales (empty: none)
    int scale_mask = 0;
    bool by_address;  // a graph initializer
  };
  // Whether a source may be pooled at all.
  static bool poolable(const Source& source);
  // The pooled memory holding `source` in layout `wanted`; null when there is none.
  dnnl::memory find(const Source& source, const dnnl::memory::desc& wanted) const;
  // Whether `source` is pooled in layout `wanted` (find without counting a hit).
  bool holds(const Source& source, const dnnl::memory::desc& wanted) const;
  // The layout `source` was reordered into before, if any.
  std::optional<dnnl::memory::desc> layout_of(const Source& source) const;
  void add(const Source& source, const dnnl::memory& memory);
  std::size_t hits() const { return hits_; }
  std::size_t size() const { return entries_.size(); }
  void truncate(std::size_t size);

 private:
  struct Entry {
    Source source;
    std::vector<std::byte> content;  // sources known by content
    dnnl::memory memory;
  };
  static bool same(const Entry& entry, const Source& source);
  const Entry* lookup(const Source& source, const dnnl::memory::desc& wanted) const;
  std::vector<Entry> entries_;
  mutable std::size_t hits_ = 0;
};

// `pool` (may be null) shares reordered initializers with programs built before from the same graph.
std::shared_ptr<const Program> build_program(const ir::Graph& graph, const std::vector<Shape>& input_shapes,
                                             const BuildOptions& options, ConstantPool* pool = nullptr);

// Ops the builder may lower to oneDNN (depending on types, shapes and attributes).
bool is_dnnl_candidate(const std::string& op_type);

// Dense row-major descriptor of `shape` (a scalar becomes [1]).
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type type = dnnl::memory::data_type::f32);

// An element-wise op as a oneDNN algorithm with its alpha/beta.
struct EltwiseOp {
  dnnl::algorithm algorithm;
  float alpha = 0.f, beta = 0.f;
  std::string name;
};

class ProgramBuilder {
 public:
  ProgramBuilder(const ir::Graph& graph, const std::vector<Shape>& input_shapes, const BuildOptions& options,
                 ConstantPool* pool = nullptr);
  std::shared_ptr<Program> build();

 private:
  struct Value {
    ElementType type = ElementType::undefined;
    std::optional<Shape> shape;  // nullopt when unknown in this specialisation
    std::optional<Tensor> constant;
    int buffer = -1;  // arena representation
    dnnl::memory::desc desc;
    int slot = -1;  // plain tensor representation
    bool view = false;  // shares the buffer of another value (Reshape & co.)
    bool transposed = false;  // a view through permuted strides (a Transpose read by matmuls)
    std::vector<std::pair<dnnl::memory::desc, int>> copies;  // other layouts made so far (desc → buffer)
  };
  struct PostOps {
    dnnl::post_ops ops;
    std::string output;          // the last fused value (the step's output)
    std::vector<int> nodes;      // fused node indices
    std::string sum_operand;     // residual added by a sum post-op ("" when none)
    std::string labels;          // "+Relu_3+Add_4"
  };

  // Lowering (lower_nn.cpp, lower_elementwise.cpp). `n` is the node index.
  bool lower_conv(int n);
  bool lower_gemm(int n);
  bool lower_matmul(int n);
  bool lower_pool(int n);
  bool lower_eltwise(int n);
  bool lower_binary(int n);
  bool lower_softmax(int n);
  bool lower_concat(int n);
  bool lower_layer_norm(int n);
  bool lower_batch_norm(int n);
  bool lower_view(int n);
  bool lower_transpose(int n);
  bool lower_node(int n);
  void lower_fallback(int n);

  // Patterns (lower_patterns.cpp): decomposed LayerNorm and Gelu.
  struct Pattern {
    std::vector<int> nodes;  // node indices replaced by the pattern
    std::string output;      // the value the last of them produces
  };
  const ir::Node* consumer_op(const std::string& value, const std::string& op, std::size_t count,
                              int* index) const;
  std::optional<Pattern> match_gelu(const std::string& x) const;
  std::optional<Pattern> match_layer_norm(int n, float& eps, const Tensor*& gamma, const Tensor*& beta) const;
  bool lower_layer_norm_pattern(int n);
  bool lower_gelu_pattern(int n);

  // Fusion: walks single-consumer chains after `value` collecting eltwise,
  // scalar-linear and (when allowed) one residual Add as post-ops.
  PostOps collect_post_ops(const std::string& value, bool allow_sum, bool scale_to_bf16_safe = true);
  std::optional<EltwiseOp> eltwise_of(const ir::Node& node) const;
  // The single node consuming `value`, when there is exactly one and it is not a model output.
  int single_consumer(const std::string& value) const;
  // Whether the step lowering node `n` may write its output over the arena buffer of `residual`
  // (a sum post-op in place): `residual` has layout `desc` and neither it nor any value sharing
  // its buffer is a model output or read by a node from `n` on, except the nodes in `fused`.
  bool can_overwrite(const std::string& residual, int n, const std::vector<int>& fused,
                     const dnnl::memory::desc& desc) const;

  // The output of a node whose only consumer is the Transpose `t`, written through permuted
  // strides into the Transpose's output (defined here, plain row-major): the dst descriptor.
  dnnl::memory::desc transposed_dst(int t, const Shape& shape, dnnl::memory::data_type type);
  // The descriptor of `shape` laid out as the Transpose `perm` of a dense row-major tensor of
  // the transposed shape (the source view of a transpose without a copy).
  static dnnl::memory::desc permuted_desc(const Shape& shape, const std::vector<std::int64_t>& perm,
                                          dnnl::memory::data_type type);
  std::vector<std::int64_t> transpose_perm(const ir::Node& node, std::size_t rank) const;

  // Values.
  Value& value(const std::string& name);
  bool is_f32_static(const std::string& name) const;
  const Shape& shape_of(const std::string& name) const;
  const Tensor* constant_of(const std::string& name) const;
  bool is_defined(const std::string& name) const;
  // The value in layout `wanted` (inserting a reorder when needed).
  BufferRef ref_as(const std::string& name, const dnnl::memory::desc& wanted);
  // The value in whatever layout it has now (plain when not produced by a primitive).
  BufferRef current_ref(const std::string& name);
  dnnl::memory::desc current_desc(const std::string& name);
  // The value in plain row-major layout (a reorder when it is blocked).
  BufferRef plain_ref(const std::string& name);
  // A plain tensor slot holding the value (fallback inputs, model outputs).
  int slot_of(const std::string& name);
  // Records `name` as produced by a primitive into a new arena buffer of `desc`.
  BufferRef define_arena(const std::string& name, const dnnl::memory::desc& desc);
  int add_constant(const dnnl::memory& memory);
  // A constant tensor (f32) as memory of `wanted` layout, reordered now.
  int constant_memory(const Tensor& tensor, const dnnl::memory::desc& source, const dnnl::memory::desc& wanted);
  // `source` may have any strides (a transposed view of the tensor); `scales` (empty: none) multiply the
  // values on the way, per index of the dimensions in `scale_mask` (oneDNN output-scale mask). So weights
  // are transposed, scaled (alpha, a folded BatchNormalization) and packed in one pass, without a copy.
  int constant_memory(const void* data, const dnnl::memory::desc& source, const dnnl::memory::desc& wanted,
                      const std::vector<float>& scales = {}, int scale_mask = 0);
  // A primitive over (src [P,K] plain) x (weights [N,K]) + bias[N] → dst [P,N] plain, for Gemm and
  // MatMul with constant weights; `out` is the node output before fusion. The weights are read from
  // `weights` (f32) through `weights_nk`, a [N,K] descriptor with the tensor's strides, times `alpha`.
  bool lower_dense(int n, const std::string& a, std::int64_t rows, std::int64_t k, std::int64_t cols,
                   const Tensor& weights, const dnnl::memory::desc& weights_nk, float alpha, std::vector<float> bias,
                   const std::string& out, const std::vector<int>& extra_fused, const std::string& extra_labels);

  // Steps.
  void push_primitive(const std::string& label, const dnnl::primitive& primitive,
                      std::vector<std::pair<int, BufferRef>> args, const dnnl::memory::desc& scratchpad);
  void push_reorder(const BufferRef& src, const BufferRef& dst, const std::string& why);
  dnnl::primitive_attr attr_with(const dnnl::post_ops* ops = nullptr) const;
  std::string node_label(int n) const;  // "Conv conv1"
  void finish_fused(const PostOps& fused, const std::string& produced);
  void plan_arena();
  bool bf16() const { return options_.precision == ElementType::bf16; }

  const ir::Graph& graph_;
  BuildOptions options_;
  ConstantPool* pool_;
  std::vector<std::pair<const std::byte*, const std::byte*>> initializer_bytes_;  // pooled sources: [begin, end)
  bool is_initializer_data(const void* data) const;
  // When these weights were reordered for an earlier program into another layout than `pd` wants,
  // moves `fresh` (a new descriptor of the same primitive) to an implementation that takes that
  // layout and returns it: programs for several batch sizes then share one copy of the weights
  // (oneDNN may pick another kernel for a larger batch, e.g. Winograd F(4x4) instead of F(2x2)).
  template <class PD, class Describe>
  void prefer_pooled_weights(PD& pd, const Describe& fresh, const void* data, const dnnl::memory::desc& source,
                             const std::vector<float>& scales, int scale_mask) {
    if (!pool_) return;
    const auto key = pool_source(data, source, scales, scale_mask);
    const auto pooled = pool_->layout_of(key);
    if (!pooled || pool_->holds(key, pd.weights_desc())) return;
    // Not among Winograd kernels: walking oneDNN 2.6's Winograd implementation list crashed now and
    // then inside dnnl_primitive_desc_iterator_next (resnet50 batch programs), and F(2x2) only takes
    // batch 1 while F(4x4) only takes larger batches, so there is nothing to find there.
    if (pooled->data.format_kind == dnnl_format_kind_wino || pd.weights_desc().data.format_kind == dnnl_format_kind_wino)
      return;
    PD candidate = fresh();
    do {
      if (candidate.weights_desc() == *pooled) {
        pd = candidate;
        return;
      }
    } while (candidate.next_impl());
  }
  ConstantPool::Source pool_source(const void* data, const dnnl::memory::desc& source, const std::vector<float>& scales,
                                   int scale_mask) const {
    return {data, source, scales, scale_mask, is_initializer_data(data)};
  }
  std::shared_ptr<Program> program_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::vector<int>> consumers_;
  std::vector<bool> fused_;
  std::map<std::string, bool> is_output_;
  dnnl::stream build_stream_;
  // Weight transforms into Winograd format (source, destination), run by run_deferred_transforms().
  std::vector<std::pair<dnnl::memory, dnnl::memory>> deferred_transforms_;
  void run_deferred_transforms();
};

}  // namespace autosched::cpu
