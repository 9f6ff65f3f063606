#!/usr/bin/env bash
# Throughput of `coe worker` on NATS JetStream: the same batch of analysis
# jobs done by 1 worker, then by 2 (each --threads 1), on one nats-server -js
# on 127.0.0.1.  Prints panels per second for each and the ratio.
#   bench/scaleout_compare.sh [COE] [PANELS]      (default build/bin/coe, 800)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COE="${1:-$ROOT/build/bin/coe}"
PANELS="${2:-800}"
CORPUS="$ROOT/../shared/data/mtbench-panels.jsonl"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/coe-scaleout-bench.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

nats-server -js -a 127.0.0.1 -p -1 -sd "$WORK/store" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Listening for client" "$WORK/nats.log" && break; sleep 0.1; done
URL="nats://127.0.0.1:$(grep -o 'client connections on [0-9.:]*' "$WORK/nats.log" | grep -o '[0-9]*$')"
: >"$WORK/panels.jsonl"
while [ "$(wc -l <"$WORK/panels.jsonl")" -lt "$PANELS" ]; do cat "$CORPUS" >>"$WORK/panels.jsonl"; done
head -n "$PANELS" "$WORK/panels.jsonl" >"$WORK/batch.jsonl"

run() {  # WORKERS -> seconds for the whole batch
  local n=$1 batch="w$1-$RANDOM" wpids=()
  "$COE" submit --nats "$URL" "$WORK/batch.jsonl" --batch "$batch" >/dev/null
  local start end
  start=$(date +%s.%N)
  for _ in $(seq 1 "$n"); do "$COE" worker --nats "$URL" --threads 1 2>/dev/null & wpids+=($!); done
  "$COE" collect --nats "$URL" --batch "$batch" --timeout 600s >/dev/null
  end=$(date +%s.%N)
  for p in "${wpids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }' 
}

grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /cpu: /'
echo "cores: $(nproc), panels: $PANELS (MT-Bench, repeated)"
t1=$(run 1)
t2=$(run 2)
awk -v n="$PANELS" -v t1="$t1" -v t2="$t2" 'BEGIN {
  printf "1 worker : %6.2f s  %7.1f panels/s\n", t1, n / t1
  printf "2 workers: %6.2f s  %7.1f panels/s\n", t2, n / t2
  printf "scaling 1 -> 2 workers: %.2fx\n", t1 / t2 }' 
