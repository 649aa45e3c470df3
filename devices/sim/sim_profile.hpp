#pragma once
// A SIM device's profile: plain data read from JSON (format: devices/sim/README.md)
// plus the pure functions of the timing model, so tests can check the model
// without a device. Parsing validates everything: an unknown field or a bad
// value throws Error(invalid_argument) naming the profile (file), the field
// path ("latency.jitter.sigma") and what is valid; an unreadable file or
// malformed JSON throws Error(io).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autosched/element_type.hpp"
#include "autosched/plugin/device.hpp"

namespace autosched::sim {

enum class JitterDistribution { none, normal, lognormal };
const char* to_string(JitterDistribution d) noexcept;

// Multiplicative noise on a duration.
struct Jitter {
  JitterDistribution distribution = JitterDistribution::none;
  double sigma = 0.0;         // normal: standard deviation relative to the mean (0.1 = 10 %)
  double p99_over_p50 = 1.0;  // lognormal: ratio of the 99th to the 50th percentile (>= 1)

  // The factor for a standard-normal draw z: none → 1; normal → max(0, 1 + sigma·z);
  // lognormal → exp(z · ln(p99_over_p50) / 2.3263), whose median is 1.
  double factor(double z) const;
  // The expected factor over z ~ N(0, 1): none → 1; normal → Φ(1/σ) + σ·φ(1/σ)
  // (the clip at 0 included); lognormal → exp(s²/2) with s = ln(p99_over_p50) / 2.3263.
  double mean_factor() const;
};

// From start_s (seconds after the device was created) for duration_s, every
// inference that starts in the window takes `factor` times longer.
struct SlowdownWindow {
  double start_s = 0.0;
  double duration_s = 0.0;
  double factor = 1.0;
};

struct FaultInjection {
  bool fail_compile = false;                    // every compile fails (after its compile time)
  std::vector<std::uint64_t> fail_inferences;   // 1-based inference numbers (device-wide) that fail
  double fail_probability = 0.0;                // each inference fails with this probability
  std::vector<std::uint64_t> hang_inferences;   // inference numbers that hang until cancelled
  double hang_probability = 0.0;                // each inference hangs with this probability
  std::optional<double> disappear_after_s;      // seconds after creation; then everything fails
};

// The random part of one inference: whether it fails or hangs, and the
// standard-normal draw of its jitter. Inference k's draw depends only on the
// profile's seed and k (see sim_random.hpp), so the SIM device and the
// simulator (tools/autosched-simulate) see the same sequence.
struct InferenceDraw {
  bool fail = false;  // faults.fail_inferences lists k, or the fail draw is below fail_probability
  bool hang = false;  // likewise for hang_inferences / hang_probability
  double z = 0.0;     // for latency_ms()
};

struct SimProfile {
  std::string name;        // the device is SIM.<name>
  std::string full_name;   // device_full_name; defaults to "Simulated <class> <name>"
  std::string source;      // the file it came from, or "builtin"
  plugin::DeviceClass device_class = plugin::DeviceClass::accelerator;
  std::uint64_t seed = 0;
  bool timing_only = false;  // skip compute; outputs get a deterministic pattern

  double compile_fixed_ms = 0.0;
  double compile_per_gflop_ms = 0.0;
  Jitter compile_jitter;

  double latency_base_ms = 0.0;
  double latency_per_gflop_ms = 0.0;
  Jitter latency_jitter;

  unsigned parallel_slots = 1;
  unsigned preferred_batch_size = 1;
  double batch_efficiency = 0.0;  // 0: a batch of b costs b times one item; 1: costs the same as one

  double memory_mb = 0.0;  // capacity in MiB; 0 = unlimited

  std::vector<std::string> supported_ops;          // empty = every reference op
  std::vector<ElementType> supported_precisions;   // empty = every element type

  std::vector<SlowdownWindow> slowdowns;
  FaultInjection faults;

  // Work of a batch of b items in units of one item:
  // b <= P: 1 + (b-1)(1-e); b > P: (b/P) · work(P)   (P preferred size, e efficiency).
  double batch_work(std::uint64_t batch) const;
  // Product of the factors of every slowdown window containing `at_s`.
  double slowdown_factor(double at_s) const;
  // Modelled latency of one inference of `batch` items of `gflop_per_item`
  // starting at `at_s`, for a standard-normal draw `z`:
  // (base + per_gflop · gflop_per_item · batch_work(batch)) · jitter(z) · slowdown(at_s).
  double latency_ms(double gflop_per_item, std::uint64_t batch, double at_s, double z) const;
  // The expected latency without slowdowns: (base + per_gflop · gflop_per_item ·
  // batch_work(batch)) · latency_jitter.mean_factor().
  double mean_latency_ms(double gflop_per_item, std::uint64_t batch) const;
  // The draw of the device's k-th inference (1-based, counted over all its compiled models).
  InferenceDraw draw_inference(std::uint64_t k) const;
  // (fixed + per_gflop · gflop) · jitter(z).
  double compile_ms(double gflop, double z) const;

  bool supports_op(const std::string& op_type) const;
  bool supports_precision(ElementType type) const;
  // The capability strings: "FP32", "FP16", "BF16", "INT8", ...
  std::vector<std::string> capabilities() const;
};

// Parses one profile. `source` names it in error messages (a file path or
// "builtin"); `default_name` is used when the JSON has no "name".
SimProfile parse_profile(const std::string& json_text, const std::string& source,
                         const std::string& default_name = {});
// Reads and parses a file; the default name is the file's stem.
SimProfile load_profile_file(const std::string& path);
// The four builtin profiles: fast_gpu, slow_igpu, npu, cpu_like.
std::vector<SimProfile> builtin_profiles();
// Splits a list of paths at ',' and ':' (trimming blanks, dropping empty items).
std::vector<std::string> split_profile_paths(const std::string& list);
// The builtins followed by the files, in order. A file whose profile has a
// builtin's name replaces that builtin; a path listed twice is read once; two
// files with one name is Error(invalid_argument) naming both.
std::vector<SimProfile> load_profiles(const std::vector<std::string>& paths);

}  // namespace autosched::sim
