#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors build tested with CTest, the
# same tests built with AddressSanitizer + UndefinedBehaviorSanitizer, and
# the concurrency tests (and the consultation's network thread) built with
# ThreadSanitizer, then a short libFuzzer run of each harness (clang, ASan +
# UBSan; scripts/fuzz.sh).  Tests that cannot run on
# this CPU (e.g. avx512) are reported as skipped, with their reason printed
# below the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

# run_suite <build dir> <label> <ctest label or ""> <build targets or ""> <cmake args...>
run_suite() {
  local dir=$1 label=$2 filter=$3 target=$4
  shift 4
  echo "== [$label] configure and build ($dir)"
  cmake -S . -B "$dir" -G Ninja -DCOE_WARNINGS_AS_ERRORS=ON -DCOE_BUILD_BENCH=OFF "$@" >/dev/null
  # shellcheck disable=SC2086  # the targets are a space-separated list
  cmake --build "$dir" -j "$jobs" ${target:+--target $target}
  echo "== [$label] ctest"
  local rc=0
  (cd "$dir" && ctest --output-on-failure -j "$jobs" ${filter:+-L "$filter"}) || rc=$?
  # ctest does not show why a test skipped; the test printed it
  if [ -f "$dir/Testing/Temporary/LastTest.log" ]; then
    grep -h "^SKIPPED: " "$dir/Testing/Temporary/LastTest.log" | grep -v "masked for this test" |
      sed "s/^/[$label] /" || true
  fi
  return $rc
}

# The WebAssembly engine first, so that the release build's `coe serve`
# compiles it into its web page (serve.web_page analyses a file with it);
# the release suite's wasm.node compares it with this build's `coe`.
echo "== [wasm] scripts/build-wasm.sh"
wasm_rc=0
COE_WASM_JOBS=$jobs COE_WASM_WARNINGS_AS_ERRORS=ON scripts/build-wasm.sh || wasm_rc=$?
if [ "$wasm_rc" -ne 0 ]; then
  # 77: emscripten or node missing (a skip); anything else fails the suite below
  echo "[wasm] build-wasm/coe.mjs was not built (exit $wasm_rc): wasm.node and the web page's analyse view skip"
fi
run_suite build-test release "" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan asan+ubsan "" "" -DCMAKE_BUILD_TYPE=Debug -DCOE_SANITIZE=address,undefined
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  run_suite build-tsan tsan concurrency "concurrency_tests reload_tests isolation_tests consult_tests serve_tests" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCOE_SANITIZE=thread
echo "== [fuzz] libFuzzer harnesses, 60 s each"
scripts/fuzz.sh 60
if [ "$wasm_rc" -ne 0 ] && [ "$wasm_rc" -ne 77 ]; then
  echo "== [wasm] FAILED: scripts/build-wasm.sh exited $wasm_rc (see its output at the top)"
  exit 1
fi
