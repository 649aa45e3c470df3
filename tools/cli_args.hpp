#pragma once
// Single-dash long flags for the command-line tools. CLI11 (2.1) accepts
// `-x` only as a one-letter short option (`-nireq` would be read as the
// cluster -n -i -r -e -q), while the benchmark apps users know spell long
// flags with one dash. Before CLI11 parses, every argument `-name` or
// `-name=value` whose `name` is one of the tool's long option names becomes
// `--name` / `--name=value`; everything else (short options, values such as
// negative numbers, unknown flags) passes unchanged, so CLI11 still reports
// an unknown flag by its own spelling.
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace autosched::tools {

// The rewritten argument list (argv[0] first). Stops rewriting after "--".
std::vector<std::string> normalize_single_dash_flags(int argc, const char* const* argv,
                                                     const std::set<std::string>& long_names);

// Long option names of a CLI11 app (without dashes), subcommands excluded.
template <class App> std::set<std::string> long_option_names(const App& app) {
  std::set<std::string> names;
  for (const auto* option : app.get_options())
    for (const auto& name : option->get_lnames()) names.insert(name);
  return names;
}

// CLI11 checks with a short message ("'0' is not a number > 0"), unlike
// CLI::PositiveNumber which prints the whole double range.
CLI::Validator number_above(double minimum);
CLI::Validator number_at_least(double minimum);

}  // namespace autosched::tools
