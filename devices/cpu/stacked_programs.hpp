#pragma once
// The machinery of cross-request batching for one static model (batching.hpp
// decides whether and how large): programs for the model's inputs stacked along
// dimension 0, built on a thread of their own after compile_model returned, and
// each async worker's memory for running them. Thread-safe: run() may be called
// on several workers at once, never twice at once for one worker (the core's
// guarantee for infer_batch).
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "autosched/plugin/device.hpp"
#include "devices/cpu/program_cache.hpp"

namespace autosched::cpu {

class StackedPrograms {
 public:
  // Starts building, for every thread count in `thread_counts`, the programs for `batch` and the
  // powers of two below it into `cache` (whose weights pool shares the request program's
  // weights), then seals `cache`. `cache` must outlive this object. `input_shapes` are the
  // model's static shapes (dimension 0 = 1).
  StackedPrograms(ProgramCache& cache, std::vector<Shape> input_shapes, std::vector<ElementType> input_types,
                  unsigned batch, const std::set<int>& thread_counts, std::size_t workers, std::string model_name);
  ~StackedPrograms();  // waits for the builder
  StackedPrograms(const StackedPrograms&) = delete;
  StackedPrograms& operator=(const StackedPrograms&) = delete;

  // Runs `items` on worker `worker`: stacked, largest size first (13 items with batch 8 run as
  // 8 + 4 + 1), each item getting its slice of the outputs; a single item, and every item while
  // the programs are not built yet (or failed to build), through its own request.
  void run(unsigned worker, std::vector<plugin::BatchItem>& items);

  // Blocks until the builder is done. The accessors below wait for it.
  void wait() const;
  std::string error() const;  // why building failed; empty when it did not
  double build_ms() const;
  bool holds(const Program* program) const;  // one of the stacked programs
  // Each worker's arena + scratchpad (the largest stacked program's), times the workers.
  std::size_t worker_bytes() const;
  // "runs=N requests=M": stacked inferences so far and the requests they carried.
  std::string counts() const;

 private:
  struct Worker;  // one arena and scratchpad, the states and stacked tensors per size
  std::vector<Shape> stacked_shapes(std::size_t batch) const;
  Worker& worker(unsigned index);
  void run_stacked(Worker& w, std::span<plugin::BatchItem> chunk);
  std::size_t max_bytes(std::size_t Program::*field) const;

  ProgramCache& cache_;
  const std::vector<Shape> input_shapes_;
  const std::vector<ElementType> input_types_;
  std::vector<std::size_t> sizes_;  // descending: the batch, the powers of two below it, 1
  const std::size_t worker_count_;
  std::mutex workers_mutex_;        // creation of workers_ entries
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<std::uint64_t> runs_{0}, requests_{0};

  // Written by the builder thread alone, read once ready_ (acquire) or done_ says it finished.
  std::set<const Program*> programs_;
  std::string error_;
  double build_ms_ = 0;
  std::atomic<bool> ready_{false};
  std::promise<void> promise_;
  std::shared_future<void> done_;
  std::thread builder_;  // last: started once everything above exists
};

}  // namespace autosched::cpu
