#include "autosched/version.hpp"

namespace autosched {
const char* version_string() noexcept { return AUTOSCHED_VERSION; }
}  // namespace autosched
