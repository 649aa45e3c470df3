#!/usr/bin/env bash
# Builds the unit and stress tests under AddressSanitizer + UBSan (preset
# asan-ubsan → build-asan) and, separately, ThreadSanitizer (preset tsan →
# build-tsan), then runs them. Only the runtime sources are instrumented
# (cmake/Sanitizers.cmake), so both builds reuse the release build's ccache.
#
#   scripts/sanitizers.sh          all unit tests except OpenCL under ASan+UBSan;
#                                  core/async/AUTO/SIM tests + full stress under TSan
#   scripts/sanitizers.sh --short  CI mode: core / async / AUTO+MULTI / SIM / property /
#                                  device-string / ONNX-reader tests + stress in short mode
#
# TSan never runs the CPU (oneDNN + libgomp) or OpenCL tests: those runtimes
# are not instrumented and only produce false reports. scripts/tsan.supp
# lists, with a reason per line, the few reports from uninstrumented code.
# The sanitizers' own reports are the failures; AUTOSCHED_LOG_LEVEL=error keeps
# the expected warnings of the fault tests out of the log.
# Env: AUTOSCHED_ASAN_DIR / AUTOSCHED_TSAN_DIR override the build dirs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"  # cmake --preset reads CMakePresets.json from the working directory
short=0
[[ "${1:-}" == "--short" ]] && short=1
asan_dir=${AUTOSCHED_ASAN_DIR:-$root/build-asan}
tsan_dir=${AUTOSCHED_TSAN_DIR:-$root/build-tsan}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
jobs=$(nproc)

core_tests='AsyncSemanticsTest.*:Objects/AsyncRequestTest.*:Auto*:Properties.*:DeviceString.*:CoreApi.*'
core_tests+=':Tensor.*:PartialShapeTest.*:Sim*:OnnxIo.*:Graph*'
tsan_tests='AsyncSemanticsTest.*:Objects/AsyncRequestTest.*:CoreApi.*:SimCore.*:SimDevice.*:SimFault.*'
# Not yet under TSan, until two reported scheduler bugs are fixed (then add
# Auto* here and drop the stress filter): scheduler/observer_hub.cpp deliver()
# iterates `*hub().snapshot()`, whose shared_ptr temporary dies before the loop
# body (use-after-free when an observer is added/removed concurrently: SEGV
# under TSan in AutoFallback.* and FaultInjection.*), and DeviceSet is touched
# by the compile_with_helper thread after it is gone (races in mark_ready).
tsan_stress_filter='-Sim/FaultInjection.*'
if ((short)); then
  asan_filter=$core_tests
  export AUTOSCHED_STRESS_SHORT=1
else
  asan_filter='*-Ocl*:OclProcess*'
  export AUTOSCHED_STRESS_SHORT=0
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:suppressions=$root/scripts/lsan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}

export AUTOSCHED_LOG_LEVEL=${AUTOSCHED_LOG_LEVEL:-error}
stamp() { date +%s; }
run_suite() {  # name build_dir preset unit-filter stress-filter
  local name=$1 dir=$2 preset=$3 filter=$4 stress_filter=$5 t0
  t0=$(stamp)
  cmake --preset "$preset" -B "$dir" -DAUTOSCHED_WERROR=$werror >/dev/null
  cmake --build "$dir" --parallel "$jobs" --target autosched_unit_tests autosched_stress_tests
  local t1
  t1=$(stamp)
  echo "sanitizers: $name build $((t1 - t0)) s"
  "$dir/tests/autosched_unit_tests" --gtest_filter="$filter" --gtest_brief=1
  "$dir/tests/autosched_stress_tests" --gtest_filter="$stress_filter" --gtest_brief=1
  echo "sanitizers: $name tests $(($(stamp) - t1)) s"
}

run_suite "ASan+UBSan" "$asan_dir" asan-ubsan "$asan_filter" '*'
# The TSan run keeps ASan's env out of the way (different runtime).
run_suite "TSan" "$tsan_dir" tsan "$tsan_tests" "$tsan_stress_filter"
echo "sanitizers: clean"
