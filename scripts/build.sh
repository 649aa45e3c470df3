#!/usr/bin/env bash
# Configures and builds autosched (Release, Ninja, ccache when present) into
# ${AUTOSCHED_BUILD_DIR:-build}. Called by bench.sh and test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
werror=OFF
if [[ "${CI:-}" == "true" ]]; then werror=ON; fi
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUTOSCHED_WERROR=$werror
cmake --build "$build_dir" --parallel "$(nproc)"
