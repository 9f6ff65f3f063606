#!/usr/bin/env bash
# What running a plugin in a worker process costs (coe/plugin_isolation.hpp):
# `coe analyze` on the 80 MT-Bench panels with one plugin loaded through
# --plugin-path, in process and then isolated, RUNS times each (default 5).
#   bench/isolation_cost.sh [BUILD_DIR] [PLUGIN_NAME] [RUNS] [THREADS]
# PLUGIN_NAME is a backend of the build (avx512, avx2, scalar; default avx2);
# THREADS is `coe analyze --threads` (default 0: every core; an isolated
# plugin serves one call at a time, so other threads wait for it).
# The plugin file is copied out of the build tree first, so it is a file the
# package did not ship (auto would isolate it); both runs force the mode.
# Prints, per mode, the median wall time of the whole run and, from the
# engine's performance report of the last run, each operation's p50 latency
# on that backend; then the difference per call and per panel.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
NAME="${2:-avx2}"
RUNS="${3:-5}"
THREADS="${4:-0}"
THREAD_ARGS=()
[ "$THREADS" = 0 ] || THREAD_ARGS=(--threads "$THREADS")
COE="$BUILD/bin/coe"
PLUGIN="$BUILD/plugin-modules/coe_backend_$NAME.so"
CORPUS="$ROOT/../shared/data/mtbench-panels.jsonl"
for f in "$COE" "$PLUGIN" "$CORPUS"; do
  [ -e "$f" ] || { echo "isolation_cost: $f is missing; build the project first" >&2; exit 2; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/coe-isolation.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$PLUGIN" "$WORK/third_party_$NAME.so"

for mode in in_process process; do
  for i in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$COE" analyze "$CORPUS" --json --backend "$NAME" --plugin-path "$WORK/third_party_$NAME.so" \
      --plugin-isolation "$mode" "${THREAD_ARGS[@]}" --report "$WORK/report-$mode.json" > "$WORK/out-$mode.jsonl"
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 )) >> "$WORK/wall-$mode.txt"
  done
done

python3 - "$WORK" "$NAME" "$THREADS" <<'PY'
import json, statistics, sys
work, name = sys.argv[1], sys.argv[2]
def load(mode):
    wall = statistics.median(int(x) for x in open(f"{work}/wall-{mode}.txt")) / 1000.0
    rep = json.load(open(f"{work}/report-{mode}.json"))
    ops = {o["operation"]: (o["calls"], o["latency_ms"]["p50"]) for o in rep["operations"] if o["backend"] == name}
    reports = [json.loads(l) for l in open(f"{work}/out-{mode}.jsonl") if l.strip()]
    return wall, ops, reports, rep["panels"]["analysed"]
a = load("in_process"); b = load("process")
strip = lambda r: {k: v for k, v in r.items() if k not in ("timing_ms", "backend", "served_by", "degraded", "events")}
same = sum(strip(x) == strip(y) for x, y in zip(a[2], b[2]))
print(f"backend {name}, {a[3]} panels, threads {sys.argv[3]}, median of the runs' wall time")
print(f"  in_process  {a[0]:9.1f} ms")
print(f"  process     {b[0]:9.1f} ms   (+{b[0] - a[0]:.1f} ms, +{(b[0] - a[0]) / max(a[3], 1):.3f} ms per panel)")
print("operation         calls   p50 in_process   p50 process   difference")
for op in sorted(a[1]):
    if op not in b[1]: continue
    print(f"  {op:16} {a[1][op][0]:5}   {a[1][op][1]*1000:10.1f} us   {b[1][op][1]*1000:8.1f} us   {(b[1][op][1]-a[1][op][1])*1000:+8.1f} us")
print(f"reports equal apart from timing and serving backend: {same} of {len(a[2])}")
PY
