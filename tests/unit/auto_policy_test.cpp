// The scheduler's built-in decisions on hand-built snapshots: first free slot
// in priority order, and measured latency (explore, then the fastest).
#include <gtest/gtest.h>

#include "scheduler/scheduling_policy.hpp"

namespace autosched::scheduler {
namespace {

DeviceSnapshot device(std::size_t priority, unsigned slots, unsigned in_flight, std::uint64_t samples = 0,
                      double median_ms = 0, bool eligible = true) {
  DeviceSnapshot d;
  d.name = std::string("D").append(std::to_string(priority));
  d.priority = priority;
  d.slots = slots;
  d.in_flight = in_flight;
  d.samples = samples;
  d.median_latency_ms = median_ms;
  d.ewma_latency_ms = median_ms;
  d.eligible = eligible;
  return d;
}

TEST(AutoPolicy, DevicePriorityTakesTheFirstEligibleDeviceWithAFreeSlot) {
  auto policy = make_device_priority_policy();
  std::vector<DeviceSnapshot> d = {device(0, 2, 2), device(1, 1, 0), device(2, 4, 0)};
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(1));
  d[1].eligible = false;
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(2));
  d[2].in_flight = 4;
  EXPECT_EQ(policy->choose(d, {}), std::nullopt);  // every slot busy: wait
  d[0].in_flight = 1;
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(0));
}

TEST(AutoPolicy, MeasuredLatencyExploresEachDeviceThenKeepsTheFastest) {
  auto policy = make_measured_latency_policy(3);
  // D0 ranks first but is slow; D1 is not measured yet.
  std::vector<DeviceSnapshot> d = {device(0, 1, 0, 5, 30.0), device(1, 1, 0, 0)};
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(1));  // explore D1
  d[1].samples = 3;
  d[1].median_latency_ms = 2.0;
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(1));  // D1 is faster
  d[1].in_flight = 1;
  EXPECT_EQ(policy->choose(d, {}), std::nullopt);  // wait for the fastest rather than use the slow one
  d[1].eligible = false;                            // e.g. quarantined
  EXPECT_EQ(policy->choose(d, {}), std::optional<std::size_t>(0));
}

TEST(AutoPolicy, PoliciesByNameAndABadNameListsTheValidOnes) {
  EXPECT_EQ(make_scheduling_policy("device_priority")->name(), "device_priority");
  EXPECT_EQ(make_scheduling_policy("latency")->name(), "latency");
  try {
    make_scheduling_policy("fastest_please");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("device_priority, latency"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace autosched::scheduler
