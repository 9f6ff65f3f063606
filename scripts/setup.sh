#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install the dependencies, build
# the engine, the plugins and the `coe` tool (into build/), fetch and convert
# the word vectors (into build/share/coe, or $COE_DATA_DIR; used with
# --features auto or word_vectors, see docs/analysis.md), then run the main
# job, `coe analyze`, on the shipped example panel (examples/panel.json).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
# the analysis runs without them (TF-IDF): a failed download does not stop the setup
scripts/fetch-word-vectors.sh || echo "setup: the word vectors could not be fetched; --features word_vectors needs them" >&2

echo
echo "== build/bin/coe analyze"
build/bin/coe analyze
