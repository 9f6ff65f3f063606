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
. "$HERE/../fake_provider/session.sh"
start_session coe-openai-client
start_fake_provider "$FAKE"
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
