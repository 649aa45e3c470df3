#!/usr/bin/env bash
# Issue 8's policy comparison on real devices: every built-in policy through
# MULTI over the CPU device and the OpenCL device (PoCL on a CPU-only
# machine), on the builtin models, next to each device alone as the
# reference (and the CPU alone behind MULTI, which separates what the second
# device adds from what MULTI's machinery does). One
# autosched-bench run per row (cumulative_throughput hint for
# MULTI, throughput for a device alone), every run with the same --cache_dir
# so OpenCL programs compile once. Prints a markdown table (throughput, ratio
# to the CPU alone, p50, p99, per-device share) and writes it with every
# run's JSON report and log into the output directory.
#
# On a shared machine one run can land in a quiet or a busy window: with
# ROUNDS=N every row runs N times, interleaved (round 1 runs every row, then
# round 2, ...), and the table shows medians with the throughput's min-max.
#
# The slo policy runs with --latency_budget_ms from BUDGETS: a budget the CPU
# alone meets and the OpenCL device alone does not on the reference machine.
# resnet50 is slow on PoCL; add it with MODELS="mlp mobilenetv2 resnet50".
#
# Usage: scripts/policy-compare-real.sh [output-dir]   (default: ./policy-compare-real-<date>)
# Environment: AUTOSCHED_BUILD_DIR (default build), MODELS (default
#   "mlp mobilenetv2"), POLICIES (default "device_priority round_robin latency
#   throughput slo"), DEVICES (default OCL.0,CPU: MULTI's candidates, each also
#   run alone), SECONDS_PER_RUN (default 5), BUDGETS (default "mlp=3
#   mobilenetv2=150 resnet50=1500 bert_tiny=20", ms), CACHE_DIR (default
#   <output-dir>/cache), ROUNDS (default 1), EXTRA_ARGS (passed to every run;
#   e.g. "-nireq 4" to run the devices alone at MULTI's request count).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
bench="$build_dir/tools/autosched-bench"
[[ -x $bench ]] || {
  echo "policy-compare-real: $bench not found; build it first (ninja -C <build> autosched-bench) or set AUTOSCHED_BUILD_DIR" >&2
  exit 1
}
command -v python3 >/dev/null || { echo "policy-compare-real: python3 is needed to read the JSON reports" >&2; exit 1; }

models=${MODELS:-"mlp mobilenetv2"}
policies=${POLICIES:-"device_priority round_robin latency throughput slo"}
devices=${DEVICES:-OCL.0,CPU}
seconds=${SECONDS_PER_RUN:-5}
rounds=${ROUNDS:-1}
budgets=${BUDGETS:-"mlp=3 mobilenetv2=150 resnet50=1500 bert_tiny=20"}
out=${1:-$PWD/policy-compare-real-$(date +%Y%m%d-%H%M%S)}
cache=${CACHE_DIR:-$out/cache}
mkdir -p "$out/runs" "$cache"

budget_for() {
  local entry
  for entry in $budgets; do
    [[ ${entry%%=*} == "$1" ]] && { echo "${entry#*=}"; return; }
  done
  echo "policy-compare-real: no latency budget for $1 in BUDGETS='$budgets'" >&2
  exit 1
}

# One run: model, row label, device string, hint, extra flags. Appends a line
# "round<TAB>model<TAB>label<TAB>json-or-empty<TAB>error" to the manifest.
manifest="$out/runs/manifest.tsv"
: >"$manifest"
run() {
  local model=$1 label=$2 device=$3 hint=$4
  shift 4
  local name="r${round}_${model}_${label//[^A-Za-z0-9]/_}"
  local json="$out/runs/$name.json" log="$out/runs/$name.log"
  echo "== round $round/$rounds, builtin:$model: $label ($device, $hint, ${seconds} s)" >&2
  # shellcheck disable=SC2086  # EXTRA_ARGS is a list of flags
  if "$bench" -m "builtin:$model" -d "$device" -hint "$hint" -t "$seconds" --cache_dir "$cache" --json "$json" \
      "$@" ${EXTRA_ARGS:-} >"$log" 2>&1; then
    printf '%s\t%s\t%s\t%s\t\n' "$round" "$model" "$label" "$json" >>"$manifest"
  else
    local error
    error=$(grep -m1 -i 'error' "$log" || tail -n1 "$log")
    printf '%s\t%s\t%s\t\t%s\n' "$round" "$model" "$label" "${error//$'\t'/ }" >>"$manifest"
  fi
}

for ((round = 1; round <= rounds; ++round)); do
  for model in $models; do
    budget=$(budget_for "$model")
    for device in ${devices//,/ }; do run "$model" "$device alone" "$device" throughput; done
    # The CPU alone behind MULTI (MULTI's machinery, one device; its own optimal request count).
    if [[ ,$devices, == *,CPU,* ]]; then
      run "$model" "MULTI:CPU only (throughput)" "MULTI:CPU" cumulative_throughput --policy throughput
    fi
    for policy in $policies; do
      if [[ $policy == slo ]]; then
        run "$model" "MULTI $policy (budget $budget ms)" "MULTI:$devices" cumulative_throughput \
          --policy "$policy" --latency_budget_ms "$budget"
      else
        run "$model" "MULTI $policy" "MULTI:$devices" cumulative_throughput --policy "$policy"
      fi
    done
  done
done

python3 - "$manifest" "$out/policy-compare-real.md" "$seconds" "$rounds" <<'PY'
import json, statistics, sys

manifest, md_path, seconds, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = {}  # (model, label) -> {"reports": [...], "errors": [...]}, in first-run order
for line in open(manifest):
    _, model, label, path, error = line.rstrip("\n").split("\t")
    row = rows.setdefault((model, label), {"reports": [], "errors": []})
    if path:
        row["reports"].append(json.load(open(path)))
    else:
        row["errors"].append(error)

def median(values):
    return statistics.median(values) if values else float("nan")

def fps_of(report):
    return report["results"]["throughput_fps"]

cpu_fps = {model: median([fps_of(r) for r in row["reports"]])
           for (model, label), row in rows.items() if label == "CPU alone" and row["reports"]}
spread = rounds > 1
lines = [
    "| model | run | throughput (inf/s) | " + ("min-max | " if spread else "") +
    "vs CPU alone | p50 (ms) | p99 (ms) | share per device | nireq | compile (ms) |",
    "|---|---|---:|" + ("---:|" if spread else "") + "---:|---:|---:|---|---:|---:|",
]
for (model, label), row in rows.items():
    reports = row["reports"]
    failed = f"{len(row['errors'])} failed: {row['errors'][0].replace('|', '/')}" if row["errors"] else ""
    if not reports:
        lines.append(f"| {model} | {label} | | " + ("| " if spread else "") + f"| | | {failed} | | |")
        continue
    fps = [fps_of(r) for r in reports]
    ratio = f"{median(fps) / cpu_fps[model]:.2f}x" if cpu_fps.get(model) else ""
    counts = {}
    for r in reports:
        for d in r.get("per_device") or []:
            counts[d["device"]] = counts.get(d["device"], 0) + d["count"]
    total = sum(counts.values()) or 1
    shares = ", ".join(f"{name} {100 * n / total:.1f}%" for name, n in counts.items())
    if failed:
        shares += f" ({failed})"
    p50 = median([r["results"]["latency_ms"]["median"] for r in reports])
    p99 = median([r["results"]["latency_ms"]["p99"] for r in reports])
    compile_ms = median([r["timings_ms"]["compile_model"] for r in reports])
    lines.append(
        f"| {model} | {label} | {median(fps):.1f} | " + (f"{min(fps):.1f}-{max(fps):.1f} | " if spread else "") +
        f"{ratio} | {p50:.3f} | {p99:.3f} | {shares} | {reports[0]['config']['nireq']} | {compile_ms:.0f} |")
first = next((row["reports"][0] for row in rows.values() if row["reports"]), None)
hw = first["hardware"]["cpu"] if first else {}
note = (f"\n{seconds} s per run, {rounds} round(s){' (medians; share over all rounds)' if spread else ''}; "
        f"{hw.get('model', '?')}, {hw.get('logical_cpus', '?')} logical CPUs "
        "(the OpenCL device, when it is PoCL, runs on the same cores as the CPU device).")
text = "\n".join(lines) + "\n" + note + "\n"
open(md_path, "w").write(text)
print(text, end="")
PY
echo "policy-compare-real: reports in $out (table: $out/policy-compare-real.md)" >&2
