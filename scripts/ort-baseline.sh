#!/usr/bin/env bash
# ONNX Runtime baseline: the builtin models side by side on ONNX Runtime
# (onnxruntime-node from the npm registry) and on autosched's CPU device.
#
# An OPTIONAL comparison tool: it is never part of the build, the tests or
# .ci/run. It needs Node.js (>= 18) and npm, and installs onnxruntime-node
# into a cache folder outside the repository and the build
# (AUTOSCHED_ORT_DIR, default ~/.cache/autosched-ort); nothing is written
# into the source tree.
#
# For every model it exports builtin:<name> to ONNX with autosched-query,
# then, interleaved per round, measures on the same ONNX file:
#   latency:    ORT 1 session x 2 intra-op threads, sequential requests
#               vs autosched-bench -d CPU -hint latency;
#   throughput: ORT 2 sessions (worker threads) x 1 thread, all busy
#               vs autosched-bench -d CPU -hint throughput.
# It prints a markdown table (medians over the rounds, spread, load average)
# and leaves every JSON report in the output folder. With COMPARE_BUILD_DIR
# (another build of autosched, e.g. of an older commit) that build is measured
# in the same rounds too and the table adds before -> after columns. With
# COMPARE_ENV instead (e.g. COMPARE_ENV="AUTOSCHED_CPU_WAIT=sleep"), "before" is
# this same build run with those environment settings; with COMPARE_ARGS (e.g.
# COMPARE_ARGS="--load_config nobatch.json"), this same build run with those
# extra autosched-bench flags.
#
# Usage: scripts/ort-baseline.sh [output-dir]     (default: ./ort-baseline-<date>)
# Environment: AUTOSCHED_BUILD_DIR (default build), AUTOSCHED_ORT_DIR,
#   AUTOSCHED_ORT_VERSION (default 1.30.0), MODELS (default "mlp bert_tiny
#   mobilenetv2 resnet50"), ROUNDS (default 2), SECONDS_PER_RUN (default 10),
#   THREADS (default: the number of CPUs), EXTRA_ARGS (extra autosched-bench flags),
#   COMPARE_BUILD_DIR (a second autosched build measured as "before"),
#   COMPARE_ENV (space-separated NAME=value settings for a "before" run of this build),
#   COMPARE_ARGS (extra autosched-bench flags for a "before" run of this build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
ort_dir=${AUTOSCHED_ORT_DIR:-$HOME/.cache/autosched-ort}
ort_version=${AUTOSCHED_ORT_VERSION:-1.30.0}
models=${MODELS:-"mlp bert_tiny mobilenetv2 resnet50"}
rounds=${ROUNDS:-2}
seconds=${SECONDS_PER_RUN:-10}
threads=${THREADS:-$(nproc)}
out=${1:-$PWD/ort-baseline-$(date +%Y%m%d-%H%M%S)}
bench="$build_dir/tools/autosched-bench"
query="$build_dir/tools/autosched-query"
ort_bench="$root/scripts/ort_bench.mjs"

for tool in "$bench" "$query"; do
  [[ -x $tool ]] || { echo "ort-baseline: $tool not found; build first or set AUTOSCHED_BUILD_DIR" >&2; exit 1; }
done
runtimes="ort autosched"
before_bench=""
if [[ -n ${COMPARE_BUILD_DIR:-} ]]; then
  before_bench="$COMPARE_BUILD_DIR/tools/autosched-bench"
  [[ -x $before_bench ]] || { echo "ort-baseline: $before_bench not found (COMPARE_BUILD_DIR)" >&2; exit 1; }
elif [[ -n ${COMPARE_ENV:-} || -n ${COMPARE_ARGS:-} ]]; then
  before_bench=$bench
fi
[[ -n $before_bench ]] && runtimes="ort before autosched"
read -r -a before_env <<<"${COMPARE_ENV:-}"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "ort-baseline: needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }

# onnxruntime-node bundles its CPU binaries; its install script only fetches
# optional CUDA binaries from NuGet, so it is skipped.
if ! node -e "require('$ort_dir/node_modules/onnxruntime-node/package.json').version === '$ort_version' || process.exit(1)" 2>/dev/null; then
  echo "ort-baseline: installing onnxruntime-node@$ort_version into $ort_dir" >&2
  mkdir -p "$ort_dir"
  [[ -f $ort_dir/package.json ]] || echo '{"name": "autosched-ort-cache", "private": true}' >"$ort_dir/package.json"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --ignore-scripts \
    "onnxruntime-node@$ort_version" >&2)
fi

mkdir -p "$out/models" "$out/runs"
for m in $models; do
  [[ -f $out/models/$m.onnx ]] || "$query" --export "builtin:$m" "$out/models/$m.onnx" >&2
done

echo "ort-baseline: $(nproc) CPUs, $threads threads, $rounds round(s) x $seconds s per run; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/conditions.txt" >&2
for ((r = 1; r <= rounds; ++r)); do
  for m in $models; do
    file="$out/models/$m.onnx"
    for mode in latency throughput; do
      echo "ort-baseline: round $r $m $mode (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      # Alternate the order every round so a drifting background load hits every runtime alike.
      order=$runtimes
      ((r % 2 == 0)) && order=$(echo "$runtimes" | tr ' ' '\n' | tac | tr '\n' ' ')
      for runtime in $order; do
        json="$out/runs/$r.$runtime.$m.$mode.json"
        case $runtime in
          ort)
            node "$ort_bench" --ort-dir "$ort_dir" -m "$file" --mode "$mode" --threads "$threads" --streams "$threads" \
              -t "$seconds" --json "$json" >/dev/null ;;
          before)
            # shellcheck disable=SC2086
            env "${before_env[@]}" "$before_bench" -m "$file" -d CPU -hint "$mode" -t "$seconds" --json "$json" \
              ${EXTRA_ARGS:-} ${COMPARE_ARGS:-} >/dev/null ;;
          *)
            # shellcheck disable=SC2086
            "$bench" -m "$file" -d CPU -hint "$mode" -t "$seconds" --json "$json" ${EXTRA_ARGS:-} >/dev/null ;;
        esac
      done
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/conditions.txt" >&2
node "$ort_bench" --table "$out/runs" | tee "$out/table.md"
echo "ort-baseline: reports in $out" >&2
