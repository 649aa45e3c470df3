#include "tool_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace autosched::tools_test {

ProcessResult run_tool(const std::string& binary, const std::vector<std::string>& args) {
  // stdout / stderr go to files (not pipes) so a chatty child never blocks on a full pipe.
  const std::string dir = make_temp_dir();
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  rmdir(dir.c_str());
  return r;
}

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/autosched_tools_test_XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string check_report(const nlohmann::json& r) {
  using J = nlohmann::json;
  enum Kind { S, N, I, O, A, B };
  const std::vector<std::pair<std::string, Kind>> keys = {
      {"/schema", S}, {"/tool/name", S}, {"/tool/version", S}, {"/timestamp", S}, {"/command_line", S},
      {"/hardware/cpu/model", S}, {"/hardware/cpu/logical_cpus", I}, {"/hardware/cpu/isa", A},
      {"/hardware/devices", A}, {"/hardware/opencl_devices", A}, {"/hardware/libraries/autosched", S},
      {"/config/model", S}, {"/config/model_name", S}, {"/config/model_gflops", N}, {"/config/inputs", A},
      {"/config/device", S}, {"/config/hint", S}, {"/config/api", S}, {"/config/nireq", I}, {"/config/niter", I},
      {"/config/time_s", N}, {"/config/properties", O}, {"/effective/execution_devices", A},
      {"/effective/optimal_nireq", I}, {"/effective/properties", O}, {"/timings_ms/read_model", N},
      {"/timings_ms/compile_model", N}, {"/timings_ms/first_inference", N}, {"/results/count", I},
      {"/results/duration_ms", N}, {"/results/throughput_fps", N}, {"/results/latency_ms/median", N},
      {"/results/latency_ms/avg", N}, {"/results/latency_ms/min", N}, {"/results/latency_ms/max", N},
      {"/results/latency_ms/p90", N}, {"/results/latency_ms/p99", N}, {"/per_device", A},
      {"/per_device_source", S}, {"/device_events", A}, {"/timeline/bucket_s", N}, {"/timeline/throughput_fps", O},
      {"/latency_histogram/edges_ms", A}, {"/latency_histogram/counts", A}};
  for (const auto& [path, kind] : keys) {
    const J::json_pointer p(path);
    if (!r.contains(p)) return path + " is missing";
    const auto& v = r.at(p);
    const bool ok = kind == S   ? v.is_string()
                    : kind == N ? v.is_number()
                    : kind == I ? v.is_number_integer()
                    : kind == O ? v.is_object()
                    : kind == A ? v.is_array()
                                : v.is_boolean();
    if (!ok) return path + " has type " + v.type_name();
  }
  if (r["schema"] != "autosched-bench/1") return "schema is " + r["schema"].dump();
  if (!r.contains("hand_over") || !(r["hand_over"].is_null() || r["hand_over"].is_object()))
    return "/hand_over must be null or an object";
  double share = 0;
  for (const auto& d : r["per_device"]) {
    if (!d.contains("device") || !d["device"].is_string()) return "/per_device entry without a string device";
    if (!d.contains("count") || !d["count"].is_number_integer()) return "/per_device entry without an integer count";
    if (!d.contains("share") || !d["share"].is_number()) return "/per_device entry without a number share";
    if (!d.contains("latency_ms") || !d["latency_ms"].contains("median")) return "/per_device entry without latency";
    share += d["share"].get<double>();
  }
  if (r["results"]["count"].get<long>() > 0 && (share < 0.999 || share > 1.001))
    return "/per_device shares sum to " + std::to_string(share);
  const auto& h = r["latency_histogram"];
  if (!h["counts"].empty() && h["edges_ms"].size() != h["counts"].size() + 1)
    return "/latency_histogram: edges must be one more than counts";
  return "";
}

std::string check_xml(const std::string& text) {
  std::vector<std::string> stack;
  bool root_seen = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '&') {
      const auto semi = text.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : text.substr(i, semi - i + 1);
      if (entity != "&lt;" && entity != "&gt;" && entity != "&amp;" && entity != "&quot;" && entity != "&apos;")
        return "unescaped '&' at offset " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (c != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(c)))
        return "text outside the root element at offset " + std::to_string(i);
      ++i;
      continue;
    }
    if (text.compare(i, 4, "<!--") == 0) {
      const auto end = text.find("-->", i);
      if (end == std::string::npos) return "unterminated comment";
      i = end + 3;
      continue;
    }
    if (text.compare(i, 2, "<?") == 0) {
      const auto end = text.find("?>", i);
      if (end == std::string::npos) return "unterminated processing instruction";
      i = end + 2;
      continue;
    }
    // A tag: find its end outside quoted attribute values.
    std::size_t j = i + 1;
    char quote = 0;
    for (; j < text.size(); ++j) {
      if (quote) {
        if (text[j] == quote) quote = 0;
        else if (text[j] == '<') return "'<' inside an attribute value at offset " + std::to_string(j);
      } else if (text[j] == '"' || text[j] == '\'') {
        quote = text[j];
      } else if (text[j] == '>') {
        break;
      } else if (text[j] == '<') {
        return "'<' inside a tag at offset " + std::to_string(j);
      }
    }
    if (j >= text.size()) return "unterminated tag at offset " + std::to_string(i);
    std::string tag = text.substr(i + 1, j - i - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\n/"));
    if (name.empty()) return "a tag without a name at offset " + std::to_string(i);
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> does not close <" + (stack.empty() ? "" : stack.back()) + ">";
      stack.pop_back();
    } else {
      if (stack.empty() && root_seen) return "a second root element <" + name + ">";
      root_seen = true;
      if (!self_closing) stack.push_back(name);
    }
    i = j + 1;
  }
  if (!root_seen) return "no root element";
  if (!stack.empty()) return "<" + stack.back() + "> is never closed";
  return "";
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace autosched::tools_test
