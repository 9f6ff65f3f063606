#!/usr/bin/env bash
# The official openai npm package as a client of `coe serve`, with three
# experts on the fake provider server; all on 127.0.0.1, bounded in time.
#   run.sh COE FAKE_PROVIDER_SERVER
# Installs the package from the npm registry (package-lock.json) when
# node_modules is missing.  Exits 77 (skipped) without Node.js.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COE="$1"
FAKE="$2"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIPPED: node and npm are not installed"; exit 77; }
if [ ! -d "$HERE/node_modules/openai" ]; then
  (cd "$HERE" && timeout 300 npm ci --no-audit --no-fund >/dev/null)
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/coe-openai-client.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_line() {  # FILE PATTERN: the first match, within 20 s
  for _ in $(seq 1 200); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -o "$2" "$1" | head -1; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

mkfifo "$WORK/fake.in"  # the fake server runs until its standard input ends: with this script
"$FAKE" <"$WORK/fake.in" >"$WORK/fake.out" 2>&1 &
PIDS+=($!)
exec 3>"$WORK/fake.in"
FAKE_URL="http://127.0.0.1:$(wait_for_line "$WORK/fake.out" 'port [0-9]*' | cut -d' ' -f2)"
cat >"$WORK/experts.json" <<JSON
{"experts": [
  {"name": "a", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=cache_a"},
  {"name": "b", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=cache_b"},
  {"name": "c", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=rewrite"}]}
JSON
export COE_SERVE_TOKEN="client-test-token-0123456789"
"$COE" serve --listen 127.0.0.1:0 --experts "$WORK/experts.json" --token-env COE_SERVE_TOKEN >"$WORK/serve.out" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
SERVE_URL="$(wait_for_line "$WORK/serve.out" 'http://127.0.0.1:[0-9]*')"
timeout 120 node "$HERE/chat.mjs" "$SERVE_URL/v1" "$COE_SERVE_TOKEN"
kill -TERM "$SERVE"
for _ in $(seq 1 100); do kill -0 "$SERVE" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVE" 2>/dev/null; then echo "coe serve did not stop on SIGTERM" >&2; exit 1; fi
wait "$SERVE" || { echo "coe serve exited with status $? after SIGTERM" >&2; exit 1; }
grep -q "coe serve: stopped" "$WORK/serve.out"
echo "coe serve stopped cleanly on SIGTERM"
