#!/usr/bin/env bash
# The WebAssembly engine against the native CLI (tests/wasm/wasm_reports_test.mjs):
# builds build-wasm/coe.mjs when needed (scripts/build-wasm.sh, incremental),
# then compares both modules' reports and errors with COE_BINARY's.
#   tests/wasm/run_wasm_tests.sh COE_BINARY [DATA_DIR]   (default ../shared/data)
# Exit 77 with "SKIPPED: reason" when emscripten, node or the data is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
coe=${1:?usage: run_wasm_tests.sh COE_BINARY [DATA_DIR]}
data=${2:-$root/../shared/data}
panels=$data/mtbench-panels.jsonl

if ! command -v node >/dev/null; then echo "SKIPPED: node not found (scripts/install-deps.sh installs it)"; exit 77; fi
if [ ! -f "$panels" ]; then echo "SKIPPED: $panels not found"; exit 77; fi
status=0
"$root/scripts/build-wasm.sh" "$root/build-wasm" || status=$?
if [ "$status" = 77 ]; then exit 77; fi   # build-wasm.sh printed SKIPPED: why
if [ "$status" != 0 ]; then echo "run_wasm_tests: scripts/build-wasm.sh failed" >&2; exit 1; fi
exec node "$root/tests/wasm/wasm_reports_test.mjs" "$root/build-wasm/coe.mjs" "$coe" "$panels"
