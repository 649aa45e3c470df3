#pragma once
// Programs of one compiled model, keyed by the concrete input shapes and the
// OpenMP thread count they were built for. Bounded LRU: a model with dynamic
// dimensions builds one Program per distinct input shape and keeps the most
// recently used `capacity`. Thread-safe; a Program evicted while a request
// still runs it stays alive through the request's shared_ptr.
//
// A static-shape model builds every program it needs at compile and then
// seals the cache: the graph (and with it the source weights, once the
// application drops its Model) is released, since the programs hold the
// weights in their own reordered layouts.
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "devices/cpu/omp_wait_policy.hpp"
#include "devices/cpu/program_builder.hpp"

namespace autosched::cpu {

class ProgramCache {
 public:
  ProgramCache(std::shared_ptr<const ir::Graph> graph, BuildOptions options, std::size_t capacity);
  // The program for `shapes` built for `threads` OpenMP threads; builds it on
  // the calling thread when missing (whose OpenMP max-threads must be `threads`).
  // Builds run one at a time; lookups of built programs go on meanwhile.
  // Once sealed (or, for shapes already built, after fix_thread_counts), a
  // missing thread count is answered by the program for the same shapes with
  // the nearest thread count (the caller runs it with program->threads OpenMP
  // threads); once sealed, missing shapes are Error(internal).
  std::shared_ptr<const Program> get(const std::vector<Shape>& shapes, int threads);
  // No more builds: drops the graph. The programs built so far stay.
  void seal();
  // From now on a missing thread count for shapes already built is answered like after seal()
  // (the nearest), while new shapes are still built (a static model's batch programs).
  void fix_thread_counts();
  // The graph programs are built from; null once sealed.
  std::shared_ptr<const ir::Graph> graph() const;
  // The programs held now, most recently used first.
  std::vector<std::shared_ptr<const Program>> programs() const;
  std::shared_ptr<const Program> latest() const;  // most recently used; null when none
  std::size_t size() const;
  std::size_t builds() const;  // programs built so far (cache misses)
  std::size_t capacity() const { return capacity_; }
  // Raises the capacity (never lowers it): a model that needs several programs at once keeps them all.
  void reserve(std::size_t capacity);
  std::size_t shared_constants() const;  // weight memories a build took from earlier builds

 private:
  struct Entry {
    std::vector<Shape> shapes;
    int threads;
    std::shared_ptr<const Program> program;
  };
  std::shared_ptr<const ir::Graph> graph_;  // null once sealed
  std::string name_;                        // the model's, for messages
  BuildOptions options_;
  ConstantPool pool_;  // weights shared by the programs (same layout, same scales); dropped with the graph;
                       // used under build_mutex_
  std::size_t capacity_;
  mutable std::mutex mutex_;   // entries_, graph_, counters
  mutable std::mutex build_mutex_;  // one build at a time (pool_); taken before mutex_
  // Under mutex_: the entry for exactly these shapes and threads (made most recent), or null.
  std::shared_ptr<const Program> find(const std::vector<Shape>& shapes, int threads);
  // Under mutex_, sealed: the program for `shapes` with the nearest thread count; Error when none.
  std::shared_ptr<const Program> nearest(const std::vector<Shape>& shapes, int threads) const;
  // Under mutex_: whether a miss for `shapes` is answered by nearest() instead of a build.
  bool answers_with_nearest(const std::vector<Shape>& shapes) const;
  // Under mutex_: find(), else nearest() where a miss is answered so; null when a build is needed.
  std::shared_ptr<const Program> answer(const std::vector<Shape>& shapes, int threads);
  bool thread_counts_fixed_ = false;
  std::list<Entry> entries_;  // most recently used first
  std::size_t builds_ = 0;
  std::size_t shared_constants_ = 0;  // pool hits before seal()
};

// The program a calling thread runs for `shapes`: ProgramCache::get for the thread's OpenMP team
// size. When the cache answers with a program built for another size (sealed, or thread counts
// fixed), the thread's team takes the program's size for this object's lifetime.
class ThreadProgram {
 public:
  ThreadProgram(ProgramCache& cache, const std::vector<Shape>& shapes);
  ThreadProgram(const ThreadProgram&) = delete;
  ThreadProgram& operator=(const ThreadProgram&) = delete;
  const std::shared_ptr<const Program>& program() const { return program_; }

 private:
  std::shared_ptr<const Program> program_;
  std::optional<OmpThreadsScope> team_;
};

}  // namespace autosched::cpu
