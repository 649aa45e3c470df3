#include "devices/cpu/program_cache.hpp"

#include <omp.h>

#include <cstdlib>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched::cpu {

ProgramCache::ProgramCache(std::shared_ptr<const ir::Graph> graph, BuildOptions options, std::size_t capacity)
    : graph_(std::move(graph)),
      name_(graph_ ? graph_->name : std::string()),
      options_(options),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const Program> ProgramCache::find(const std::vector<Shape>& shapes, int threads) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->threads == threads && it->shapes == shapes) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().program;
    }
  }
  return nullptr;
}

std::shared_ptr<const Program> ProgramCache::answer(const std::vector<Shape>& shapes, int threads) {
  if (auto hit = find(shapes, threads)) return hit;
  if (answers_with_nearest(shapes)) return nearest(shapes, threads);
  return nullptr;
}

std::shared_ptr<const Program> ProgramCache::get(const std::vector<Shape>& shapes, int threads) {
  std::shared_ptr<const ir::Graph> graph;
  {
    std::lock_guard lock(mutex_);
    if (auto program = answer(shapes, threads)) return program;
    graph = graph_;
  }
  // One build at a time (the pool is not thread-safe; concurrent requests for the same new shape
  // wait for one build instead of racing to build it twice), while lookups of built programs go on.
  std::lock_guard build(build_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (auto program = answer(shapes, threads)) return program;  // built, or sealed, while this thread waited
  }
  auto built = build_program(*graph, shapes, options_, &pool_);
  std::const_pointer_cast<Program>(built)->threads = threads;
  std::lock_guard lock(mutex_);
  ++builds_;
  log().debug("CPU: built program #{} for model '{}' ({} steps, arena {} KiB, {} threads)", builds_, graph->name,
              built->steps.size(), built->arena_bytes / 1024, threads);
  entries_.push_front(Entry{shapes, threads, built});
  while (entries_.size() > capacity_) entries_.pop_back();
  return built;
}

bool ProgramCache::answers_with_nearest(const std::vector<Shape>& shapes) const {
  if (!graph_) return true;
  if (!thread_counts_fixed_) return false;
  for (const auto& e : entries_)
    if (e.shapes == shapes) return true;
  return false;
}

void ProgramCache::fix_thread_counts() {
  std::lock_guard lock(mutex_);
  thread_counts_fixed_ = true;
}

std::shared_ptr<const Program> ProgramCache::nearest(const std::vector<Shape>& shapes, int threads) const {
  const Entry* best = nullptr;
  for (const auto& e : entries_)
    if (e.shapes == shapes && (!best || std::abs(e.threads - threads) < std::abs(best->threads - threads))) best = &e;
  if (!best)
    throw Error(ErrorCode::internal, "CPU: no program for these input shapes in model '" + name_ +
                                         "' (its weights were released after compile)");
  return best->program;
}

void ProgramCache::seal() {
  std::lock_guard build(build_mutex_);  // after a build in progress
  std::lock_guard lock(mutex_);
  graph_.reset();
  shared_constants_ += pool_.hits();
  pool_ = ConstantPool();  // the programs keep the memories they use
}

void ProgramCache::reserve(std::size_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max(capacity_, capacity);
}

std::size_t ProgramCache::shared_constants() const {
  std::lock_guard build(build_mutex_);
  std::lock_guard lock(mutex_);
  return shared_constants_ + pool_.hits();
}

std::shared_ptr<const ir::Graph> ProgramCache::graph() const {
  std::lock_guard lock(mutex_);
  return graph_;
}

std::vector<std::shared_ptr<const Program>> ProgramCache::programs() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const Program>> out;
  for (const auto& e : entries_) out.push_back(e.program);
  return out;
}

std::shared_ptr<const Program> ProgramCache::latest() const {
  std::lock_guard lock(mutex_);
  return entries_.empty() ? nullptr : entries_.front().program;
}

std::size_t ProgramCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t ProgramCache::builds() const {
  std::lock_guard lock(mutex_);
  return builds_;
}

ThreadProgram::ThreadProgram(ProgramCache& cache, const std::vector<Shape>& shapes) {
  const int threads = omp_get_max_threads();
  program_ = cache.get(shapes, threads);
  if (program_->threads != threads) team_.emplace(program_->threads);
}

}  // namespace autosched::cpu
