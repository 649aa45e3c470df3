// OCL device compile and run costs, side by side with the CPU device (REF when
// CPU is absent). Not a test: it prints a table and never fails on a number.
//
// For every builtin model, each row is measured in a fresh child process:
//   OCL cold        POCL_CACHE_DIR and cache_dir both empty (first run on a machine)
//   OCL warm        both filled by the cold run (a second run of the application)
//   OCL own-cache   cache_dir filled, PoCL's kernel cache empty (what the
//                   program-binary cache alone buys; CLBlast recompiles)
//   CPU             the CPU device (its compile has no cache)
// Columns: compile (LATENCY compile_model), first inference, latency median /
// p99 over sequential inferences, throughput of a THROUGHPUT compile with
// optimal_number_of_infer_requests requests in flight.
//
// Usage: ocl_compile [--seconds S] [model ...]     (default: all builtins, S = 5)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "autosched/autosched.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Child: one (model, device) measurement; prints "RESULT compile first p50 p99 fps cache".
int child(const std::string& model_name, const std::string& device, const std::string& cache, double seconds) {
  autosched::Core core;
  const auto model = core.read_model("builtin:" + model_name);
  autosched::Properties props;
  if (!cache.empty()) props["cache_dir"] = cache;
  auto t0 = Clock::now();
  auto compiled = core.compile_model(model, device, props);
  auto t1 = Clock::now();
  auto request = compiled.create_infer_request();
  auto input = request.get_input_tensor();
  for (std::size_t i = 0; i < input.size(); ++i) input.data<float>()[i] = float(i % 17) / 17.0f - 0.5f;
  request.infer();
  auto t2 = Clock::now();
  std::vector<double> latencies;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline || latencies.size() < 3) {
    const auto s = Clock::now();
    request.infer();
    latencies.push_back(ms(s, Clock::now()));
  }
  std::sort(latencies.begin(), latencies.end());
  const double p50 = latencies[latencies.size() / 2];
  const double p99 = latencies[std::min(latencies.size() - 1, std::size_t(double(latencies.size()) * 0.99))];

  props["performance_mode"] = "THROUGHPUT";
  auto tput = core.compile_model(model, device, props);
  const auto n = std::size_t(tput.get_property(autosched::optimal_number_of_infer_requests));
  std::vector<autosched::InferRequest> requests;
  for (std::size_t i = 0; i < n; ++i) requests.push_back(tput.create_infer_request());
  for (auto& r : requests) r.infer();  // first runs out of the measurement
  std::size_t done = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  for (auto& r : requests) r.start_async();
  std::vector<bool> running(n, true);
  for (bool any = true; any;) {
    any = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!running[i]) continue;
      requests[i].wait();
      ++done;
      running[i] = Clock::now() < end;
      if (running[i]) requests[i].start_async();
      any |= running[i];
    }
  }
  const double fps = double(done) / (ms(start, Clock::now()) / 1000.0);
  std::string outcome = "-";
  try {
    outcome = compiled.get_property("ocl_program_cache");
  } catch (const autosched::Error&) {
  }
  std::printf("RESULT %.1f %.1f %.2f %.2f %.2f %s\n", ms(t0, t1), ms(t1, t2), p50, p99, fps, outcome.c_str());
  return 0;
}

struct Row {
  double compile = -1, first = -1, p50 = -1, p99 = -1, fps = -1;
  std::string cache;
};

Row run_child(const std::string& self, const std::string& model, const std::string& device, const std::string& cache,
              const std::string& pocl_cache, double seconds) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    if (!pocl_cache.empty()) ::setenv("POCL_CACHE_DIR", pocl_cache.c_str(), 1);
    const std::string secs = std::to_string(seconds);
    ::execl(self.c_str(), self.c_str(), "--child", model.c_str(), device.c_str(), cache.empty() ? "-" : cache.c_str(),
            secs.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, std::size_t(r));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Row row;
  const auto pos = out.find("RESULT ");
  char cache_state[32] = {0};
  if (pos == std::string::npos || std::sscanf(out.c_str() + pos, "RESULT %lf %lf %lf %lf %lf %31s", &row.compile,
                                              &row.first, &row.p50, &row.p99, &row.fps, cache_state) != 6)
    std::cerr << "child " << model << " on " << device << " failed:\n" << out << "\n";
  row.cache = cache_state;
  return row;
}

void print(const std::string& model, const std::string& what, const Row& r) {
  std::printf("| %-11s | %-13s | %10.0f | %9.1f | %9.1f | %9.1f | %8.2f | %-8s |\n", model.c_str(), what.c_str(),
              r.compile, r.first, r.p50, r.p99, r.fps, r.cache.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "--child")
    return child(argv[2], argv[3], std::string(argv[4]) == "-" ? "" : argv[4], std::atof(argv[5]));
  double seconds = 5;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else models.emplace_back(argv[i]);
  }
  if (models.empty()) models = autosched::Core::builtin_models();
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string host = "REF";
  {
    autosched::Core core;
    const auto devices = core.get_available_devices();
    if (std::find(devices.begin(), devices.end(), "OCL.0") == devices.end()) {
      std::cerr << "no OCL.0 device\n";
      return 1;
    }
    if (std::find(devices.begin(), devices.end(), "CPU") != devices.end()) host = "CPU";
    std::printf("OCL.0 = %s; host comparison device: %s; %.0f s per latency / throughput measurement\n\n",
                core.get_property("OCL.0", "device_full_name").c_str(), host.c_str(), seconds);
  }
  std::printf("| model       | run           | compile ms | first ms  | p50 ms    | p99 ms    | infer/s  | cache    |\n");
  std::printf("|-------------|---------------|------------|-----------|-----------|-----------|----------|----------|\n");
  const fs::path root = fs::temp_directory_path() / ("autosched_ocl_bench_" + std::to_string(::getpid()));
  for (const auto& model : models) {
    const std::string cache = (root / (model + "_cache")).string();
    const std::string pocl = (root / (model + "_pocl")).string();
    const std::string pocl_empty = (root / (model + "_pocl_empty")).string();
    fs::create_directories(cache);
    fs::create_directories(pocl);
    fs::create_directories(pocl_empty);
    print(model, "OCL cold", run_child(self, model, "OCL.0", cache, pocl, seconds));
    print(model, "OCL warm", run_child(self, model, "OCL.0", cache, pocl, seconds));
    print(model, "OCL own-cache", run_child(self, model, "OCL.0", cache, pocl_empty, seconds));
    print(model, host, run_child(self, model, host, "", "", seconds));
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
