// autosched-query: what this machine offers autosched.
//   (default)          every device with its class, capabilities and properties
//   --list             device names only, one per line (for scripts and tests)
//   --topology         the CPU topology (this machine, --synthetic "<hwloc
//                      synthetic>" or --xml file) and the stream plan of each hint on it
//   --models           the builtin models with their inputs and GFLOP
//   --export builtin:<name> file.onnx   writes a builtin model as ONNX
// Flags accept one or two dashes (see tools/cli_args.hpp).
#include <cstdio>
#include <optional>

#include <CLI/CLI.hpp>

#include "autosched/autosched.hpp"
#include "topology/stream_planner.hpp"
#include "topology/topology.hpp"
#include "tools/cli_args.hpp"

namespace {

using namespace autosched;

struct Options {
  bool list = false, topology = false, models = false, hyper_threading = false;
  std::string device, synthetic, xml;
  std::vector<std::string> export_args;
  int nireq = 0;
  std::optional<int> nstreams, nthreads;
  double gflops = 0;
};

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void print_device(const Core& core, const std::string& name) {
  std::printf("%s\n", name.c_str());
  std::vector<std::string> props;
  try {
    props = core.get_property(name, supported_properties);
  } catch (const Error& e) {
    std::printf("  (properties unavailable: %s)\n", one_line(e.what()).c_str());
    return;
  }
  for (const auto& p : props) {
    if (p == "supported_properties") continue;
    std::string value;
    try {
      value = core.get_property(name, p);
    } catch (const Error& e) {
      value = std::string("<") + one_line(e.what()) + ">";
    }
    std::printf("  %-26s %s\n", p.c_str(), value.c_str());
  }
}

int query_devices(const Options& o) {
  Core core;
  const auto devices = core.get_available_devices();
  if (!o.device.empty()) {
    if (std::find(devices.begin(), devices.end(), o.device) == devices.end()) {
      std::string valid;
      for (const auto& d : devices) valid += (valid.empty() ? "" : ", ") + d;
      throw Error(ErrorCode::not_found, "device '" + o.device + "' is not present; available: " + valid);
    }
    print_device(core, o.device);
    return 0;
  }
  if (o.list) {
    for (const auto& d : devices) std::printf("%s\n", d.c_str());
    return 0;
  }
  std::printf("autosched %s: %zu devices\n", version_string(), devices.size());
  for (const auto& d : devices) print_device(core, d);
  return 0;
}

int query_topology(const Options& o) {
  if (!o.synthetic.empty() && !o.xml.empty())
    throw Error(ErrorCode::invalid_argument, "--synthetic and --xml are alternatives; give one");
  const topology::Topology topo = !o.synthetic.empty() ? topology::from_synthetic(o.synthetic)
                                  : !o.xml.empty()     ? topology::from_xml(o.xml)
                                                       : topology::machine();
  std::printf("Topology (%s)\n%s\n", topo.source.c_str(), topo.to_string().c_str());
  std::printf("Stream plans (num_requests %d%s%s, model %.3g GFLOP%s)\n", o.nireq,
              o.nstreams ? (", num_streams " + std::to_string(*o.nstreams)).c_str() : "",
              o.nthreads ? (", inference_num_threads " + std::to_string(*o.nthreads)).c_str() : "", o.gflops,
              o.hyper_threading ? ", hyper-threading" : "");
  for (auto mode : {PerformanceMode::LATENCY, PerformanceMode::THROUGHPUT, PerformanceMode::CUMULATIVE_THROUGHPUT}) {
    topology::PlanRequest request;
    request.mode = mode;
    request.num_requests = o.nireq;
    request.num_streams = o.nstreams;
    request.inference_num_threads = o.nthreads;
    request.enable_hyper_threading = o.hyper_threading;
    request.model_gflops = o.gflops;
    std::printf("  %-22s ", to_property_string(mode).c_str());
    try {
      std::printf("%s\n", topology::plan_streams(topo, request).to_string().c_str());
    } catch (const Error& e) {
      std::printf("no plan: %s\n", one_line(e.what()).c_str());
    }
  }
  return 0;
}

int query_models() {
  Core core;
  for (const auto& name : Core::builtin_models()) {
    const auto model = core.read_model("builtin:" + name);
    std::string inputs;
    for (const auto& p : model.inputs())
      inputs += (inputs.empty() ? "" : ", ") + p.name + " " + to_property_string(p.element_type) + " " +
                p.shape.to_string();
    std::printf("builtin:%-12s %8.3f GFLOP  inputs: %s\n", name.c_str(), model.flops() / 1e9, inputs.c_str());
  }
  return 0;
}

int export_model(const Options& o) {
  Core core;
  core.read_model(o.export_args[0]).save(o.export_args[1]);
  std::printf("wrote %s as %s\n", o.export_args[0].c_str(), o.export_args[1].c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"autosched-query: devices, topology and stream plans, builtin models"};
  Options o;
  app.add_flag("--list", o.list, "device names only, one per line");
  app.add_option("-d,--device", o.device, "show one device");
  app.add_flag("--topology", o.topology, "print the topology and the stream plan of each hint");
  app.add_option("--synthetic", o.synthetic, "plan for an hwloc synthetic topology, e.g. \"package:2 core:8 pu:2\"");
  app.add_option("--xml", o.xml, "plan for an hwloc XML topology file")->check(CLI::ExistingFile);
  app.add_option("--nireq", o.nireq, "num_requests for the stream plans")->check(autosched::tools::number_at_least(0));
  app.add_option("--nstreams", o.nstreams, "num_streams override for the stream plans")->check(autosched::tools::number_above(0));
  app.add_option("--nthreads", o.nthreads, "inference_num_threads override for the stream plans")
      ->check(autosched::tools::number_above(0));
  app.add_option("--gflops", o.gflops, "model size for the stream plans")->check(autosched::tools::number_at_least(0));
  app.add_flag("--ht", o.hyper_threading, "plan with hyper-threading (enable_hyper_threading)");
  app.add_flag("--models", o.models, "list the builtin models");
  app.add_option("--export", o.export_args, "write a model as ONNX: --export builtin:<name> file.onnx")->expected(2);
  app.footer("Every long flag also takes one dash: -topology == --topology.");
  const auto args = autosched::tools::normalize_single_dash_flags(argc, argv, autosched::tools::long_option_names(app));
  std::vector<const char*> pointers;
  for (const auto& a : args) pointers.push_back(a.c_str());
  try {
    app.parse(int(pointers.size()), pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "autosched-query: %s (see --help)\n", one_line(e.what()).c_str());
    return 2;
  }
  try {
    if (!o.export_args.empty()) return export_model(o);
    if (o.models) return query_models();
    if (o.topology || !o.synthetic.empty() || !o.xml.empty()) return query_topology(o);
    return query_devices(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autosched-query: error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
}
