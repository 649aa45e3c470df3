#!/usr/bin/env bash
# The main job: install dependencies, build, and benchmark the builtin
# ResNet-50 through AUTO for 10 seconds with autosched-bench.
# Extra arguments replace the default ones (e.g. -m builtin:mlp -d MULTI -t 5 --json out.json).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build_dir=${AUTOSCHED_BUILD_DIR:-$root/build}
if (($# == 0)); then set -- -m builtin:resnet50 -d AUTO -t 10; fi
"$build_dir/tools/autosched-bench" "$@"
