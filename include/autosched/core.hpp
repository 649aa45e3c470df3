#pragma once
// Core: the entry point. Discovers devices through the registry when
// constructed, reads models and compiles them. Thread-safe: several threads
// may read and compile at once. Compiled models and requests outlive the Core
// safely (they hold what they need).
#include <memory>
#include <string>
#include <vector>

#include "autosched/compiled_model.hpp"
#include "autosched/model.hpp"
#include "autosched/properties.hpp"

namespace autosched {

namespace detail {
class CoreImpl;
}

class Core {
 public:
  // `properties` are core-wide (e.g. log_level, sim_profiles, cache_dir).
  explicit Core(const Properties& properties = {});
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Reads an ONNX file or "builtin:<name>". Throws Error(not_found) for a
  // missing file or unknown builtin (listing the builtins), Error(io) for a
  // malformed file, Error(unsupported) for an op the runtime lacks.
  Model read_model(const std::string& path_or_builtin) const;
  // Compiles for a device string ("REF", "CPU", "AUTO", "AUTO:CPU,REF", ...).
  // Throws Error(invalid_argument) naming a bad device string and the available devices.
  CompiledModel compile_model(const Model& model, const std::string& device,
                              const Properties& properties = {});
  CompiledModel compile_model(const std::string& path_or_builtin, const std::string& device,
                              const Properties& properties = {});
  // Names of the concrete devices found (e.g. {"CPU", "OCL.0", "REF"}) plus the virtual ones.
  std::vector<std::string> get_available_devices() const;
  std::string get_property(const std::string& device, const std::string& name) const;
  template <class T> T get_property(const std::string& device, const ReadOnlyProperty<T>& key) const {
    return from_property_string<T>(key.name, get_property(device, std::string(key.name)));
  }

  // Names accepted by read_model("builtin:<name>").
  static std::vector<std::string> builtin_models();

 private:
  std::shared_ptr<detail::CoreImpl> impl_;
};

}  // namespace autosched
