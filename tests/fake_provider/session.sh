# session.sh - sourced by the scripts that run `coe serve` against the fake
# provider server (tests/openai-client, tests/web-page, bench/soak.sh):
#   . tests/fake_provider/session.sh
#   start_session NAME                 a work folder $WORK, removed on exit with
#                                      every process in PIDS
#   start_fake_provider FAKE_SERVER    runs it until the script ends; sets FAKE_URL
#   wait_for_line FILE PATTERN         the first match, within 20 s
# Everything listens on 127.0.0.1.
PIDS=()

start_session() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  trap session_cleanup EXIT
}

session_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

wait_for_line() {
  for _ in $(seq 1 200); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -o "$2" "$1" | head -1; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

start_fake_provider() {
  mkfifo "$WORK/fake.in"  # the fake server runs until its standard input ends: with this script
  "$1" <"$WORK/fake.in" >"$WORK/fake.out" 2>&1 &
  PIDS+=($!)
  exec 3>"$WORK/fake.in"
  FAKE_URL="http://127.0.0.1:$(wait_for_line "$WORK/fake.out" 'port [0-9]*' | cut -d' ' -f2)"
}
