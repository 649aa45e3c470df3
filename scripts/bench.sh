#!/usr/bin/env bash
# The main job: install dependencies, build, and run the builtin MLP through AUTO.
# Extra arguments go to autosched-run (e.g. -m builtin:resnet50 -n 20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
if (($# == 0)); then set -- -m builtin:mlp -d AUTO -n 200; fi
"$build_dir/tools/autosched-run" "$@"
