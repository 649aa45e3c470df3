#!/usr/bin/env bash
# Issue 8's policy comparison on the simulator's virtual clock
# (tools/autosched-simulate), three SIM fleets:
#   (a) 2 x SIM.cpu_like + SIM.fast_gpu + SIM.slow_igpu
#   (b) 8 x SIM.fast_gpu + 2 x SIM.cpu_like
#   (c) SIM.cpu_like + SIM.failing_gpu (fails 5 % of its inferences:
#       tools/profiles/failing_gpu.json)
# For each fleet, every policy twice: closed loop with twice the fleet's slots
# in flight (saturated: throughput as % of the oracle bound) and Poisson
# arrivals at LOAD % of the oracle (latency and SLO attainment under load).
# Prints markdown tables; with an output directory, also writes them
# (policy-compare.md) and one JSON document per table.
#
# Usage: scripts/policy-compare.sh [output-dir]
# Environment: AUTOSCHED_BUILD_DIR (default build), REQUESTS (default 200000),
#   MODEL (default builtin:resnet50), POLICIES (default
#   device_priority,round_robin,latency,throughput,slo), LOAD (default 70),
#   SEED (default 0), EXTRA_ARGS (passed to every run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
simulate="$build_dir/tools/autosched-simulate"
[[ -x $simulate ]] || {
  echo "policy-compare: $simulate not found; build it first (ninja -C <build> autosched-simulate) or set AUTOSCHED_BUILD_DIR" >&2
  exit 1
}
requests=${REQUESTS:-200000}
model=${MODEL:-builtin:resnet50}
policies=${POLICIES:-device_priority,round_robin,latency,throughput,slo}
load=${LOAD:-70}
seed=${SEED:-0}
out=${1:-}
[[ -z $out ]] || mkdir -p "$out"

# name | fleet | latency budget (ms): what the fleet's fast devices meet and its slow ones do not.
fleets=(
  "a|SIM.cpu_like*2,SIM.fast_gpu,SIM.slow_igpu|25"
  "b|SIM.fast_gpu*8,SIM.cpu_like*2|10"
  "c|SIM.cpu_like,SIM.failing_gpu|20"
)

report() {
  echo "# Policy comparison (autosched-simulate, $requests requests per run, $model, seed $seed)"
  echo
  for entry in "${fleets[@]}"; do
    IFS='|' read -r name fleet budget <<<"$entry"
    for arrivals in closed "poisson:${load}%"; do
      echo "## Fleet ($name): $fleet — arrivals $arrivals, SLO budget $budget ms"
      echo
      json_args=()
      [[ -z $out ]] || json_args=(--json "$out/fleet-$name-${arrivals%%:*}.json")
      # shellcheck disable=SC2086
      "$simulate" --fleet "$fleet" --profiles "$root/tools/profiles/failing_gpu.json" --model "$model" \
        --requests "$requests" --arrivals "$arrivals" --latency_budget_ms "$budget" --seed "$seed" \
        --compare-policies "$policies" "${json_args[@]}" ${EXTRA_ARGS:-} | grep -v '^JSON written'
      echo
    done
  done
}

if [[ -n $out ]]; then
  report | tee "$out/policy-compare.md"
else
  report
fi
