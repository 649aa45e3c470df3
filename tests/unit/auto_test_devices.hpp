#pragma once
// FAKE.*: devices registered only in the unit-test binary for the AUTO /
// MULTI tests, each with its own controls (compile time and failure, latency,
// failing every n-th inference, hanging on a given inference, slots, a
// pretend compile-cache hit) and a record of which request values ran to
// completion, to prove that no request is lost or run twice. Names and
// classes: FAKE.gpu (discrete GPU), FAKE.igpu (integrated GPU), FAKE.npu
// (accelerator; runs only Identity), FAKE.cpu (CPU), FAKE.cpu2 (CPU).
// They are not default candidates: AUTO uses them only when named.
// Models: output i is a copy of input i (use testing::identity_model()).
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"
#include "autosched/plugin/device.hpp"

namespace autosched::testing {

struct FakeDeviceControl {
  std::atomic<int> compile_ms{0};
  std::atomic<bool> fail_compile{false};
  std::atomic<bool> compile_cached{false};
  std::atomic<int> latency_ms{0};
  std::atomic<int> fail_every{0};    // every n-th call fails (0 = never)
  std::atomic<bool> fail_all{false};
  std::atomic<int> hang_on_call{0};  // this call (1-based) blocks until cancelled
  std::atomic<unsigned> slots{2};
  std::atomic<int> compiles{0};
  std::atomic<int> calls{0};
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> live_compiled{0};

  // Successful runs per value of input element 0.
  std::map<float, int> completed_values() const;
  void record(float value);
  // The properties of the last compile / is_compile_cached call.
  Properties compile_properties() const;
  Properties cache_query_properties() const;
  void record_compile(const Properties& properties);
  void record_cache_query(const Properties& properties);
  void reset();

 private:
  mutable std::mutex mutex_;
  std::map<float, int> completed_;
  Properties compile_properties_, cache_query_properties_;
};

// The controls of FAKE.<suffix> ("gpu", "igpu", "npu", "cpu", "cpu2").
FakeDeviceControl& fake(const std::string& suffix);
void reset_fakes();

// A stand-alone device (not registered) for selection tests with a hand-made
// lookup. `default_candidate` unset: the SDK's default rule decides.
std::shared_ptr<plugin::IDevice> make_fake_device(const std::string& name, plugin::DeviceClass device_class,
                                                  std::vector<std::string> capabilities = {"FP32"},
                                                  std::optional<bool> default_candidate = std::nullopt,
                                                  bool identity_only = false);

}  // namespace autosched::testing
