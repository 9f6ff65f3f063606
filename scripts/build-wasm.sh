#!/usr/bin/env bash
# Builds the analysis engine as WebAssembly (docs/wasm.md) with Debian's
# emscripten: build-wasm/coe.mjs, one self-contained ES module holding a
# WebAssembly SIMD module and a scalar one.  Needs emcc/emcmake and node
# (scripts/install-deps.sh installs them).
#   scripts/build-wasm.sh [BUILD_DIR]      (default build-wasm)
# COE_WASM_WARNINGS_AS_ERRORS=ON makes every compiler warning an error (the
# test suite sets it: 32-bit size_t finds truncations no 64-bit build sees).
# Exit status 77 with "SKIPPED: ..." when emscripten or node is missing, so
# that tests can tell a skip from a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-wasm}

for tool in emcmake emcc node; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIPPED: $tool not found (scripts/install-deps.sh installs emscripten and nodejs)"
    exit 77
  fi
done
# Debian's emscripten runs its JavaScript optimiser with the system's node
# modules (acorn) only when told where they are.
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

emcmake cmake -S . -B "$build" "${generator[@]}" -DCOE_WASM=ON -DCMAKE_BUILD_TYPE=Release \
  -DCOE_WARNINGS_AS_ERRORS="${COE_WASM_WARNINGS_AS_ERRORS:-OFF}" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "${COE_WASM_JOBS:-1}"
echo "build-wasm: $build/coe.mjs ($(stat -c %s "$build/coe.mjs") bytes)"
