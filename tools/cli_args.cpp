#include "tools/cli_args.hpp"

#include <cstdio>
#include <exception>

namespace autosched::tools {

std::vector<std::string> normalize_single_dash_flags(int argc, const char* const* argv,
                                                     const std::set<std::string>& long_names) {
  std::vector<std::string> out;
  out.reserve(std::size_t(argc));
  bool rewriting = true;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i == 0 || !rewriting) {
      out.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") rewriting = false;
    if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') {
      const std::string name = arg.substr(1, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 1);
      if (name.size() > 1 && long_names.count(name)) arg = "-" + arg;
    }
    out.push_back(std::move(arg));
  }
  return out;
}

namespace {

CLI::Validator number_check(double minimum, bool inclusive) {
  char bound[32];
  std::snprintf(bound, sizeof bound, "%s %g", inclusive ? ">=" : ">", minimum);
  const std::string description = bound;
  return CLI::Validator(
      [minimum, inclusive, description](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double v = std::stod(text, &used);
          if (used == text.size() && (inclusive ? v >= minimum : v > minimum)) return "";
        } catch (const std::exception&) {
          // Not a number: the message below says what is valid.
        }
        return "'" + text + "' is not a number " + description;
      },
      "NUMBER " + description);
}

}  // namespace

CLI::Validator number_above(double minimum) { return number_check(minimum, false); }
CLI::Validator number_at_least(double minimum) { return number_check(minimum, true); }

}  // namespace autosched::tools
