#pragma once
// The device SDK: what a device author implements. A device compiles a Model
// into an ICompiledModel, which creates synchronous requests. The core wraps
// every sync request in the async machinery (queue, workers, callbacks, state
// machine), so devices never create threads for async work.
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autosched/model.hpp"
#include "autosched/properties.hpp"
#include "autosched/tensor.hpp"

namespace autosched::plugin {

// Static ordering class used by AUTO (discrete GPU > integrated GPU > accelerator > CPU).
enum class DeviceClass { discrete_gpu, integrated_gpu, accelerator, cpu, reference, virtual_device };
const char* to_string(DeviceClass c) noexcept;

// One synchronous inference context. Used by one thread at a time (the core
// guarantees it); cancel() may be called from another thread during infer().
class ISyncInferRequest {
 public:
  virtual ~ISyncInferRequest() = default;
  // Runs one inference. `inputs` are in model-input order with concrete shapes
  // (already checked against the model). `outputs` are in model-output order
  // and pre-allocated when the output shape is static; otherwise the device
  // calls set_shape() on them. Failures throw Error (device_failure, cancelled, ...).
  virtual void infer(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) = 0;
  // Best-effort request to stop a running infer(), which should then throw
  // Error(cancelled). Default: the run completes normally.
  virtual void cancel() {}
};

// One request of a batch handed to ICompiledModel::infer_batch: the request's
// sync context and its bound tensors (as ISyncInferRequest::infer gets them).
struct BatchItem {
  ISyncInferRequest* request = nullptr;
  const std::vector<Tensor>* inputs = nullptr;
  std::vector<Tensor>* outputs = nullptr;
  std::exception_ptr error;  // set by the device when this item failed (the others may still succeed)
};

// Runs `item` alone through its request's infer(), recording a failure in item.error; never throws.
// What ICompiledModel::infer_batch does by default for each item.
void infer_alone(BatchItem& item) noexcept;

class ICompiledModel {
 public:
  virtual ~ICompiledModel() = default;
  virtual std::unique_ptr<ISyncInferRequest> create_sync_request() = 0;
  // How many requests can run at once (streams / parallel slots); the core
  // starts this many async workers for the compiled model.
  virtual unsigned num_parallel_requests() const = 0;
  // Called once on each async worker thread before it runs requests
  // (thread pinning, per-thread runtime set-up). `worker` < num_parallel_requests().
  virtual void on_worker_start(unsigned worker) { (void)worker; }
  // Cross-request batching. When max_batch() > 1, a core worker that finds
  // several requests waiting takes up to max_batch() of them whose inputs have
  // the same shapes and hands them to infer_batch() together; a lone request
  // still goes through its own ISyncInferRequest::infer. Read once, when the
  // core wraps the compiled model. Default: 1 (none).
  virtual unsigned max_batch() const { return 1; }
  // Runs 2..max_batch() requests (same input shapes, oldest first) on async
  // worker `worker` (as in on_worker_start), filling each item's outputs or
  // setting its error. Called concurrently from different workers, never twice
  // at once for one worker; cancel() on an item's request may arrive meanwhile.
  // Throwing fails every item whose error is not set. Default: each request's
  // infer() in turn.
  virtual void infer_batch(unsigned worker, std::vector<BatchItem>& items);
  // Readable properties; throws Error(not_found) listing supported names.
  // Must answer at least optimal_number_of_infer_requests and execution_devices.
  virtual std::string get_property(const std::string& name) const = 0;
  // The compiled model's ports and graph structure. It need not hold the
  // weights: a device may release the initializers it no longer reads.
  virtual const Model& model() const = 0;
};

// Gives devices that compose others (AUTO, MULTI) access to their peers.
class IDeviceLookup;

class IDevice {
 public:
  virtual ~IDevice() = default;
  virtual std::string name() const = 0;  // "REF", "CPU", "OCL.0", "SIM.fast_gpu"
  // Other names this device answers to ("GPU", "GPU.0").
  virtual std::vector<std::string> aliases() const { return {}; }
  virtual DeviceClass device_class() const = 0;
  // Runs its inferences on the host's CPU cores (the CPU device, an OpenCL
  // CPU device such as PoCL, the reference kernels): such devices compete for
  // the same cores, so work on a slower one takes capacity from a faster one
  // instead of adding its own. Policies see it in DeviceStats.
  virtual bool shares_host_cpu() const {
    return device_class() == DeviceClass::cpu || device_class() == DeviceClass::reference;
  }
  // e.g. {"FP32", "BF16", "INT8"}
  virtual std::vector<std::string> capabilities() const = 0;
  // Names of the nodes of `model` this device can run.
  virtual std::set<std::string> query_model(const Model& model) const = 0;
  // Compiles; throws Error (unsupported, device_failure, invalid_argument for a bad property).
  // Thread-safe: may be called concurrently.
  virtual std::shared_ptr<ICompiledModel> compile(const Model& model, const Properties& properties) = 0;
  // Device-level readable properties (device_full_name, device_capabilities,
  // supported_properties, ...); throws Error(not_found) listing supported names.
  virtual std::string get_property(const std::string& name) const;
  virtual std::vector<std::string> supported_properties() const;
  // Whether AUTO and MULTI consider this device when the application names no
  // candidates. Default: every concrete device except the reference device and
  // simulated devices ("SIM." names), which take part only when named.
  virtual bool default_candidate() const;
  // Startup-acceleration hook: true when compiling `model` with `properties`
  // would be served from the device's compile cache (cache_dir), so AUTO skips
  // the CPU helper compile. Must be cheap and must not compile. Default: false.
  virtual bool is_compile_cached(const Model& model, const Properties& properties) const;
};

class IDeviceLookup {
 public:
  virtual ~IDeviceLookup() = default;
  // Concrete and virtual devices known to this Core; nullptr when absent.
  virtual std::shared_ptr<IDevice> find_device(const std::string& name) const = 0;
  virtual std::vector<std::shared_ptr<IDevice>> devices() const = 0;
};

}  // namespace autosched::plugin

#include "autosched/compiled_model.hpp"

namespace autosched::plugin {

// Wraps a device's compiled model in the core's async machinery (its own
// workers, on_worker_start pinning, request state machine), exactly as
// Core::compile_model does. Virtual devices (AUTO, MULTI) use this to run
// requests on the devices they compose through the ordinary InferRequest API.
// `request_cap` > 0 limits requests in flight.
CompiledModel wrap_compiled_model(std::shared_ptr<ICompiledModel> compiled, const std::string& device_name,
                                  unsigned request_cap = 0);

}  // namespace autosched::plugin
