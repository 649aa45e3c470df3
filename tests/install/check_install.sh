#!/usr/bin/env bash
# Installs the built library into a temporary prefix, builds examples/ against
# it with find_package(autosched) and runs the quickstart example.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/autosched/autosched.hpp"
test ! -e "$work/prefix/include/autosched/../core"  # only the public headers are installed
cmake -S "$source_dir/examples" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/build/quickstart"
