#include "devices/cpu/stacked_programs.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <map>

#include "core/logging.hpp"
#include "devices/cpu/omp_wait_policy.hpp"

namespace autosched::cpu {

struct StackedPrograms::Worker {
  std::shared_ptr<std::byte> arena, scratchpad;  // shared by the states: one batch runs at a time
  std::map<std::size_t, std::unique_ptr<ProgramState>> states;  // by stacked size
  std::map<std::size_t, std::vector<Tensor>> inputs;             // stacked inputs by size
  std::map<std::size_t, std::vector<Tensor>> outputs;            // stacked outputs by size
};

StackedPrograms::StackedPrograms(ProgramCache& cache, std::vector<Shape> input_shapes,
                                 std::vector<ElementType> input_types, unsigned batch,
                                 const std::set<int>& thread_counts, std::size_t workers, std::string model_name)
    : cache_(cache), input_shapes_(std::move(input_shapes)), input_types_(std::move(input_types)),
      worker_count_(workers), workers_(workers) {
  sizes_.push_back(batch);
  for (std::size_t b = std::bit_floor(std::size_t(batch - 1)); b >= 1; b /= 2) sizes_.push_back(b);
  cache_.reserve(thread_counts.size() * sizes_.size());
  done_ = promise_.get_future().share();
  // After compile_model returns (resnet50: ~200 ms more, mostly oneDNN's Winograd F(4x4) weight
  // transform, which only batches use), on a thread of its own.
  builder_ = std::thread([this, thread_counts, model_name = std::move(model_name)] {
    const auto start = std::chrono::steady_clock::now();
    try {
      for (int threads : thread_counts) {
        OmpThreadsScope scope(threads);
        for (std::size_t b : sizes_)
          if (b > 1) programs_.insert(cache_.get(stacked_shapes(b), threads).get());
      }
      ready_.store(true, std::memory_order_release);
    } catch (const std::exception& e) {
      error_ = e.what();
      log().warn("CPU: '{}': building the batch programs failed, requests run one by one: {}", model_name, error_);
    }
    cache_.seal();
    build_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    log().debug("CPU: '{}': batch programs built in {:.1f} ms, {} weight memories shared", model_name, build_ms_,
                cache_.shared_constants());
    promise_.set_value();
  });
}

StackedPrograms::~StackedPrograms() {
  if (builder_.joinable()) builder_.join();
}

void StackedPrograms::wait() const { done_.wait(); }

std::string StackedPrograms::error() const {
  wait();
  return error_;
}

double StackedPrograms::build_ms() const {
  wait();
  return build_ms_;
}

bool StackedPrograms::holds(const Program* program) const {
  wait();
  return programs_.count(program) != 0;
}

std::size_t StackedPrograms::max_bytes(std::size_t Program::*field) const {
  std::size_t bytes = 0;
  for (const auto& program : cache_.programs())
    if (programs_.count(program.get())) bytes = std::max(bytes, (*program).*field);
  return bytes;
}

std::size_t StackedPrograms::worker_bytes() const {
  wait();
  return worker_count_ * (max_bytes(&Program::arena_bytes) + max_bytes(&Program::scratchpad_bytes));
}

std::string StackedPrograms::counts() const {
  return "runs=" + std::to_string(runs_.load()) + " requests=" + std::to_string(requests_.load());
}

std::vector<Shape> StackedPrograms::stacked_shapes(std::size_t batch) const {
  auto shapes = input_shapes_;
  for (auto& shape : shapes) shape[0] = std::int64_t(batch);
  return shapes;
}

StackedPrograms::Worker& StackedPrograms::worker(unsigned index) {
  std::lock_guard lock(workers_mutex_);
  if (index >= workers_.size()) workers_.resize(index + 1);
  auto& slot = workers_[index];
  if (!slot) {
    slot = std::make_unique<Worker>();
    slot->arena = ProgramState::allocate_shared(max_bytes(&Program::arena_bytes));
    slot->scratchpad = ProgramState::allocate_shared(max_bytes(&Program::scratchpad_bytes));
  }
  return *slot;
}

void StackedPrograms::run(unsigned worker_index, std::vector<plugin::BatchItem>& items) {
  if (!ready_.load(std::memory_order_acquire)) {  // still building (or failed): one by one
    for (auto& item : items) plugin::infer_alone(item);
    return;
  }
  Worker& w = worker(worker_index);
  for (std::size_t first = 0; first < items.size();) {
    const std::size_t left = items.size() - first;
    const std::size_t size = *std::find_if(sizes_.begin(), sizes_.end(), [&](std::size_t b) { return b <= left; });
    const auto chunk = std::span(items).subspan(first, size);
    first += size;
    if (size == 1) {  // the request's own program and state
      plugin::infer_alone(chunk[0]);
      continue;
    }
    try {
      reporting_dnnl_errors([&] { run_stacked(w, chunk); });
    } catch (...) {
      for (auto& item : chunk) item.error = std::current_exception();
    }
  }
}

void StackedPrograms::run_stacked(Worker& w, std::span<plugin::BatchItem> chunk) {
  static const std::atomic<bool> never_cancelled{false};
  const std::size_t size = chunk.size();
  const auto shapes = stacked_shapes(size);
  const ThreadProgram current(cache_, shapes);
  const auto& program = current.program();
  auto& state = w.states[size];
  if (!state || &state->program() != program.get()) state = std::make_unique<ProgramState>(program, w.arena, w.scratchpad);
  auto& inputs = w.inputs[size];
  if (inputs.empty())
    for (std::size_t k = 0; k < shapes.size(); ++k) inputs.emplace_back(input_types_[k], shapes[k]);
  for (std::size_t k = 0; k < inputs.size(); ++k) {  // sample i at offset i x (one sample's bytes)
    auto* dst = static_cast<std::byte*>(inputs[k].data());
    const std::size_t bytes = inputs[k].byte_size() / size;
    for (std::size_t i = 0; i < size; ++i) std::memcpy(dst + i * bytes, (*chunk[i].inputs)[k].data(), bytes);
  }
  auto& outputs = w.outputs[size];
  state->run(inputs, outputs, never_cancelled);
  runs_.fetch_add(1, std::memory_order_relaxed);
  requests_.fetch_add(size, std::memory_order_relaxed);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    Shape one = outputs[k].shape();
    one[0] = 1;
    const auto* src = static_cast<const std::byte*>(outputs[k].data());
    const std::size_t bytes = outputs[k].byte_size() / size;
    for (std::size_t i = 0; i < size; ++i) {
      Tensor& out = (*chunk[i].outputs)[k];
      if (out.empty() || out.element_type() != outputs[k].element_type() || out.shape() != one)
        out = Tensor(outputs[k].element_type(), one);
      std::memcpy(out.data(), src + i * bytes, bytes);
    }
  }
}

}  // namespace autosched::cpu
