#pragma once
// The CPU device's compiled model: a stream plan (N pinned streams × T
// OpenMP threads) and the Programs for the input shapes seen so far. Each
// async worker of the core is one stream: on_worker_start pins the worker to
// the stream's PUs and limits oneDNN's OpenMP team to the stream's threads.
// Sync requests may run on any worker; they keep their per-program state
// (arena, bound memories) themselves.
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"
#include "devices/cpu/batching.hpp"
#include "devices/cpu/omp_wait_policy.hpp"
#include "devices/cpu/program_cache.hpp"
#include "devices/cpu/stacked_programs.hpp"
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
  // Stacked runs (stacked_programs.hpp).
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
  BatchChoice batch_;                         // batching.hpp; batch 1 unless static and batchable
  std::unique_ptr<StackedPrograms> stacked_;  // with batch > 1; after programs_ (it refers to it)
  // Chooses the batch of a static model (batch_).
  void plan_batching();
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
