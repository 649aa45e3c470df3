#pragma once
// `--plot out.svg`: an SVG written directly (no plotting dependency) with two
// panels — throughput over time per device (with the AUTO hand-over marked)
// and the application latency histogram (median and p99 marked).
#include <string>

#include "tools/bench_result.hpp"

namespace autosched::tools {

// The SVG document text.
std::string render_svg_plot(const BenchResult& result);
// Writes render_svg_plot(result) to `path`; throws Error(io) naming the path.
void write_svg_plot(const BenchResult& result, const std::string& path);

}  // namespace autosched::tools
