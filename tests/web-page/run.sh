#!/usr/bin/env bash
# The web page of `coe serve` in headless Debian chromium, driven by
# playwright-core (a test client only), against three answering experts and
# one failing one on the fake provider server; all on 127.0.0.1.
#   run.sh COE FAKE_PROVIDER_SERVER OUT_DIR PANEL_FILE
# Installs playwright-core from the npm registry (package-lock.json) when
# node_modules is missing.  Exits 77 (skipped) without Node.js or chromium.
# Writes OUT_DIR/web-page.png.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COE="$1"
FAKE="$2"
OUT="$3"
PANEL="$4"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIPPED: node and npm are not installed"; exit 77; }
export COE_TEST_CHROMIUM="${COE_TEST_CHROMIUM:-/usr/lib/chromium/chromium}"
[ -x "$COE_TEST_CHROMIUM" ] || { echo "SKIPPED: chromium is not installed (apt-get install chromium)"; exit 77; }
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && timeout 300 npm ci --no-audit --no-fund >/dev/null)
fi
mkdir -p "$OUT"
. "$HERE/../fake_provider/session.sh"
start_session coe-web-page
start_fake_provider "$FAKE"
# "bad" answers HTTP 400 every time: a failure no retry mends.
cat >"$WORK/experts.json" <<JSON
{"experts": [
  {"name": "a", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=cache_a"},
  {"name": "b", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=cache_b"},
  {"name": "c", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "reply=rewrite"},
  {"name": "bad", "provider": "openai", "base_url": "$FAKE_URL/v1", "model": "status=400"}]}
JSON
"$COE" analyze "$PANEL" --json --features tfidf >"$WORK/cli-report.json"
export COE_SERVE_TOKEN="web-page-test-token-0123456789"
"$COE" serve --listen 127.0.0.1:0 --experts "$WORK/experts.json" --token-env COE_SERVE_TOKEN >"$WORK/serve.out" 2>&1 &
PIDS+=($!)
SERVE_URL="$(wait_for_line "$WORK/serve.out" 'http://127.0.0.1:[0-9]*')"
timeout 150 node "$HERE/page.mjs" "$SERVE_URL/" "$COE_SERVE_TOKEN" "$OUT" "$PANEL" "$WORK/cli-report.json"
echo "screenshot: $OUT/web-page.png"
