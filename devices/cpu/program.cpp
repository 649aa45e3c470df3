#include "devices/cpu/program.hpp"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "autosched/error.hpp"
#include "model/reference/op_registry.hpp"

namespace autosched::cpu {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::string Program::describe() const {
  std::ostringstream out;
  for (std::size_t i = 0; i < steps.size(); ++i) out << (i ? "\n" : "") << steps[i].label;
  return out.str();
}

namespace {

std::byte* allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) throw Error(ErrorCode::device_failure, "CPU: cannot allocate " + std::to_string(bytes) + " bytes");
  return static_cast<std::byte*>(p);
}
void release(std::byte* p) { std::free(p); }

}  // namespace

std::shared_ptr<std::byte> ProgramState::allocate_shared(std::size_t bytes) {
  return std::shared_ptr<std::byte>(allocate(bytes), release);
}

ProgramState::ProgramState(std::shared_ptr<const Program> program)
    : ProgramState(program, allocate_shared(program->arena_bytes), allocate_shared(program->scratchpad_bytes)) {}

ProgramState::ProgramState(std::shared_ptr<const Program> program, std::shared_ptr<std::byte> arena,
                           std::shared_ptr<std::byte> scratchpad)
    : program_(std::move(program)), arena_(std::move(arena)), scratchpad_(std::move(scratchpad)), stream_(cpu_engine()) {
  const Program& p = *program_;
  tensors_.resize(p.slots.size());
  for (std::size_t s = 0; s < p.slots.size(); ++s) {
    const TensorSlot& slot = p.slots[s];
    if (slot.kind == TensorSlot::Kind::constant) tensors_[s] = slot.constant;
    if (slot.kind == TensorSlot::Kind::arena_view)
      tensors_[s] = Tensor(slot.type, slot.shape, arena_.get() + p.buffers[std::size_t(slot.buffer)].offset);
  }
  bound_.resize(p.steps.size());
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    const auto* step = std::get_if<PrimitiveStep>(&p.steps[i].body);
    if (!step) continue;
    for (const auto& [arg, ref] : step->args) {
      switch (ref.kind) {
        case BufferRef::Kind::arena:
          bound_[i].args.emplace(arg, dnnl::memory(ref.desc, cpu_engine(),
                                                   arena_.get() + p.buffers[std::size_t(ref.index)].offset));
          break;
        case BufferRef::Kind::constant:
          bound_[i].args.emplace(arg, p.constants[std::size_t(ref.index)]);
          break;
        case BufferRef::Kind::scratchpad:
          bound_[i].args.emplace(arg, dnnl::memory(ref.desc, cpu_engine(), scratchpad_.get()));
          break;
        case BufferRef::Kind::slot: {
          dnnl::memory m(ref.desc, cpu_engine(), DNNL_MEMORY_NONE);
          bound_[i].args.emplace(arg, m);
          bound_[i].rebind.emplace_back(m, ref.index);
          break;
        }
      }
    }
  }
}

void ProgramState::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                       const std::atomic<bool>& cancel) {
  const Program& p = *program_;
  for (std::size_t s = 0; s < p.slots.size(); ++s)
    if (p.slots[s].kind == TensorSlot::Kind::input) tensors_[s] = inputs.at(std::size_t(p.slots[s].input));

  bool pending = false;  // primitives submitted since the last wait
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    if (cancel.load(std::memory_order_relaxed)) {
      if (pending) stream_.wait();
      throw Error(ErrorCode::cancelled, "CPU: inference cancelled");
    }
    if (const auto* step = std::get_if<PrimitiveStep>(&p.steps[i].body)) {
      BoundStep& bound = bound_[i];
      for (auto& [memory, slot] : bound.rebind) memory.set_data_handle(tensors_[std::size_t(slot)].data());
      step->primitive.execute(stream_, bound.args);
      pending = true;
      continue;
    }
    if (pending) stream_.wait();
    pending = false;
    const auto& fallback = std::get<FallbackStep>(p.steps[i].body);
    std::vector<Tensor> args(fallback.inputs.size());
    for (std::size_t k = 0; k < args.size(); ++k)
      if (fallback.inputs[k] >= 0) args[k] = tensors_[std::size_t(fallback.inputs[k])];
    std::vector<Tensor> results = reference::evaluate_node(fallback.node, args);
    for (std::size_t k = 0; k < fallback.outputs.size() && k < results.size(); ++k) {
      if (fallback.outputs[k] < 0) continue;
      Tensor& dst = tensors_[std::size_t(fallback.outputs[k])];
      if (p.slots[std::size_t(fallback.outputs[k])].kind == TensorSlot::Kind::arena_view) {
        // A plain arena region that primitives read: copy in place (same shape by construction).
        std::memcpy(dst.data(), results[k].data(), std::min(dst.byte_size(), results[k].byte_size()));
      } else {
        dst = std::move(results[k]);
      }
    }
  }
  if (pending) stream_.wait();

  outputs.resize(p.output_slots.size());
  for (std::size_t k = 0; k < p.output_slots.size(); ++k) {
    const Tensor& value = tensors_[std::size_t(p.output_slots[k])];
    Tensor& out = outputs[k];
    if (out.empty() || out.element_type() != value.element_type()) out = Tensor(value.element_type(), value.shape());
    value.copy_to(out);
  }
}

}  // namespace autosched::cpu
