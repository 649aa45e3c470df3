#pragma once
// Runs the tool binaries as child processes for the tools tests and checks
// their outputs (report schema, SVG well-formedness) independently of the
// tools' own code, so a bug in the tool cannot hide in a shared checker.
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace autosched::tools_test {

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `binary` with `args` (each passed as one argument, no shell
// interpretation); stdout and stderr captured separately; never throws on a
// non-zero exit.
ProcessResult run_tool(const std::string& binary, const std::vector<std::string>& args);

// A fresh directory for one test's files (removed by the caller's fixture).
std::string make_temp_dir();
std::string read_text(const std::string& path);
// The non-empty lines of `text`.
std::vector<std::string> lines(const std::string& text);

// Empty when the report has every key autosched-bench promises (tools/
// bench_report.hpp, schema "autosched-bench/1") with the right JSON type;
// otherwise what is wrong.
std::string check_report(const nlohmann::json& report);

// Empty when `text` is well-formed XML as far as an SVG needs: one root
// element, balanced and properly nested tags, quoted attributes, no raw '<'
// or unescaped '&' in text; otherwise the first problem.
std::string check_xml(const std::string& text);

// A bad command line and a part of the one-line error it must give.
struct BadInput {
  std::vector<std::string> args;
  std::string message;
};
// Names the parameterised ctest cases by their arguments.
inline void PrintTo(const BadInput& input, std::ostream* os) {
  for (const auto& a : input.args) *os << a << ' ';
}

}  // namespace autosched::tools_test
