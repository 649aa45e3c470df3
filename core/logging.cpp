#include "core/logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace autosched {

namespace {
spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::off: return spdlog::level::off;
  }
  return spdlog::level::warn;
}

std::shared_ptr<spdlog::logger> make_logger() {
  auto logger = spdlog::stderr_color_mt("autosched");
  logger->set_pattern("[%H:%M:%S.%e] [autosched] [%^%l%$] %v");
  LogLevel level = LogLevel::warn;
  if (const char* env = std::getenv("AUTOSCHED_LOG_LEVEL")) {
    try {
      level = from_property_string<LogLevel>("AUTOSCHED_LOG_LEVEL", env);
    } catch (const Error& e) {
      logger->warn("{} (keeping level warn)", e.what());
    }
  }
  logger->set_level(to_spdlog(level));
  return logger;
}
}  // namespace

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = make_logger();
  return *logger;
}

void set_log_level(LogLevel level) { log().set_level(to_spdlog(level)); }

void apply_log_level(const Properties& props) {
  auto it = props.find("log_level");
  if (it != props.end()) set_log_level(from_property_string<LogLevel>("log_level", it->second));
}

}  // namespace autosched
