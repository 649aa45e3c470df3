#pragma once
// The library's logger (spdlog, name "autosched"). Level: the
// AUTOSCHED_LOG_LEVEL environment variable at first use (default warn), then
// the log_level property of Core / compile_model. Thread-safe.
#include <spdlog/spdlog.h>

#include "autosched/properties.hpp"

namespace autosched {

spdlog::logger& log();
void set_log_level(LogLevel level);
// Applies props["log_level"] when present.
void apply_log_level(const Properties& props);

}  // namespace autosched
