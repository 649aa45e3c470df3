#!/usr/bin/env bash
# The end-to-end benchmark matrix: every builtin model x device x hint, one
# short autosched-bench run each. Writes, into the output directory, one
# JSON file holding every run's report (matrix.json: {"runs": [...]}) and a
# markdown table (matrix.md). Devices autosched-query does not list are
# reported as "not present"; a failed run is reported with its error line.
#
# Usage: scripts/bench-matrix.sh [output-dir]        (default: ./bench-matrix-<date>)
# Environment: AUTOSCHED_BUILD_DIR (default build), MODELS, DEVICES, HINTS,
#   SECONDS_PER_RUN (default 3), EXTRA_ARGS (passed to every run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
bench="$build_dir/tools/autosched-bench"
query="$build_dir/tools/autosched-query"
for tool in "$bench" "$query"; do
  [[ -x $tool ]] || { echo "bench-matrix: $tool not found; build first (scripts/build.sh) or set AUTOSCHED_BUILD_DIR" >&2; exit 1; }
done

models=${MODELS:-"mlp mobilenetv2 bert_tiny resnet50"}
devices=${DEVICES:-"CPU OCL.0 AUTO MULTI"}
hints=${HINTS:-"latency throughput cumulative_throughput"}
seconds=${SECONDS_PER_RUN:-3}
out=${1:-$PWD/bench-matrix-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/runs"
present=$("$query" --list)

# MULTI always runs every device at once: only its own hint makes sense.
hints_for() {
  case $1 in
    MULTI) echo cumulative_throughput ;;
    AUTO) echo "$hints" ;;
    *) for h in $hints; do [[ $h == cumulative_throughput ]] || echo "$h"; done ;;
  esac
}

md="$out/matrix.md"
{
  echo "| model | device | hint | nireq | throughput (inf/s) | median (ms) | p99 (ms) | share per device | note |"
  echo "|---|---|---|---:|---:|---:|---:|---|---|"
} >"$md"
reports=()
for model in $models; do
  for device in $devices; do
    for hint in $(hints_for "$device"); do
      if ! grep -qx "${device%%:*}" <<<"$present"; then
        echo "| $model | $device | $hint | | | | | | not present |" >>"$md"
        continue
      fi
      name="${model}_${device//[^A-Za-z0-9]/_}_${hint}"
      json="$out/runs/$name.json"
      echo "== builtin:$model on $device ($hint, ${seconds} s)" >&2
      # shellcheck disable=SC2086  # EXTRA_ARGS is a list of flags
      if log=$("$bench" -m "builtin:$model" -d "$device" -hint "$hint" -t "$seconds" --json "$json" ${EXTRA_ARGS:-} 2>&1); then
        nireq=$(sed -n 's/.*using nireq \([0-9]*\).*/\1/p' <<<"$log")
        fps=$(sed -n 's/^Throughput *\([0-9.]*\).*/\1/p' <<<"$log")
        median=$(sed -n 's/^Latency *median \([0-9.]*\).*/\1/p' <<<"$log")
        p99=$(sed -n 's/^Latency .* p99 \([0-9.]*\).*/\1/p' <<<"$log")
        shares=$(awk '/^Per device/{on=1; next} on && /^  /{printf "%s%s %s%%", sep, $1, $2; sep=", "; next} on{exit}' <<<"$log")
        handover=$(sed -n 's/^Hand-over *\([^ ]* -> [^ ]*\) at \([0-9.]*\) ms.*/hand-over \1 at \2 ms/p' <<<"$log")
        echo "| $model | $device | $hint | $nireq | $fps | $median | $p99 | $shares | $handover |" >>"$md"
        reports+=("$json")
      else
        error=$(grep -m1 'error' <<<"$log" || tail -n1 <<<"$log")
        echo "| $model | $device | $hint | | | | | | failed: ${error//|/\\|} |" >>"$md"
      fi
    done
  done
done

# One JSON document: {"runs": [report, ...]} (the reports are autosched-bench/1).
{
  echo '{"schema": "autosched-bench-matrix/1", "runs": ['
  sep=""
  for r in "${reports[@]}"; do
    printf '%s' "$sep"
    cat "$r"
    sep=","
  done
  echo ']}'
} >"$out/matrix.json"
echo "bench-matrix: ${#reports[@]} runs -> $out/matrix.json, $out/matrix.md" >&2
cat "$md"
