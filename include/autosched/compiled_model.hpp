#pragma once
// CompiledModel: a model compiled for one device string. Cheap to copy
// (shared handle). Requests keep the compiled model alive, so dropping the
// last CompiledModel handle while requests run is safe: they finish first.
#include <memory>
#include <string>
#include <vector>

#include "autosched/infer_request.hpp"
#include "autosched/model.hpp"
#include "autosched/properties.hpp"

namespace autosched {

namespace detail {
class CompiledModelImpl;
}

class CompiledModel {
 public:
  CompiledModel() = default;
  explicit CompiledModel(std::shared_ptr<detail::CompiledModelImpl> impl);

  InferRequest create_infer_request();
  const std::vector<PortInfo>& inputs() const;
  const std::vector<PortInfo>& outputs() const;
  // String form of any readable property; throws Error(not_found) listing the supported ones.
  std::string get_property(const std::string& name) const;
  template <class T> T get_property(const ReadOnlyProperty<T>& key) const {
    return from_property_string<T>(key.name, get_property(std::string(key.name)));
  }
  template <class T> T get_property(const Property<T>& key) const {
    return from_property_string<T>(key.name, get_property(std::string(key.name)));
  }
  // The device string this model was compiled for ("REF", "AUTO", ...).
  const std::string& device() const;

 private:
  std::shared_ptr<detail::CompiledModelImpl> impl_;
};

}  // namespace autosched
