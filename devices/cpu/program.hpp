#pragma once
// A Program is the CPU device's execution plan for one set of concrete input
// shapes: a list of steps, each either a oneDNN primitive with its argument
// buffers or one graph node run by the reference kernels (per-node fallback).
// Activations of oneDNN steps live in one arena per request at offsets chosen
// by a liveness-based planner; weights are reordered once into the layouts the
// primitives chose and are shared by every request.
//
// A Program is immutable once built and shared by all requests; the mutable
// per-run state (arena, bound memories, fallback tensors) is a ProgramState,
// owned by one request and used by one thread at a time.
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "autosched/error.hpp"
#include "autosched/plugin/graph.hpp"
#include "autosched/tensor.hpp"

namespace autosched::cpu {

// The process-wide oneDNN CPU engine.
const dnnl::engine& cpu_engine();

// Where the bytes of one primitive argument live at run time.
struct BufferRef {
  enum class Kind { arena, constant, slot, scratchpad };
  Kind kind = Kind::arena;
  int index = -1;          // arena: buffer id; constant: Program::constants; slot: tensor slot
  dnnl::memory::desc desc;  // how the primitive sees the bytes
};

struct PrimitiveStep {
  dnnl::primitive primitive;
  std::vector<std::pair<int, BufferRef>> args;  // DNNL_ARG_* → buffer
};

// One graph node evaluated by reference::evaluate_node on plain tensors.
struct FallbackStep {
  ir::Node node;
  std::vector<int> inputs;   // tensor slots (-1: absent optional input)
  std::vector<int> outputs;  // tensor slots (-1: unused output)
};

struct Step {
  std::string label;  // "convolution Conv_1+BatchNormalization_2+Relu_3 [jit:avx512_core]"
  std::variant<PrimitiveStep, FallbackStep> body;
};

// A plain tensor visible to fallback steps and to primitives that read plain data.
struct TensorSlot {
  enum class Kind { input, constant, produced, arena_view };
  Kind kind = Kind::produced;
  int input = -1;       // input: model input index
  Tensor constant;      // constant: the value
  int buffer = -1;      // arena_view: arena buffer id (plain, dense, row-major)
  ElementType type = ElementType::f32;
  Shape shape;          // arena_view: the view's shape
};

struct ArenaBuffer {
  std::size_t bytes = 0;
  std::size_t offset = 0;  // assigned by the planner
  int first_step = 0, last_step = 0;
};

struct Program {
  std::vector<Step> steps;
  std::vector<dnnl::memory> constants;  // reordered weights, biases, broadcast operands
  std::vector<TensorSlot> slots;
  std::vector<ArenaBuffer> buffers;
  std::vector<int> output_slots;  // per model output: the slot holding its plain value
  std::size_t arena_bytes = 0;
  std::size_t scratchpad_bytes = 0;
  std::size_t naive_bytes = 0;  // sum of all arena buffers (for the planner's report)
  int threads = 1;              // OpenMP threads the primitives were created for

  std::string describe() const;  // one step per line
};

// Runs `body`, reporting a oneDNN failure as Error(device_failure).
template <class Body> void reporting_dnnl_errors(Body&& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::device_failure, std::string("CPU: oneDNN failed: ") + e.what());
  }
}

// Per-request execution state for one Program.
class ProgramState {
 public:
  explicit ProgramState(std::shared_ptr<const Program> program);
  // Runs in `arena` and `scratchpad` shared with other states used by the same thread (one at a
  // time), each at least the program's arena_bytes / scratchpad_bytes.
  ProgramState(std::shared_ptr<const Program> program, std::shared_ptr<std::byte> arena,
               std::shared_ptr<std::byte> scratchpad);
  // Memory for states sharing it: `bytes` aligned for oneDNN (null for 0 bytes).
  static std::shared_ptr<std::byte> allocate_shared(std::size_t bytes);
  const Program& program() const { return *program_; }
  // Runs the program; `outputs` are resized/filled as in ISyncInferRequest::infer.
  // Throws Error(cancelled) when `cancel` turns true between steps.
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, const std::atomic<bool>& cancel);

 private:
  struct BoundStep {
    std::unordered_map<int, dnnl::memory> args;
    std::vector<std::pair<dnnl::memory, int>> rebind;  // memory ← slot tensor data each run
  };
  std::shared_ptr<const Program> program_;
  std::shared_ptr<std::byte> arena_;
  std::shared_ptr<std::byte> scratchpad_;
  std::vector<Tensor> tensors_;  // one per slot
  std::vector<BoundStep> bound_;
  dnnl::stream stream_;
};

}  // namespace autosched::cpu
