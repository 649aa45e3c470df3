#pragma once
// Typed property keys with string forms. Properties travel as a map of
// name → string so that the CLI and JSON config files can set them; the typed
// keys below convert both ways. Setting an unknown key or a bad value raises
// Error(invalid_argument) naming the key, the value and what is allowed.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autosched/element_type.hpp"
#include "autosched/error.hpp"

namespace autosched {

using Properties = std::map<std::string, std::string>;

enum class PerformanceMode { LATENCY, THROUGHPUT, CUMULATIVE_THROUGHPUT };
enum class Priority { LOW, MEDIUM, HIGH };
enum class LogLevel { trace, debug, info, warn, error, off };

// String forms. Parsers throw Error(invalid_argument) listing the valid names.
std::string to_property_string(PerformanceMode v);
std::string to_property_string(Priority v);
std::string to_property_string(LogLevel v);
std::string to_property_string(ElementType v);
std::string to_property_string(bool v);
std::string to_property_string(std::int64_t v);
std::string to_property_string(double v);
std::string to_property_string(const std::string& v);
std::string to_property_string(const std::vector<std::string>& v);  // comma separated
inline std::string to_property_string(int v) { return to_property_string(std::int64_t(v)); }
inline std::string to_property_string(unsigned v) { return to_property_string(std::int64_t(v)); }
inline std::string to_property_string(const char* v) { return std::string(v); }

template <class T> T from_property_string(const std::string& key, const std::string& text);
template <> PerformanceMode from_property_string<PerformanceMode>(const std::string&, const std::string&);
template <> Priority from_property_string<Priority>(const std::string&, const std::string&);
template <> LogLevel from_property_string<LogLevel>(const std::string&, const std::string&);
template <> ElementType from_property_string<ElementType>(const std::string&, const std::string&);
template <> bool from_property_string<bool>(const std::string&, const std::string&);
template <> std::int64_t from_property_string<std::int64_t>(const std::string&, const std::string&);
template <> double from_property_string<double>(const std::string&, const std::string&);
template <> std::string from_property_string<std::string>(const std::string&, const std::string&);
template <>
std::vector<std::string> from_property_string<std::vector<std::string>>(const std::string&, const std::string&);

// A read-write property key: `key(value)` makes a map entry, `key.name` is the string name.
template <class T> struct Property {
  const char* name;
  std::pair<const std::string, std::string> operator()(const T& value) const {
    return {name, to_property_string(value)};
  }
};
// A property that can only be read (get_property).
template <class T> struct ReadOnlyProperty {
  const char* name;
};

namespace hint {
inline constexpr Property<PerformanceMode> performance_mode{"performance_mode"};
inline constexpr Property<std::int64_t> num_requests{"num_requests"};
inline constexpr Property<double> latency_budget_ms{"latency_budget_ms"};
inline constexpr Property<ElementType> inference_precision{"inference_precision"};
inline constexpr Property<Priority> model_priority{"model_priority"};
}  // namespace hint

inline constexpr Property<std::int64_t> num_streams{"num_streams"};
inline constexpr Property<std::int64_t> inference_num_threads{"inference_num_threads"};
inline constexpr Property<bool> enable_cpu_pinning{"enable_cpu_pinning"};
inline constexpr Property<bool> enable_hyper_threading{"enable_hyper_threading"};
inline constexpr Property<std::string> cache_dir{"cache_dir"};
inline constexpr Property<bool> enable_startup_fallback{"enable_startup_fallback"};
inline constexpr Property<bool> enable_runtime_fallback{"enable_runtime_fallback"};
// AUTO/MULTI: a policy by name (device_priority, round_robin, latency,
// throughput, slo, or one registered with register_policy) or the path of a
// policy library (include/autosched/policy.hpp). Default: by the hint.
inline constexpr Property<std::string> schedule_policy{"schedule_policy"};
// AUTO/MULTI with the slo policy: a request no device can finish within
// latency_budget_ms fails at once with ErrorCode::deadline_exceeded instead of waiting.
inline constexpr Property<bool> reject_over_budget{"reject_over_budget"};
inline constexpr Property<std::vector<std::string>> device_priorities{"device_priorities"};
// AUTO/MULTI: properties for one candidate only, overriding (or adding to) the
// ones every candidate gets, e.g. a CPU with 2 streams and an OCL sub-device:
//   CPU:{num_streams:2,inference_num_threads:1},OCL.0:{ocl_compute_units:1}
//   {"CPU": {"num_streams": 2, "inference_num_threads": 1}, "OCL.0": {"ocl_compute_units": 1}}
// (JSON when the text starts with {" ; in the brace form quote a value that
// holds ',' or '}'). A device is named by its name or an alias; an entry that
// names no candidate, malformed text (reported with its character position)
// or a bad property is Error(invalid_argument). The compiled model reports the
// properties each candidate was compiled with as JSON. Other devices ignore it.
inline constexpr Property<std::string> device_properties{"device_properties"};
// AUTO/MULTI: an inference running longer than this on one device is cancelled
// and re-run elsewhere (runtime fallback). 0 (default): derived from the
// device's measured latency once it has some, otherwise no limit.
inline constexpr Property<double> inference_timeout_ms{"inference_timeout_ms"};
inline constexpr Property<LogLevel> log_level{"log_level"};
// Per compiled model: at most this many started requests wait for a worker;
// start_async beyond it throws Error(resource_exhausted). 0 (default): no limit.
inline constexpr Property<std::int64_t> max_queue_length{"max_queue_length"};
// Cross-request batching on devices that support it (CPU): a worker that finds
// several started requests waiting runs up to this many as one inference, so
// weights are read once per batch (THROUGHPUT; each request waits for its
// batch). 0 (default): the device decides (CPU: only with a THROUGHPUT hint,
// and only for models that gain, see the compiled model's "batching"); 1: never
// batch; N > 1: up to N, where the model allows it. Read back from a compiled
// model: the batch it uses.
inline constexpr Property<std::int64_t> max_batch_size{"max_batch_size"};
inline constexpr Property<std::vector<std::string>> sim_profiles{"sim_profiles"};
inline constexpr Property<std::int64_t> ocl_compute_units{"ocl_compute_units"};

inline constexpr ReadOnlyProperty<std::vector<std::string>> execution_devices{"execution_devices"};
inline constexpr ReadOnlyProperty<std::int64_t> optimal_number_of_infer_requests{
    "optimal_number_of_infer_requests"};
inline constexpr ReadOnlyProperty<std::vector<std::string>> supported_properties{"supported_properties"};
inline constexpr ReadOnlyProperty<std::string> device_full_name{"device_full_name"};
inline constexpr ReadOnlyProperty<std::vector<std::string>> device_capabilities{"device_capabilities"};
// Memory of a compiled model, in bytes, for devices that report it (the CPU
// does; others answer Error(not_found)). A process running n requests at once
// needs about weights_bytes + n * (activation_bytes_per_request +
// scratchpad_bytes_per_request) + batch_activation_bytes for the compiled model.
// weights_bytes: the weights it holds after compile, in the layouts its kernels
// read (reordered / packed), each buffer counted once; a model with dynamic
// shapes also keeps the source weights to build programs for new shapes.
inline constexpr ReadOnlyProperty<std::int64_t> weights_bytes{"weights_bytes"};
// The activation arena each infer request allocates (buffers reused across
// layers by liveness), and the sum of those buffers without reuse.
inline constexpr ReadOnlyProperty<std::int64_t> activation_bytes_per_request{"activation_bytes_per_request"};
inline constexpr ReadOnlyProperty<std::int64_t> naive_activation_bytes_per_request{
    "naive_activation_bytes_per_request"};
// Kernel workspace each infer request allocates besides its arena.
inline constexpr ReadOnlyProperty<std::int64_t> scratchpad_bytes_per_request{"scratchpad_bytes_per_request"};
// With cross-request batching (max_batch_size): the arenas and scratchpads the
// workers use for stacked requests, all workers together; 0 without batching.
inline constexpr ReadOnlyProperty<std::int64_t> batch_activation_bytes{"batch_activation_bytes"};

// Checks that every key is known and writable and every value parses; throws
// Error(invalid_argument) naming the first bad key/value and the allowed values.
void validate_properties(const Properties& props);
// All known property names (read-write and read-only).
std::vector<std::string> known_property_names();
// Typed read with a default when absent; throws on a bad value.
template <class T> T get_or(const Properties& props, const Property<T>& key, const T& fallback) {
  auto it = props.find(key.name);
  return it == props.end() ? fallback : from_property_string<T>(key.name, it->second);
}

}  // namespace autosched
