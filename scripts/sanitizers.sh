#!/usr/bin/env bash
# Builds the unit and stress tests under AddressSanitizer + UBSan (preset
# asan-ubsan → build-asan) and, separately, ThreadSanitizer (preset tsan →
# build-tsan), then runs them. Only the runtime sources are instrumented
# (cmake/Sanitizers.cmake), so both builds reuse the release build's ccache.
#
#   scripts/sanitizers.sh          all unit tests except OpenCL under ASan+UBSan;
#                                  core/async/AUTO+MULTI/policy/SIM tests + full stress
#                                  (fault injection included) under TSan
#   scripts/sanitizers.sh --short  CI mode: core / async / AUTO+MULTI / policy / SIM /
#                                  property / device-string / ONNX-reader tests + stress
#                                  in short mode
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

core_tests='AsyncSemanticsTest.*:Objects/AsyncRequestTest.*:AsyncBatchTest.*:Workers/AsyncBatchStressTest.*:Auto*:PolicyEngine*:Policies*:Properties.*'
core_tests+=':DeviceString.*:CoreApi.*:Tensor.*:PartialShapeTest.*:Sim*:OnnxIo.*:Graph*'
# The CPU device's OpenMP wait control: its sampler thread, team parking and the models holding it.
omp_wait_tests='OmpWait*:CpuDevice.TwoThreadStreamsHoldTheOpenMpWaitControl:CpuDevice.OpenMpTeamParker*'
core_tests+=":$omp_wait_tests"
# Cross-request batching on the CPU: stacking and slicing buffers, the weight pool, requests through the core and AUTO.
core_tests+=':CpuBatching.*'
# AUTO / MULTI (the request queue, dispatch, live statistics, model_priority
# board, hand-over, fallback), the policies and SIM; every stress test,
# fault injection through AUTO and MULTI included.
tsan_tests="AsyncSemanticsTest.*:Objects/AsyncRequestTest.*:AsyncBatchTest.*:Workers/AsyncBatchStressTest.*:CoreApi.*:Auto*:PolicyEngine*:Policies*:Sim*:$omp_wait_tests"
tsan_tests+=':CpuBatching.ThroughputRequestsThroughTheCore*:CpuBatching.AutoGivesABatchingCpu*'
tsan_stress_filter='*'
# TSan's fixed shadow layout can clash with a high-entropy ASLR placement (seen
# here: a SEGV inside the TSan runtime before main(), vm.mmap_rnd_bits=28), so
# the TSan binaries run with ASLR off when setarch allows it.
tsan_launcher=()
if setarch "$(uname -m)" -R true 2>/dev/null; then tsan_launcher=(setarch "$(uname -m)" -R); fi
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
run_suite() {  # name build_dir preset unit-filter stress-filter [launcher...]
  local name=$1 dir=$2 preset=$3 filter=$4 stress_filter=$5 t0
  shift 5
  t0=$(stamp)
  cmake --preset "$preset" -B "$dir" -DAUTOSCHED_WERROR=$werror >/dev/null
  cmake --build "$dir" --parallel "$jobs" --target autosched_unit_tests autosched_stress_tests
  local t1
  t1=$(stamp)
  echo "sanitizers: $name build $((t1 - t0)) s"
  "$@" "$dir/tests/autosched_unit_tests" --gtest_filter="$filter" --gtest_brief=1
  "$@" "$dir/tests/autosched_stress_tests" --gtest_filter="$stress_filter" --gtest_brief=1
  echo "sanitizers: $name tests $(($(stamp) - t1)) s"
}

run_suite "ASan+UBSan" "$asan_dir" asan-ubsan "$asan_filter" '*'
# The TSan run keeps ASan's env out of the way (different runtime).
run_suite "TSan" "$tsan_dir" tsan "$tsan_tests" "$tsan_stress_filter" "${tsan_launcher[@]}"
echo "sanitizers: clean"
