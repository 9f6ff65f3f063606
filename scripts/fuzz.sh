#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (ASan + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from a seed corpus made of the
# shipped data.  Longer runs: scripts/fuzz.sh 3600.  A crash leaves its input
# in build-fuzz/ (crash-*) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=build-fuzz

CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOE_BUILD_BENCH=OFF \
  -DCOE_BUILD_FUZZERS=ON -DCOE_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_panel fuzz_config fuzz_result_checks

# seeds: the example panel, the first MT-Bench panels (one file each and all
# together), the example experts file
corpus=$dir/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/panel "$corpus"/config "$corpus"/result_checks
cp examples/panel.json "$corpus"/panel/
data=../shared/data/mtbench-panels.jsonl
if [ -f "$data" ]; then
  head -n 3 "$data" > "$corpus"/panel/mtbench-3.jsonl
  for i in 1 2 3 4 5; do sed -n "${i}p" "$data" | cut -b 1-60000 > "$corpus/panel/mtbench-line-$i.json"; done
fi
cp examples/experts.json "$corpus"/config/
printf '{"resilience": {"shadow_rate": 0.5, "breaker": {"minimum_calls": 3}}, "faults": ["avx2:nan:0.5"]}' \
  > "$corpus"/config/engine.json
head -c 256 /dev/urandom > "$corpus"/result_checks/random

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for name in panel config result_checks; do
  echo "== fuzz_$name for ${seconds}s"
  rc=0
  (cd "$dir" && "./bin/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 "corpus/$name" > "fuzz_$name.log" 2>&1) || rc=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|ERROR|SUMMARY)|Test unit written" "$dir/fuzz_$name.log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$dir/fuzz_$name.log"
    echo "fuzz_$name failed (exit $rc); the input is in $dir/ (crash-*, timeout-*, oom-*)"
    exit 1
  fi
done
echo "fuzz: no crash in $((3 * seconds)) s"
