#!/usr/bin/env bash
# Opt-in end-to-end check (not part of CI): `coe consult` against real
# llama.cpp running a tiny random-weight model, through both the OpenAI and
# the Ollama API.  Needs Node.js >= 20, npm and the npm registry.
#
#   tests/local-llm/run-e2e.sh            (from the repository root)
#   COE=path/to/coe LOCAL_LLM_PORT=8089 tests/local-llm/run-e2e.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COE="${COE:-$ROOT/build/bin/coe}"
PORT="${LOCAL_LLM_PORT:-8089}"
MODEL="$HERE/tiny.gguf"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/coe-local-llm.XXXXXX")"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }
die() { printf 'run-e2e: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node.js >= 20 is needed)"
command -v npm >/dev/null || die "npm is not installed"
command -v curl >/dev/null || die "curl is not installed"
[[ -x "$COE" ]] || die "$COE not found: build coe first (or set COE=path/to/coe)"
"$COE" --help 2>&1 | grep -q 'consult' || die "$COE has no consult command"

# 1. node-llama-cpp with its prebuilt CPU binaries, from npm only: never
#    download llama.cpp or compile it (NODE_LLAMA_CPP_SKIP_DOWNLOAD), and
#    leave out the optional CUDA/Vulkan builds.  `npm install` (which keeps to
#    package-lock.json) rather than `npm ci`: 3.22.1 lists mac/win binary
#    packages that were never published, and `npm ci` refuses the lock for that.
say "installing node-llama-cpp into tests/local-llm/node_modules"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
(cd "$HERE" && timeout 600 npm install --omit=optional --no-audit --no-fund --loglevel=error) ||
    die "npm install failed (is the npm registry reachable?)"

# 2. The model.  Its tokenizer comes from llama.cpp's models/ggml-vocab-llama-spm.gguf,
#    which is inside the git bundle of llama.cpp that node-llama-cpp ships;
#    without git or that file (or with TINY_VOCAB=synthetic) a small
#    synthetic SPM vocabulary is used instead.
say "making the tiny model"
VOCAB_ARGS=()
BUNDLE="$HERE/node_modules/node-llama-cpp/llama/gitRelease.bundle"
if [[ "${TINY_VOCAB:-llama-spm}" != synthetic ]] && command -v git >/dev/null && [[ -f "$BUNDLE" ]]; then
    if git init -q --bare "$WORK/llama.git" &&
        timeout 120 git --git-dir="$WORK/llama.git" fetch -q "$BUNDLE" HEAD:refs/heads/bundle 2>/dev/null &&
        git --git-dir="$WORK/llama.git" show bundle:models/ggml-vocab-llama-spm.gguf >"$WORK/vocab.gguf" 2>/dev/null; then
        VOCAB_ARGS=(--vocab "$WORK/vocab.gguf")
    else
        echo "(no vocab file in the bundle: using a synthetic vocabulary)"
    fi
fi
timeout 120 node "$HERE/make-tiny-model.mjs" --out "$MODEL" --seed "${TINY_SEED:-1234}" "${VOCAB_ARGS[@]}"

# 3. The server, in the background; the trap stops it.
say "starting the server on 127.0.0.1:$PORT"
if curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/"; then
    die "something already listens on 127.0.0.1:$PORT (set LOCAL_LLM_PORT)"
fi
node "$HERE/server.mjs" --model "$MODEL" --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 120); do
    curl -sf -m 2 -o /dev/null "http://127.0.0.1:$PORT/health" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited"; }
    [[ $i == 120 ]] && { cat "$WORK/server.log" >&2; die "the server did not come up in 60 s"; }
    sleep 0.5
done
cat "$WORK/server.log"

# 4. The experts: the same local server through both APIs.
write_experts() {  # $1: file, $2: stream true|false
    cat >"$1" <<EOF
{"experts": [
  {"name": "tiny-openai", "provider": "openai", "base_url": "http://127.0.0.1:$PORT/v1",
   "model": "tiny", "max_tokens": 48, "temperature": 0.8, "stream": $2, "timeout_ms": 60000},
  {"name": "tiny-ollama", "provider": "ollama", "base_url": "http://127.0.0.1:$PORT",
   "model": "tiny", "max_tokens": 48, "temperature": 0, "stream": $2, "timeout_ms": 60000}
]}
EOF
}
write_experts "$WORK/experts.json" true
write_experts "$WORK/experts-whole.json" false

# Checks one output: two answers, each "ok"; with --stream (run with
# --deltas), the last line is the "final" event and expert_delta events came
# before it.
check() {  # $1: output file, $2: json|stream
    node - "$1" "$2" <<'EOF'
const fs = require("fs");
const [file, mode] = process.argv.slice(2);
const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
let result;
if (mode === "stream") {
  const events = lines.map((l) => JSON.parse(l));
  result = events[events.length - 1];
  if (result.type !== "final") throw new Error(`the last event is ${result.type}, not final`);
  const deltas = events.filter((e) => e.type === "expert_delta").length;
  if (!deltas) throw new Error("no expert_delta events");
  console.log(`${events.length} events, ${deltas} deltas`);
} else {
  if (lines.length !== 1) throw new Error(`expected one JSON line, got ${lines.length}`);
  result = JSON.parse(lines[0]);
}
const answers = result.answers ?? [];
if (answers.length !== 2) throw new Error(`expected 2 answers, got ${answers.length}`);
let bad = 0;
for (const a of answers) {
  console.log(`${a.expert} (${a.provider}): ${a.status}, finish ${a.finish_reason}, ` +
    `${a.tokens_in} in / ${a.tokens_out} out, ${a.latency_ms} ms: ${JSON.stringify(a.content).slice(0, 100)}`);
  if (a.status !== "ok") { bad++; console.log(`  error: ${a.error}`); }
}
if (bad) process.exit(1);
EOF
}

run_coe() {  # $1: name, $2: experts file, $3: --json|--stream, then more options
    local name="$1" experts="$2" mode="$3" rc=0
    shift 3
    say "coe consult $mode $* ($name)"
    timeout 120 "$COE" consult "What is a circle of experts?" --experts "$experts" "$mode" "$@" --deadline 90s \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    grep -v '"type":"expert_delta"' "$WORK/$name.out" | cut -c1-600 || true  # deltas: counted by check
    cat "$WORK/$name.err" >&2
    [[ $rc == 0 ]] || die "coe consult $mode exited $rc"
    check "$WORK/$name.out" "${mode#--}" || die "coe consult $mode: the check failed"
}

run_coe json "$WORK/experts.json" --json
run_coe stream "$WORK/experts.json" --stream --deltas
run_coe json-whole "$WORK/experts-whole.json" --json   # the non-streamed HTTP answers

say "server log"
cat "$WORK/server.log"
say "local-llm e2e: passed"
