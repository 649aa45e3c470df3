#include "devices/cpu/program_cache.hpp"

#include <cstdlib>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched::cpu {

ProgramCache::ProgramCache(std::shared_ptr<const ir::Graph> graph, BuildOptions options, std::size_t capacity)
    : graph_(std::move(graph)),
      name_(graph_ ? graph_->name : std::string()),
      options_(options),
      capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const Program> ProgramCache::get(const std::vector<Shape>& shapes, int threads) {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->threads == threads && it->shapes == shapes) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().program;
    }
  }
  if (!graph_) {  // sealed: the same shapes built for the nearest thread count
    const Entry* nearest = nullptr;
    for (const auto& e : entries_)
      if (e.shapes == shapes && (!nearest || std::abs(e.threads - threads) < std::abs(nearest->threads - threads)))
        nearest = &e;
    if (!nearest)
      throw Error(ErrorCode::internal, "CPU: no program for these input shapes in model '" + name_ +
                                           "' (its weights were released after compile)");
    return nearest->program;
  }
  // Built under the lock: concurrent requests for the same new shape wait
  // for one build instead of racing to build it twice.
  auto built = build_program(*graph_, shapes, options_, &pool_);
  std::const_pointer_cast<Program>(built)->threads = threads;
  ++builds_;
  log().debug("CPU: built program #{} for model '{}' ({} steps, arena {} KiB, {} threads)", builds_, graph_->name,
              built->steps.size(), built->arena_bytes / 1024, threads);
  entries_.push_front(Entry{shapes, threads, built});
  while (entries_.size() > capacity_) entries_.pop_back();
  return built;
}

void ProgramCache::seal() {
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

}  // namespace autosched::cpu
