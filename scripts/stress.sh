#!/usr/bin/env bash
# Full-mode stress and fault injection (tests/stress): 16 threads x 10^4
# callback-chained requests per device, cancel storms, teardown in flight,
# queue limits, and 10^5 requests per fault scenario through AUTO and MULTI.
# CI runs the same binary in short mode through ctest. Extra arguments go to
# the gtest binary (e.g. --gtest_filter='FaultInjection*').
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
cmake --build "$build_dir" --target autosched_stress_tests
AUTOSCHED_STRESS_SHORT=0 "$build_dir/tests/autosched_stress_tests" "$@"
