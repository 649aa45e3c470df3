#!/usr/bin/env bash
# Builds the libFuzzer targets (preset fuzz → build-fuzz: clang, ASan + UBSan,
# coverage on the whole library) and runs each for [seconds] (default 60,
# the CI mode), both at once (one per core).
#
#   scripts/fuzz.sh          60 s per fuzzer (what .ci/run does)
#   scripts/fuzz.sh 3600     the longer run to do before a release / after reader changes
#
# Seed corpus (rebuilt each run in build-fuzz/corpus/, findings kept there):
#   onnx:   the builtin models exported with autosched-run --export (those
#           under 2 MiB) + a sample of /usr/share/libonnx-testdata/data/node/*/model.onnx
#   device: fuzz/seeds/device_string/* (device string + key=value lines)
# A crash, leak, sanitizer report, uncaught non-Error exception, an input
# taking > 10 s or an allocation > 1 GiB (a 10^12-element claim must be
# rejected before allocating) fails the script; the reproducer is left in
# build-fuzz/artifacts/. Reproduce: build-fuzz/fuzz/onnx_reader_fuzzer <file>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"  # cmake --preset reads CMakePresets.json from the working directory
seconds=${1:-60}
dir=${AUTOSCHED_FUZZ_DIR:-$root/build-fuzz}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
t0=$(date +%s)
if [[ "${AUTOSCHED_FUZZ_SKIP_BUILD:-}" != "1" ]]; then  # 1: reuse the binaries in $dir as they are
  cmake --preset fuzz -B "$dir" -DAUTOSCHED_WERROR=$werror >/dev/null
  cmake --build "$dir" --parallel "$(nproc)" --target onnx_reader_fuzzer device_string_fuzzer autosched-run
fi
t1=$(date +%s)
echo "fuzz: build $((t1 - t0)) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
corpus=$dir/corpus
mkdir -p "$corpus/onnx" "$corpus/device" "$dir/artifacts" "$dir/seeds/onnx"
seeds=$dir/seeds/onnx
for name in mlp bert_tiny mobilenetv2 resnet50; do
  out=$seeds/builtin_$name.onnx
  [[ -s "$out" ]] || "$dir/tools/autosched-run" --export "builtin:$name" "$out" >/dev/null 2>&1 || true
  # Large weight blobs only slow mutation down; keep the small models.
  if [[ -f "$out" ]] && (($(stat -c %s "$out") > 2097152)); then rm -f "$out"; : >"$out.skipped"; fi
done
testdata=/usr/share/libonnx-testdata/data/node
if [[ -d $testdata ]]; then
  # A deterministic sample: every 8th node test (about 150 small models).
  i=0
  for m in "$testdata"/*/model.onnx; do
    ((i++ % 8 == 0)) && cp "$m" "$seeds/node_$(basename "$(dirname "$m")").onnx"
  done
fi
# Inputs that once crashed the reader (each also has a unit test): replayed every run.
cp "$root"/fuzz/seeds/onnx_regressions/*.onnx "$seeds"/
echo "fuzz: $(ls "$seeds"/*.onnx | wc -l) ONNX seeds, $(ls "$root"/fuzz/seeds/device_string | wc -l) device-string seeds"

common=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=1024
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1)
"$dir/fuzz/onnx_reader_fuzzer" "${common[@]}" -max_len=262144 "$corpus/onnx" "$seeds" \
  >"$dir/onnx_reader_fuzzer.log" 2>&1 &
onnx_pid=$!
"$dir/fuzz/device_string_fuzzer" "${common[@]}" -max_len=512 -dict="$root/fuzz/device_string.dict" \
  "$corpus/device" "$root/fuzz/seeds/device_string" >"$dir/device_string_fuzzer.log" 2>&1 &
dev_pid=$!
status=0
wait $onnx_pid || status=1
wait $dev_pid || status=$((status | 2))
for f in onnx_reader_fuzzer device_string_fuzzer; do
  echo "fuzz: $f: $(grep -E 'stat::number_of_executed_units' "$dir/$f.log" | awk '{print $2}') runs," \
       "corpus $(grep -E 'stat::' "$dir/$f.log" >/dev/null && ls "$corpus/${f%%_*}" 2>/dev/null | wc -l) files"
done
if ((status != 0)); then
  echo "fuzz: FAILED (status $status); logs: $dir/*_fuzzer.log, reproducers: $dir/artifacts/" >&2
  tail -n 60 "$dir/onnx_reader_fuzzer.log" "$dir/device_string_fuzzer.log" >&2
  exit 1
fi
echo "fuzz: clean after ${seconds}s per fuzzer ($(($(date +%s) - t1)) s)"
