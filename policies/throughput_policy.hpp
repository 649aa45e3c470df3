#pragma once
// The "throughput" policy as a type, so "slo" can fall back on it (budget 0,
// no deadline) without a second implementation. Rule: policies/throughput.cpp.
#include <cstdint>

#include "autosched/policy.hpp"

namespace autosched::policies {

class ThroughputPolicy final : public Policy {
 public:
  explicit ThroughputPolicy(const PolicyConfig& config);
  std::string name() const override { return "throughput"; }
  Decision choose(std::span<const DeviceStats> devices, const PendingRequest& request) override;

 private:
  std::uint64_t samples_needed_;
};

}  // namespace autosched::policies
