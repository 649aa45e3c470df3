#pragma once
// The CPU device's compiled model: a stream plan (N pinned streams × T
// OpenMP threads) and the Programs for the input shapes seen so far. Each
// async worker of the core is one stream: on_worker_start pins the worker to
// the stream's PUs and limits oneDNN's OpenMP team to the stream's threads.
// Sync requests may run on any worker; they keep their per-program state
// (arena, bound memories) themselves.
#include <atomic>
#include <future>
#include <thread>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"
#include "devices/cpu/batching.hpp"
#include "devices/cpu/omp_wait_policy.hpp"
#include "devices/cpu/program_cache.hpp"
#include "topology/stream_planner.hpp"

namespace autosched::cpu {

struct CpuConfig {
  PerformanceMode mode = PerformanceMode::LATENCY;
  ElementType precision = ElementType::f32;
  ConvAlgorithm convolution = ConvAlgorithm::automatic;
  topology::StreamPlan plan;
  std::string isa;
  std::size_t program_cache_capacity = 8;
  std::int64_t max_batch_size = 0;  // the property: 0 automatic, 1 off, N up to N (batching.hpp)
};

class CpuCompiledModel : public plugin::ICompiledModel, public std::enable_shared_from_this<CpuCompiledModel> {
 public:
  // Builds the program for the model's static input shapes now (on the
  // calling thread, with OpenMP limited to the streams' thread count); models
  // with dynamic dimensions build per shape on first use.
  CpuCompiledModel(Model model, CpuConfig config);
  ~CpuCompiledModel() override;

  std::unique_ptr<plugin::ISyncInferRequest> create_sync_request() override;
  unsigned num_parallel_requests() const override { return unsigned(config_.plan.streams.size()); }
  void on_worker_start(unsigned worker) override;
  unsigned max_batch() const override { return batch_.batch; }
  // Stacks the items' inputs along dimension 0 and runs them through the programs built for
  // batches (largest first: 13 requests with max_batch 8 run as 8 + 4 + 1), in this worker's
  // arena; each item gets its slice of the outputs.
  void infer_batch(unsigned worker, std::vector<plugin::BatchItem>& items) override;
  std::string get_property(const std::string& name) const override;
  const Model& model() const override { return model_; }

  ProgramCache& programs() { return programs_; }

 private:
  std::optional<OmpWaitLease> omp_wait_lease_;  // held while a stream has T > 1 threads
  Model model_;
  CpuConfig config_;
  ProgramCache programs_;
  std::shared_ptr<const Program> static_program_;  // null for dynamic models
  BatchChoice batch_;                   // batching.hpp; batch 1 unless static and batchable
  std::vector<std::size_t> batch_sizes_;  // programs built per stacked size, descending, ending in 1
  struct BatchWorker;                   // per async worker: states of the batch programs, one arena
  std::vector<std::unique_ptr<BatchWorker>> batch_workers_;  // guarded by workers_mutex_ (creation)
  BatchWorker& batch_worker(unsigned worker);
  // One stacked inference of `chunk` (2..max_batch items) in `w`'s arena.
  void run_stacked(BatchWorker& w, std::span<plugin::BatchItem> chunk);
  // The request's own program and state (errors go to the item).
  static void run_alone(plugin::BatchItem& item);
  // The stacked programs, built by stacked_builder_ after the constructor returns (it seals the
  // cache when done). stacked_programs_ and stacked_error_ are written by it alone and read only
  // once stacked_ready_ (acquire) or stacked_done_ says it finished.
  std::thread stacked_builder_;
  std::atomic<bool> stacked_ready_{false};
  std::string stacked_error_;
  double stacked_build_ms_ = 0;
  std::promise<void> stacked_promise_;
  std::shared_future<void> stacked_done_;
  void wait_for_batch_programs() const;
  // Chooses the batch (static models) and the stacked sizes to build for it.
  void plan_batching(const std::set<int>& thread_counts);
  // Starts stacked_builder_ (below).
  void start_batch_builder(const std::set<int>& thread_counts);
  // The static input shapes with dimension 0 = `batch`.
  std::vector<Shape> stacked_shapes(std::size_t batch) const;
  std::vector<Shape> input_shapes_;  // static models: the model's input shapes
  std::set<const Program*> stacked_programs_;  // the batch programs (not a request's own); see below
  // Max over the stacked programs of `field` (arena, scratchpad); 0 without batching.
  std::size_t stacked_bytes(std::size_t Program::*field) const;
  std::atomic<std::uint64_t> stacked_runs_{0}, stacked_requests_{0};  // the "cpu_batches" property
  double compile_ms_ = 0;
  mutable std::mutex workers_mutex_;
  std::vector<std::string> worker_affinity_;  // per worker: "cpus=0,1 threads=2" (observed)

  // Memory it holds (the weights_bytes / activation_bytes_per_request properties):
  // weights counted once however many programs and tensors share them.
  std::size_t held_weight_bytes(bool with_source = true) const;
  // Max over its programs of `field` (arena, naive sum, scratchpad); 0 before the first build.
  std::size_t per_request_bytes(std::size_t Program::*field) const;
};

}  // namespace autosched::cpu
