#!/usr/bin/env bash
# Install dependencies, build, and run every test (ctest --output-on-failure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
cd "$build_dir"
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
# Sanitizers, fuzzing and soak in their short modes (scripts/reliability.sh).
if [[ "${CI:-}" == "true" || "${AUTOSCHED_RELIABILITY:-}" == "1" ]]; then "$root/scripts/reliability.sh" --short; fi
