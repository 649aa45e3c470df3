#include "tools/bench_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "autosched/error.hpp"

namespace autosched::tools {

namespace {

constexpr double kWidth = 900, kPanelHeight = 300, kLeft = 70, kRight = 170, kTop = 40, kBottom = 45;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                                   "#17becf"};

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

// A "nice" upper axis bound (1, 2 or 5 × 10^k) at or above v.
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (double step : {1.0, 2.0, 5.0, 10.0})
    if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}

// One panel's frame: axes, 5 ticks on each, labels. Maps data to pixels.
struct Panel {
  double x0, y0, w, h;  // pixel box of the plot area
  double xmin, xmax, ymax;
  double px(double x) const { return x0 + (x - xmin) / (xmax - xmin) * w; }
  double py(double y) const { return y0 + h - y / ymax * h; }

  void frame(std::ostringstream& svg, const std::string& title, const std::string& xlabel,
             const std::string& ylabel) const {
    svg << "<text x=\"" << x0 << "\" y=\"" << y0 - 12 << "\" font-size=\"15\" font-weight=\"bold\">"
        << escape_xml(title) << "</text>\n";
    svg << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << w << "\" height=\"" << h
        << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (int i = 0; i <= 5; ++i) {
      const double xv = xmin + (xmax - xmin) * i / 5, yv = ymax * i / 5;
      svg << "<line x1=\"" << px(xv) << "\" y1=\"" << y0 + h << "\" x2=\"" << px(xv) << "\" y2=\"" << y0 + h + 5
          << "\" stroke=\"#444\"/>\n";
      svg << "<text x=\"" << px(xv) << "\" y=\"" << y0 + h + 18 << "\" font-size=\"11\" text-anchor=\"middle\">"
          << number(xv) << "</text>\n";
      svg << "<line x1=\"" << x0 << "\" y1=\"" << py(yv) << "\" x2=\"" << x0 + w << "\" y2=\"" << py(yv)
          << "\" stroke=\"#ddd\"/>\n";
      svg << "<text x=\"" << x0 - 6 << "\" y=\"" << py(yv) + 4 << "\" font-size=\"11\" text-anchor=\"end\">"
          << number(yv) << "</text>\n";
    }
    svg << "<text x=\"" << x0 + w / 2 << "\" y=\"" << y0 + h + 36 << "\" font-size=\"12\" text-anchor=\"middle\">"
        << escape_xml(xlabel) << "</text>\n";
    svg << "<text transform=\"translate(" << x0 - 50 << "," << y0 + h / 2
        << ") rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">" << escape_xml(ylabel) << "</text>\n";
  }
  void vertical_marker(std::ostringstream& svg, double x, const std::string& label, const char* color) const {
    if (x < xmin || x > xmax) return;
    svg << "<line x1=\"" << px(x) << "\" y1=\"" << y0 << "\" x2=\"" << px(x) << "\" y2=\"" << y0 + h
        << "\" stroke=\"" << color << "\" stroke-dasharray=\"5,4\"/>\n";
    svg << "<text x=\"" << px(x) + 4 << "\" y=\"" << y0 + 14 << "\" font-size=\"11\" fill=\"" << color << "\">"
        << escape_xml(label) << "</text>\n";
  }
};

void throughput_panel(std::ostringstream& svg, const BenchResult& r, double top) {
  const auto timeline = make_timeline(r);
  double peak = 0;
  std::size_t buckets = 1;
  for (const auto& [device, series] : timeline.throughput) {
    buckets = std::max(buckets, series.size());
    for (double v : series) peak = std::max(peak, v);
  }
  const Panel p{kLeft, top, kWidth - kLeft - kRight, kPanelHeight - kBottom,
                0, std::max(timeline.bucket_s * double(buckets), 1e-3), nice_ceiling(peak * 1.05)};
  p.frame(svg, "Throughput over time per device", "time since the run started (s)", "inferences / s");
  std::size_t color = 0;
  for (const auto& [device, series] : timeline.throughput) {
    const char* stroke = kColors[color % std::size(kColors)];
    svg << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << stroke << "\" points=\"";
    for (std::size_t i = 0; i < series.size(); ++i)
      svg << p.px((double(i) + 0.5) * timeline.bucket_s) << "," << p.py(series[i]) << " ";
    svg << "\"/>\n";
    const double ly = top + 20 * double(color);
    svg << "<rect x=\"" << kWidth - kRight + 15 << "\" y=\"" << ly << "\" width=\"14\" height=\"4\" fill=\"" << stroke
        << "\"/>\n<text x=\"" << kWidth - kRight + 35 << "\" y=\"" << ly + 6 << "\" font-size=\"12\">"
        << escape_xml(device) << "</text>\n";
    ++color;
  }
  if (r.hand_over) p.vertical_marker(svg, r.hand_over->run_at_s, "hand-over to " + r.hand_over->to, "#555");
}

void histogram_panel(std::ostringstream& svg, const BenchResult& r, double top) {
  const auto h = make_histogram(r);
  std::size_t peak = 1;
  for (auto c : h.counts) peak = std::max(peak, c);
  const double lo = h.edges_ms.empty() ? 0 : h.edges_ms.front(), hi = h.edges_ms.empty() ? 1 : h.edges_ms.back();
  const Panel p{kLeft, top, kWidth - kLeft - kRight, kPanelHeight - kBottom, lo, hi, nice_ceiling(double(peak))};
  p.frame(svg, "Latency histogram (" + std::to_string(r.count) + " inferences)", "latency (ms)", "inferences");
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    if (!h.counts[i]) continue;
    const double x = p.px(h.edges_ms[i]), w = std::max(1.0, p.px(h.edges_ms[i + 1]) - x - 1);
    svg << "<rect x=\"" << x << "\" y=\"" << p.py(double(h.counts[i])) << "\" width=\"" << w << "\" height=\""
        << p.y0 + p.h - p.py(double(h.counts[i])) << "\" fill=\"#1f77b4\"/>\n";
  }
  p.vertical_marker(svg, r.latency.median, "median " + number(r.latency.median), "#2ca02c");
  p.vertical_marker(svg, r.latency.p99, "p99 " + number(r.latency.p99), "#d62728");
}

}  // namespace

std::string render_svg_plot(const BenchResult& r) {
  std::ostringstream svg;
  const double height = 2 * kPanelHeight + 2 * kTop;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << " " << height << "\" font-family=\"sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kLeft << "\" y=\"20\" font-size=\"13\">" << escape_xml(r.model + " on " + r.device) << " — "
      << number(r.throughput) << " inferences/s, median " << number(r.latency.median) << " ms</text>\n";
  throughput_panel(svg, r, kTop + 20);
  histogram_panel(svg, r, kTop + 20 + kPanelHeight + kTop / 2);
  svg << "</svg>\n";
  return svg.str();
}

void write_svg_plot(const BenchResult& result, const std::string& path) {
  std::ofstream out(path);
  if (out) out << render_svg_plot(result);
  if (!out) throw Error(ErrorCode::io, "cannot write '" + path + "'");
}

}  // namespace autosched::tools
