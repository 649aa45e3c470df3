// An example scheduling policy built as a shared library and loaded with the
// schedule_policy property:
//
//   compile_model(model, "MULTI:SIM.fast_gpu,CPU",
//                 {{"schedule_policy", "/path/to/libautosched_example_policy.so"}});
//
// "prefer_last": sends each request to the LAST eligible device in priority
// order that has a free slot (the reverse of device_priority), and waits when
// none has one. Deliberately simple so a test can predict every decision; it
// shows the whole contract: choose() from a read-only snapshot, cheap, no
// blocking, and on_complete() to keep private state (here: a count).
#include <atomic>

#include "autosched/policy.hpp"

namespace {

class PreferLastPolicy : public autosched::Policy {
 public:
  explicit PreferLastPolicy(const autosched::PolicyConfig& config) : hint_(config.hint) {}

  std::string name() const override { return "prefer_last"; }

  autosched::Decision choose(std::span<const autosched::DeviceStats> devices,
                             const autosched::PendingRequest& request) override {
    (void)request;
    for (std::size_t i = devices.size(); i-- > 0;)
      if (devices[i].eligible && devices[i].free_slots() > 0)
        return autosched::Decision::run(i, devices[i].typical_latency_ms(), "last free device");
    return autosched::Decision::wait("no free device");
  }

  void on_complete(std::span<const autosched::DeviceStats> devices,
                   const autosched::Completion& completion) override {
    (void)devices;
    if (completion.ok) ++completed_;
  }

 private:
  std::string hint_;
  std::uint64_t completed_ = 0;
};

}  // namespace

#ifdef AUTOSCHED_EXAMPLE_WRONG_API_VERSION
// Test build only: a library that claims another API version (refused on load).
extern "C" __attribute__((visibility("default"))) const AutoschedPolicyPlugin* autosched_policy_plugin() {
  static const AutoschedPolicyPlugin plugin{
      autosched::kPolicyApiVersion + 1, autosched::autosched_policy_abi_tag(), "prefer_last",
      [](const autosched::PolicyConfig* config) -> autosched::Policy* {
        return new PreferLastPolicy(config ? *config : autosched::PolicyConfig{});
      },
      [](autosched::Policy* policy) { delete policy; }};
  return &plugin;
}
#else
AUTOSCHED_DEFINE_POLICY_PLUGIN(PreferLastPolicy, "prefer_last")
#endif
