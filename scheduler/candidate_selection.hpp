#pragma once
// Which devices AUTO / MULTI may use for a model: the candidate list from
// device_priorities ("AUTO:a,b(2),-c") or every default candidate, minus
// exclusions, filtered by query_model support and inference_precision,
// ordered by device class unless the application gave the order.
#include <memory>
#include <string>
#include <vector>

#include "autosched/plugin/device.hpp"

namespace autosched::scheduler {

struct Candidate {
  std::shared_ptr<plugin::IDevice> device;
  std::string name;   // the device's own name (an alias in the list resolves to it)
  unsigned cap = 0;   // from "NAME(N)": at most N requests in flight; 0 = none
};

struct SelectionInput {
  std::string virtual_name;                 // "AUTO" or "MULTI", for messages
  std::vector<std::string> priorities;      // device_priorities entries
  const plugin::IDeviceLookup* lookup = nullptr;
  const plugin::IDevice* self = nullptr;    // the virtual device (never a candidate)
};

// The syntactic and name-resolution step, independent of the model. Throws
// Error(invalid_argument) naming the bad entry and the available devices.
std::vector<Candidate> list_candidates(const SelectionInput& input);

// The model step: drops candidates that cannot run every node of `model` or
// lack `precision` (when the property is set), logging why. Throws
// Error(unsupported) with every reason when nothing is left.
std::vector<Candidate> filter_for_model(std::vector<Candidate> candidates, const Model& model,
                                        const Properties& properties, const std::string& virtual_name);

// discrete GPU 0 < integrated GPU 1 < accelerator 2 < CPU 3 < reference 4.
int class_rank(plugin::DeviceClass c) noexcept;

}  // namespace autosched::scheduler
