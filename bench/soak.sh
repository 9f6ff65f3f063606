#!/usr/bin/env bash
# Soak: `coe serve` with five experts on the fake provider, three of them
# misbehaving, under COUNT consultations (default 10000) at CONCURRENCY
# (default 50) through /v1/chat/completions, every other one streamed.
#   bench/soak.sh [BUILD_DIR] [COUNT] [CONCURRENCY]
# The experts:
#   steady-a, steady-b   answer at once
#   rate-limited         every 4th request: 429 with retry-after-ms 100 (retried)
#   flaky-5xx            every 5th request: 503, not retried (20 % of its answers fail)
#   staller              every 10th request: no byte for 5 s; the expert's
#                        first_byte_timeout_ms (1 s) ends it, not retried
# Prints the client's JSON summary (answered/failed by class, each expert's
# statuses, latency percentiles, the server's RSS after warm-up and at the
# end) and the server's own counters from /metrics.  Everything on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
COUNT="${2:-10000}"
CONCURRENCY="${3:-50}"
COE="$BUILD/bin/coe"
FAKE="$BUILD/bin/fake_provider_server"
for f in "$COE" "$FAKE"; do
  [ -x "$f" ] || { echo "soak: $f is missing; build the project first (scripts/setup.sh)" >&2; exit 2; }
done
command -v node >/dev/null || { echo "soak: node is required for the load client" >&2; exit 2; }

. "$ROOT/tests/fake_provider/session.sh"
start_session coe-soak
start_fake_provider "$FAKE"
FAKE_URL="$FAKE_URL/v1"
cat >"$WORK/experts.json" <<JSON
{"experts": [
  {"name": "steady-a", "provider": "openai", "base_url": "$FAKE_URL", "model": "reply=cache_a", "max_concurrent": 64},
  {"name": "steady-b", "provider": "openai", "base_url": "$FAKE_URL", "model": "reply=cache_b", "max_concurrent": 64},
  {"name": "rate-limited", "provider": "openai", "base_url": "$FAKE_URL", "max_concurrent": 64,
   "model": "reply=cache_c,fail_every=4,status=429,retry_after_ms=100", "backoff_initial_ms": 50},
  {"name": "flaky-5xx", "provider": "openai", "base_url": "$FAKE_URL", "max_concurrent": 64,
   "model": "reply=rewrite,fail_every=5,status=503", "max_retries": 0},
  {"name": "staller", "provider": "openai", "base_url": "$FAKE_URL", "max_concurrent": 64,
   "model": "reply=index,fail_every=10,stall_first=5000", "first_byte_timeout_ms": 1000, "max_retries": 0}],
 "expert_breaker": {"minimum_calls": 10, "failure_rate_threshold": 0.6}}
JSON
export COE_SOAK_TOKEN="soak-token-0123456789abcdef"
"$COE" serve --listen 127.0.0.1:0 --experts "$WORK/experts.json" --token-env COE_SOAK_TOKEN \
  --deadline 10s --max-per-client 1000 >"$WORK/serve.out" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
SERVE_URL="$(wait_for_line "$WORK/serve.out" 'http://127.0.0.1:[0-9]*')"
echo "soak: $COUNT consultations, $CONCURRENCY at a time, against $SERVE_URL ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores)" >&2
node "$ROOT/bench/soak_client.mjs" "$SERVE_URL" "$COE_SOAK_TOKEN" "$COUNT" "$CONCURRENCY" "$SERVE" \
  $((COUNT / 10))
echo "soak: server counters" >&2
curl -s -H "Authorization: Bearer $COE_SOAK_TOKEN" "$SERVE_URL/metrics" |
  grep -E '^coe_http_(requests_total|slow_client_disconnects_total)|^coe_expert_(requests_total|answers_total)' >&2 || true
