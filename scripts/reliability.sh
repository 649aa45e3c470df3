#!/usr/bin/env bash
# The reliability jobs, timed: sanitizers (ASan+UBSan, TSan), fuzzing, soak.
# (The stress and fault-injection tests are ctest tests of the main build.)
#   scripts/reliability.sh --short   CI mode (called by scripts/test.sh when CI=true):
#                                    sanitizers --short, 60 s per fuzzer, 2 min soak
#   scripts/reliability.sh           long mode: full sanitizer runs, 1 h fuzzing,
#                                    10 min soak, full stress + fault injection
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
timed() {  # label command...
  local t0=$SECONDS
  "${@:2}"
  echo "reliability: $1 took $((SECONDS - t0)) s"
}
if [[ "${1:-}" == "--short" ]]; then
  timed sanitizers "$root/scripts/sanitizers.sh" --short
  timed fuzz "$root/scripts/fuzz.sh" 60
  timed soak "$root/scripts/soak.sh" 2  # RSS ramps for ~25 s (first compiles, allocator arenas); 30 s runs measured only the ramp
else
  timed sanitizers "$root/scripts/sanitizers.sh"
  timed stress "$root/scripts/stress.sh"
  timed fuzz "$root/scripts/fuzz.sh" 3600
  timed soak "$root/scripts/soak.sh" 10
fi
