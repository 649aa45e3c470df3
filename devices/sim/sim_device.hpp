#pragma once
// SIM devices: simulated hardware described by a SimProfile. Compiling and
// inferring take the profile's modelled time, spent as a wait on a Clock;
// outputs are exact (reference kernels) unless the profile is timing_only.
// Faults (failed compile, failed or hanging inferences, disappearance) follow
// the profile's seed, so a run is repeatable. Format and semantics:
// devices/sim/README.md.
#include <cstdint>
#include <memory>

#include "autosched/plugin/device.hpp"
#include "devices/sim/sim_clock.hpp"
#include "devices/sim/sim_profile.hpp"

namespace autosched::sim {

// The device SIM.<profile.name>. Its time origin (for the slowdown schedule
// and disappear_after_s) is clock->now() at this call.
std::shared_ptr<plugin::IDevice> make_sim_device(SimProfile profile, std::shared_ptr<Clock> clock);

// What a compiled model occupies on a device: its initializers, plus one set
// of activations (every non-constant value with a static shape, an upper
// bound of the live set) per parallel slot.
struct MemoryEstimate {
  std::uint64_t weights_bytes = 0;
  std::uint64_t activation_bytes = 0;  // for one slot
  std::uint64_t total(unsigned slots) const { return weights_bytes + activation_bytes * slots; }
};
MemoryEstimate estimate_memory(const Model& model);

// The timing_only output pattern: element i of output k is
// ((i + 31k) mod 256) / 256 for floating types, (i + 31k) mod 128 for integer
// types and (i + k) mod 2 for boolean. Independent of the inputs.
void fill_timing_pattern(Tensor& output, std::size_t output_index);

// The batch an inference runs: dimension 0 of the first input when the
// model's first input has rank >= 2, else 1.
std::uint64_t batch_of(const Model& model, const std::vector<Tensor>& inputs);

}  // namespace autosched::sim
