// Stream planner: plain arithmetic over Topology (no hwloc here). The rules
// are documented in stream_planner.hpp; this file only implements them.
#include "topology/stream_planner.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "autosched/error.hpp"
#include "core/logging.hpp"

namespace autosched::topology {

namespace {

// A group of cores a stream should not straddle: one NUMA node × one core kind.
// `units` are the cores (each with the PUs a thread may use: the first PU only
// when hyper-threading is off, every PU when it is on).
struct Domain {
  int efficiency = 0;
  int numa = 0;
  std::vector<std::vector<int>> units;
  int slots() const {
    int n = 0;
    for (const auto& u : units) n += int(u.size());
    return n;
  }
};

std::vector<Domain> make_domains(const Topology& topology, bool hyper_threading) {
  std::vector<Domain> domains;
  for (const Core& core : topology.cores) {
    if (core.pus.empty()) continue;
    auto it = std::find_if(domains.begin(), domains.end(), [&](const Domain& d) {
      return d.efficiency == core.efficiency_class && d.numa == core.numa_node;
    });
    if (it == domains.end()) {
      domains.push_back(Domain{core.efficiency_class, core.numa_node, {}});
      it = domains.end() - 1;
    }
    it->units.push_back(hyper_threading ? core.pus : std::vector<int>{core.pus.front()});
  }
  // Preference order: fastest core kind first, then NUMA node order.
  std::stable_sort(domains.begin(), domains.end(), [](const Domain& a, const Domain& b) {
    return a.efficiency != b.efficiency ? a.efficiency > b.efficiency : a.numa < b.numa;
  });
  return domains;
}

int total_slots(const std::vector<Domain>& domains) {
  int n = 0;
  for (const Domain& d : domains) n += d.slots();
  return n;
}

int total_cores(const std::vector<Domain>& domains) {
  int n = 0;
  for (const Domain& d : domains) n += int(d.units.size());
  return n;
}

// The domain LATENCY runs on: among the fastest core kind, the NUMA node with
// the most cores (the first one on a tie).
std::size_t latency_domain(const std::vector<Domain>& domains) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < domains.size() && domains[i].efficiency == domains[0].efficiency; ++i)
    if (domains[i].units.size() > domains[best].units.size()) best = i;
  return best;
}

StreamPlan::Stream make_stream(std::vector<int> pus) {
  StreamPlan::Stream s;
  s.threads = int(pus.size());
  s.pus = std::move(pus);
  return s;
}

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// "8 usable hardware threads (8 cores, hyper-threading off)" for error messages and reasons.
std::string capacity_text(const std::vector<Domain>& domains, bool hyper_threading) {
  return std::to_string(total_slots(domains)) + " usable hardware threads (" + plural(total_cores(domains), "core") +
         ", hyper-threading " + (hyper_threading ? "on" : "off") + ")";
}

// Streams of exactly `threads` PUs each, `count` of them. Each stream goes to
// the fastest-kind domain with the most free PUs that can hold it whole (so
// streams spread over sockets); only when none can, a stream spans domains.
std::vector<StreamPlan::Stream> place_fixed(const std::vector<Domain>& domains, int count, int threads,
                                            bool* spans) {
  std::vector<std::vector<int>> free;  // per domain, PUs in core order
  for (const Domain& d : domains) {
    free.emplace_back();
    for (const auto& u : d.units) free.back().insert(free.back().end(), u.begin(), u.end());
  }
  std::vector<StreamPlan::Stream> streams;
  for (int s = 0; s < count; ++s) {
    std::size_t best = domains.size();
    for (std::size_t i = 0; i < domains.size(); ++i) {
      if (int(free[i].size()) < threads) continue;
      if (best == domains.size()) {
        best = i;
      } else if (domains[i].efficiency == domains[best].efficiency && free[i].size() > free[best].size()) {
        best = i;
      }
    }
    std::vector<int> pus;
    if (best != domains.size()) {
      pus.assign(free[best].begin(), free[best].begin() + threads);
      free[best].erase(free[best].begin(), free[best].begin() + threads);
    } else {
      *spans = true;
      for (std::size_t i = 0; i < free.size() && int(pus.size()) < threads; ++i) {
        const std::size_t take = std::min(free[i].size(), std::size_t(threads) - pus.size());
        pus.insert(pus.end(), free[i].begin(), free[i].begin() + std::ptrdiff_t(take));
        free[i].erase(free[i].begin(), free[i].begin() + std::ptrdiff_t(take));
      }
    }
    streams.push_back(make_stream(std::move(pus)));
  }
  return streams;
}

// `count` streams over whole units (cores, or single PUs when there are more
// streams than cores). One stream → the latency domain. More → each next
// stream goes to the domain that would give it the most units (ties: faster
// kind, lower NUMA node); inside a domain its units are split as evenly as
// possible and none is left idle.
std::vector<StreamPlan::Stream> place_count(std::vector<Domain> domains, int count) {
  if (count > total_cores(domains)) {  // more streams than cores: split into single PUs
    for (Domain& d : domains) {
      std::vector<std::vector<int>> pus;
      for (const auto& u : d.units)
        for (int pu : u) pus.push_back({pu});
      d.units = std::move(pus);
    }
  }
  std::vector<int> per_domain(domains.size(), 0);
  if (count == 1) {
    per_domain[latency_domain(domains)] = 1;
  } else {
    for (int s = 0; s < count; ++s) {
      std::size_t best = domains.size();
      double best_share = 0;
      for (std::size_t i = 0; i < domains.size(); ++i) {
        if (per_domain[i] + 1 > int(domains[i].units.size())) continue;
        const double share = double(domains[i].units.size()) / (per_domain[i] + 1);
        if (share > best_share) best = i, best_share = share;
      }
      ++per_domain[best];
    }
  }
  std::vector<StreamPlan::Stream> streams;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const int n = per_domain[i];
    const int units = int(domains[i].units.size());
    int next = 0;
    for (int s = 0; s < n; ++s) {
      const int take = units / n + (s < units % n ? 1 : 0);
      std::vector<int> pus;
      for (int u = next; u < next + take; ++u)
        pus.insert(pus.end(), domains[i].units[std::size_t(u)].begin(), domains[i].units[std::size_t(u)].end());
      next += take;
      streams.push_back(make_stream(std::move(pus)));
    }
  }
  return streams;
}

// Keeps the first `slots` usable PUs in preference order (used for an
// inference_num_threads budget without a stream count).
std::vector<Domain> truncate(std::vector<Domain> domains, int slots) {
  std::vector<Domain> out;
  for (Domain& d : domains) {
    if (slots <= 0) break;
    Domain kept{d.efficiency, d.numa, {}};
    for (auto& u : d.units) {
      if (slots <= 0) break;
      if (int(u.size()) > slots) u.resize(std::size_t(slots));
      slots -= int(u.size());
      kept.units.push_back(std::move(u));
    }
    out.push_back(std::move(kept));
  }
  return out;
}

// Default cores per stream for THROUGHPUT: small machines and small models
// want one core per stream (no intra-op sync); big models on big machines
// amortise synchronisation over 2–4 cores and keep fewer activation copies.
int target_cores_per_stream(int cores, double gflops) {
  if (cores <= 8) return 1;
  if (gflops >= 10) return cores >= 32 ? 4 : 2;
  if (gflops >= 1) return 2;
  return 1;
}

std::string mode_name(PerformanceMode mode) { return to_property_string(mode); }

void require_positive(const std::optional<int>& value, const char* name) {
  if (value && *value < 1)
    throw Error(ErrorCode::invalid_argument, std::string(name) + "=" + std::to_string(*value) +
                                                 " is invalid: it must be at least 1 (omit it to let the hint decide)");
}

}  // namespace

int StreamPlan::total_threads() const {
  int n = 0;
  for (const Stream& s : streams) n += s.threads;
  return n;
}

std::string StreamPlan::to_string() const {
  std::ostringstream out;
  out << plural(int(streams.size()), "stream") << " x ";
  const bool uniform = std::all_of(streams.begin(), streams.end(),
                                   [&](const Stream& s) { return s.threads == streams.front().threads; });
  if (streams.empty() || uniform) {
    out << plural(streams.empty() ? 0 : streams.front().threads, "thread");
  } else {
    out << '(';
    for (std::size_t i = 0; i < streams.size(); ++i) out << (i ? "," : "") << streams[i].threads;
    out << ") threads";
  }
  out << ':';
  for (const Stream& s : streams) {
    out << " [";
    for (std::size_t i = 0; i < s.pus.size();) {  // consecutive runs as "a-b"
      std::size_t j = i;
      while (j + 1 < s.pus.size() && s.pus[j + 1] == s.pus[j] + 1) ++j;
      out << (i ? "," : "") << s.pus[i];
      if (j > i) out << '-' << s.pus[j];
      i = j + 1;
    }
    out << ']';
  }
  out << (pinned ? " (pinned)" : " (not pinned)") << " \u2014 " << reason;
  return out.str();
}

StreamPlan plan_streams(const Topology& topology, const PlanRequest& request) {
  require_positive(request.num_streams, "num_streams");
  require_positive(request.threads_per_stream, "threads_per_stream");
  require_positive(request.inference_num_threads, "inference_num_threads");
  if (request.num_requests < 0)
    throw Error(ErrorCode::invalid_argument, "num_requests=" + std::to_string(request.num_requests) +
                                                 " is invalid: it must be 0 (no cap) or a positive count");

  const bool ht = request.enable_hyper_threading;
  const std::vector<Domain> domains = make_domains(topology, ht);
  if (domains.empty()) throw Error(ErrorCode::invalid_argument, "topology '" + topology.source + "' has no cores");
  const int slots = total_slots(domains);
  const std::string capacity = capacity_text(domains, ht);

  // Resolve the overrides into an optional stream count and threads per stream.
  std::optional<int> count = request.num_streams;
  std::optional<int> threads = request.threads_per_stream;
  const std::optional<int> budget = request.inference_num_threads;
  if (budget) {
    if (*budget > slots)
      throw Error(ErrorCode::invalid_argument, "inference_num_threads=" + std::to_string(*budget) + " exceeds the " +
                                                   capacity + "; valid: 1.." + std::to_string(slots));
    if (count && threads && *count * *threads != *budget)
      throw Error(ErrorCode::invalid_argument,
                  "num_streams=" + std::to_string(*count) + " x threads_per_stream=" + std::to_string(*threads) +
                      " contradicts inference_num_threads=" + std::to_string(*budget) +
                      " (the total must equal streams x threads per stream)");
    if (count && !threads) {
      if (*budget < *count)
        throw Error(ErrorCode::invalid_argument,
                    "inference_num_threads=" + std::to_string(*budget) + " is fewer than num_streams=" +
                        std::to_string(*count) + ": every stream needs at least one thread");
      threads = *budget / *count;
    } else if (threads && !count) {
      if (*threads > *budget)
        throw Error(ErrorCode::invalid_argument,
                    "threads_per_stream=" + std::to_string(*threads) + " exceeds inference_num_threads=" +
                        std::to_string(*budget) + " (the total over all streams)");
      count = *budget / *threads;
    }
  }
  if (count && *count > slots)
    throw Error(ErrorCode::invalid_argument, "num_streams=" + std::to_string(*count) + " exceeds the " + capacity +
                                                 "; valid: 1.." + std::to_string(slots));
  if (threads && *threads > slots)
    throw Error(ErrorCode::invalid_argument, "threads_per_stream=" + std::to_string(*threads) + " exceeds the " +
                                                 capacity + "; valid: 1.." + std::to_string(slots));
  if (count && threads && *count * *threads > slots)
    throw Error(ErrorCode::invalid_argument,
                "num_streams=" + std::to_string(*count) + " x threads_per_stream=" + std::to_string(*threads) + " = " +
                    std::to_string(*count * *threads) + " threads exceed the " + capacity +
                    " (streams are never oversubscribed)");

  StreamPlan plan;
  plan.pinned = request.enable_cpu_pinning;
  const std::string mode = mode_name(request.mode);
  const bool latency = request.mode == PerformanceMode::LATENCY;
  std::string why;
  bool spans = false;

  if (count && threads) {
    plan.streams = place_fixed(domains, *count, *threads, &spans);
    why = mode + ": " + std::to_string(*count) + " x " + std::to_string(*threads) + " threads as requested";
  } else if (latency && (!count || *count == 1)) {
    // One stream: the latency domain first, then the rest of the machine in
    // preference order when a thread override asks for more than it holds.
    std::vector<Domain> ordered = domains;
    std::rotate(ordered.begin(), ordered.begin() + std::ptrdiff_t(latency_domain(domains)),
                ordered.begin() + std::ptrdiff_t(latency_domain(domains)) + 1);
    const Domain& first = ordered.front();
    const int want = threads ? *threads : budget ? *budget : first.slots();
    std::vector<int> pus;
    for (const Domain& d : ordered)
      for (const auto& u : d.units)
        for (int pu : u)
          if (int(pus.size()) < want) pus.push_back(pu);
    plan.streams.push_back(make_stream(std::move(pus)));
    const std::string kind = topology.hybrid() ? "P-core" : "core";
    if (threads || budget)
      why = mode + ": one stream of " + plural(want, "thread") + " as requested, starting on NUMA node " +
            std::to_string(first.numa);
    else
      why = mode + ": one stream over the " + plural(int(first.units.size()), kind.c_str()) + " of NUMA node " +
            std::to_string(first.numa) + (ht ? " with their SMT siblings" : ", one thread per core");
  } else if (count) {
    plan.streams = place_count(domains, *count);
    why = mode + ": " + plural(*count, "stream") + " as requested (num_streams), cores split evenly";
  } else if (threads) {
    int fit = 0;
    for (const Domain& d : domains) fit += d.slots() / *threads;
    if (fit == 0) fit = slots / *threads;
    int n = fit;
    if (request.num_requests > 0) n = std::min(n, request.num_requests);
    plan.streams = place_fixed(domains, n, *threads, &spans);
    why = mode + ": " + std::to_string(*threads) + " threads per stream as requested, " + plural(n, "stream") +
          (n < fit ? " (capped by num_requests=" + std::to_string(request.num_requests) + ")" : "");
  } else {
    // THROUGHPUT / CUMULATIVE_THROUGHPUT defaults (also LATENCY with num_streams > 1 handled above).
    const std::vector<Domain> pool = budget ? truncate(domains, *budget) : domains;
    const int cores = total_cores(pool);
    const int target = target_cores_per_stream(cores, request.model_gflops);
    int natural = 0;
    std::vector<int> per_stream;
    for (const Domain& d : pool) {
      int cps = std::min<int>(target, int(d.units.size()));
      while (int(d.units.size()) % cps != 0) --cps;  // streams divide the domain's cores evenly
      per_stream.push_back(cps);
      natural += int(d.units.size()) / cps;
    }
    if (request.num_requests > 0 && natural > request.num_requests) {
      plan.streams = place_count(pool, request.num_requests);
      why = mode + ": " + plural(request.num_requests, "stream") + " (capped by num_requests=" +
            std::to_string(request.num_requests) + ", " + std::to_string(natural) + " uncapped), cores split evenly";
    } else {
      for (std::size_t i = 0; i < pool.size(); ++i)
        for (std::size_t u = 0; u < pool[i].units.size(); u += std::size_t(per_stream[i])) {
          std::vector<int> pus;
          for (std::size_t k = u; k < u + std::size_t(per_stream[i]); ++k)
            pus.insert(pus.end(), pool[i].units[k].begin(), pool[i].units[k].end());
          plan.streams.push_back(make_stream(std::move(pus)));
        }
      why = mode + ": " + plural(cores, "core") + (budget ? " (inference_num_threads budget)" : "") + ", model " +
            (request.model_gflops > 0 ? std::to_string(int(request.model_gflops + 0.5)) + " GFLOP" : "size unknown") +
            " -> " + plural(target, "core") + " per stream";
    }
  }

  if (spans) why += "; some streams span NUMA nodes or core kinds";
  why += "; " + std::to_string(plan.total_threads()) + " of " + capacity;
  if (!plan.pinned) why += "; pinning off";
  plan.reason = std::move(why);
  return plan;
}

bool pin_current_thread(const std::vector<int>& pus) {
  if (pus.empty()) {
    log().debug("pin_current_thread: empty PU set, thread left unpinned");
    return true;
  }
  const int max_pu = *std::max_element(pus.begin(), pus.end());
  if (*std::min_element(pus.begin(), pus.end()) < 0) {
    log().warn("pin_current_thread: negative PU index in the set; thread left unpinned");
    return false;
  }
  cpu_set_t* set = CPU_ALLOC(max_pu + 1);
  if (set == nullptr) return false;
  const std::size_t size = CPU_ALLOC_SIZE(max_pu + 1);
  CPU_ZERO_S(size, set);
  for (int pu : pus) CPU_SET_S(std::size_t(pu), size, set);
  const int rc = sched_setaffinity(0, size, set);
  const int err = errno;
  CPU_FREE(set);
  if (rc != 0) {
    log().warn("pin_current_thread: sched_setaffinity to {} PUs (max PU {}) failed: {}", pus.size(), max_pu,
               std::strerror(err));
    return false;
  }
  return true;
}

}  // namespace autosched::topology
