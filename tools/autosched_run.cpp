// autosched-run: reads a model (ONNX file or builtin:<name>), compiles it on a
// device string (default AUTO) and runs N asynchronous inferences over
// nireq requests, printing latency and throughput. The small predecessor of
// autosched-bench.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <random>

#include <CLI/CLI.hpp>

#include "autosched/autosched.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Fills an input with fixed-seed values in [-1, 1] (or small ints).
void fill_input(autosched::Tensor& t, std::mt19937& rng) {
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  switch (t.element_type()) {
    case autosched::ElementType::f32:
      for (std::size_t i = 0; i < t.size(); ++i) t.data<float>()[i] = uni(rng);
      break;
    case autosched::ElementType::i64:
      for (std::size_t i = 0; i < t.size(); ++i) t.data<std::int64_t>()[i] = std::int64_t(rng() % 2);
      break;
    case autosched::ElementType::i32:
      for (std::size_t i = 0; i < t.size(); ++i) t.data<std::int32_t>()[i] = std::int32_t(rng() % 2);
      break;
    default: break;  // zero-filled
  }
}

// Gives every dynamic dimension length 1 so the model can run.
autosched::Shape concrete_shape(const autosched::PartialShape& p) {
  autosched::Shape s;
  for (const auto& d : p.dims()) s.push_back(d.is_static() ? d.length : 1);
  return s;
}

int run(const std::string& model_path, const std::string& device, const std::string& hint, int niter,
        int nireq_option) {
  autosched::Core core;
  auto t0 = Clock::now();
  auto model = core.read_model(model_path);
  const double read_ms = ms_since(t0);
  std::printf("[read] %s: %zu inputs, %zu outputs, %.3f GFLOP, read in %.1f ms\n", model_path.c_str(),
              model.inputs().size(), model.outputs().size(), model.flops() / 1e9, read_ms);

  autosched::Properties props;
  if (!hint.empty())
    props.insert(autosched::hint::performance_mode(
        autosched::from_property_string<autosched::PerformanceMode>("-hint", hint)));
  t0 = Clock::now();
  auto compiled = core.compile_model(model, device, props);
  const double compile_ms = ms_since(t0);
  const auto optimal = compiled.get_property(autosched::optimal_number_of_infer_requests);
  const int nireq = nireq_option > 0 ? nireq_option : int(std::max<std::int64_t>(1, optimal));
  std::printf("[compile] %s in %.1f ms; execution devices: %s; optimal requests: %lld; using %d\n", device.c_str(),
              compile_ms, compiled.get_property("execution_devices").c_str(), static_cast<long long>(optimal),
              nireq);

  std::mt19937 rng(42);
  std::vector<autosched::InferRequest> requests;
  for (int i = 0; i < nireq; ++i) {
    requests.push_back(compiled.create_infer_request());
    for (std::size_t k = 0; k < compiled.inputs().size(); ++k) {
      auto tensor = requests.back().get_input_tensor(k);
      if (!compiled.inputs()[k].shape.is_static()) tensor.set_shape(concrete_shape(compiled.inputs()[k].shape));
      fill_input(tensor, rng);
    }
  }

  t0 = Clock::now();
  requests[0].infer();
  std::printf("[first inference] %.2f ms\n", ms_since(t0));

  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<double> latencies;
  latencies.reserve(std::size_t(niter));
  std::exception_ptr first_error;
  int started = 0, finished = 0;
  std::vector<Clock::time_point> start_times(requests.size());

  // Each callback records its latency and restarts its request until niter have been started.
  std::function<void(std::size_t)> launch = [&](std::size_t i) {
    start_times[i] = Clock::now();
    requests[i].start_async();
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].set_callback([&, i](std::exception_ptr error) {
      const double latency = ms_since(start_times[i]);
      std::unique_lock lock(mutex);
      ++finished;
      if (error && !first_error) first_error = error;
      latencies.push_back(latency);
      if (started < niter && !first_error) {
        ++started;
        lock.unlock();
        launch(i);
        return;
      }
      if (finished == started) all_done.notify_all();
    });
  }
  const auto run_start = Clock::now();
  {
    std::unique_lock lock(mutex);
    for (std::size_t i = 0; i < requests.size() && started < niter; ++i) {
      ++started;
      lock.unlock();
      launch(i);
      lock.lock();
    }
    all_done.wait(lock, [&] { return finished == started; });
  }
  const double total_ms = ms_since(run_start);
  for (auto& r : requests) r.wait();
  if (first_error) std::rethrow_exception(first_error);

  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) { return latencies[std::min(latencies.size() - 1, std::size_t(p * latencies.size()))]; };
  const double avg = std::accumulate(latencies.begin(), latencies.end(), 0.0) / double(latencies.size());
  std::printf("[run] %zu inferences in %.1f ms on %d requests\n", latencies.size(), total_ms, nireq);
  std::printf("[latency ms] median %.2f  avg %.2f  min %.2f  max %.2f  p90 %.2f\n", pct(0.5), avg, latencies.front(),
              latencies.back(), pct(0.9));
  std::printf("[throughput] %.2f inferences/s\n", double(latencies.size()) * 1000.0 / total_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"autosched-run: compile a model on a device and run asynchronous inferences"};
  std::string model_path = "builtin:mlp", device = "AUTO", hint;
  int niter = 100, nireq = 0;
  std::vector<std::string> export_args;
  app.add_option("-m,--model", model_path, "ONNX file or builtin:<name> (" + [] {
    std::string s;
    for (const auto& n : autosched::Core::builtin_models()) s += (s.empty() ? "" : ", ") + n;
    return s;
  }() + ")");
  app.add_option("-d,--device", device, "device string, e.g. AUTO, REF, AUTO:REF");
  app.add_option("-n,--niter", niter, "number of inferences")->check(CLI::PositiveNumber);
  app.add_option("--nireq", nireq, "requests in flight (default: the compiled model's optimal number)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--hint", hint, "performance hint: latency | throughput | cumulative_throughput");
  app.add_option("--export", export_args, "write a model as ONNX: --export builtin:<name> file.onnx")
      ->expected(2);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!export_args.empty()) {
      autosched::Core core;
      core.read_model(export_args[0]).save(export_args[1]);
      std::printf("wrote %s as %s\n", export_args[0].c_str(), export_args[1].c_str());
      return 0;
    }
    return run(model_path, device, hint, niter, nireq);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autosched-run: %s\n", e.what());
    return 1;
  }
}
