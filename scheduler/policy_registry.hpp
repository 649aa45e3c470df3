#pragma once
// Built-in policies register themselves by name from policies/*.cpp at
// static-initialisation time; make_policy() (include/autosched/policy.hpp)
// finds them here, or loads a shared library.
#include "autosched/plugin/device_registry.hpp"  // AUTOSCHED_CONCAT
#include "autosched/policy.hpp"

namespace autosched::scheduler {
// register_policy() for static initialisers: returns true.
bool register_builtin_policy(const char* name, PolicyFactory factory);
// The policy a hint selects when schedule_policy is not set:
// LATENCY -> latency, THROUGHPUT / CUMULATIVE_THROUGHPUT -> throughput.
std::string default_policy_for_hint(const std::string& hint);
}  // namespace autosched::scheduler

// In a policies/*.cpp: AUTOSCHED_REGISTER_POLICY("round_robin", [](const PolicyConfig& c) { ... });
#define AUTOSCHED_REGISTER_POLICY(name, factory)                                                 \
  [[maybe_unused]] static const bool AUTOSCHED_CONCAT(autosched_policy_registered_, __LINE__) = \
      ::autosched::scheduler::register_builtin_policy(name, factory)
