#!/usr/bin/env bash
# Installs every Debian package autosched needs. Idempotent: when all packages
# are present it only checks (dpkg-query) and exits; apt-get update runs only
# when something is missing.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build ccache pkg-config
  libtbb-dev libdnnl-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
  libclblast-dev libhwloc-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libonnx-dev
  libprotobuf-dev protobuf-compiler libonnx-testdata
  clang libclang-rt-14-dev gdb
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
