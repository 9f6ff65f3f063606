#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install the dependencies, build
# the engine, the plugins and the `coe` tool (into build/) and the WebAssembly
# engine (build-wasm/coe.mjs), fetch and convert
# the word vectors (into build/share/coe, or $COE_DATA_DIR; the default
# features, see docs/analysis.md), then run the main
# job, `coe analyze`, on the shipped example panel (examples/panel.json), and
# the same from Python when the `coe` module was built (docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# the WebAssembly engine first (docs/wasm.md; a couple of minutes): `coe
# serve` compiles it into its web page, whose analyse-a-file view runs it
scripts/build-wasm.sh ||
  echo "setup: build-wasm/coe.mjs was not built; the web page cannot analyse files until scripts/build-wasm.sh builds it" >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
# the analysis runs without them (TF-IDF): a failed download does not stop the setup
scripts/fetch-word-vectors.sh ||
  echo "setup: the word vectors could not be fetched; the analysis compares words (TF-IDF) until they are" >&2

echo
echo "== build/bin/coe analyze"
build/bin/coe analyze

if [ -d build/python/coe ]; then
  echo
  echo "== PYTHONPATH=build/python python3: coe.Engine().analyze(examples/panel.json)['consensus']"
  PYTHONPATH=build/python python3 -c "import coe; print(coe.Engine().analyze(open('examples/panel.json').read())['consensus'])"
fi
