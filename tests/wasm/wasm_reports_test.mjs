// wasm_reports_test.mjs - the WebAssembly engine (build-wasm/coe.mjs) gives
// the native CLI's reports and errors, for the SIMD and the scalar module.
//   node tests/wasm/wasm_reports_test.mjs COE_MJS COE_BINARY PANELS_JSONL
// Reports are compared as text, every field but timing_ms and the backend
// names (backend, served_by's values).  With --features tfidf both sides
// compare the same features; with the default (auto) both fall back to
// TF-IDF for want of word vectors, and only features_note says why in
// their own words.  Exit 0: all passed; 1: a difference (printed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulePath, coeBinary, panelsPath] = process.argv.slice(2);
if (!panelsPath) {
  console.error('usage: node wasm_reports_test.mjs COE_MJS COE_BINARY PANELS_JSONL');
  process.exit(2);
}
const { default: createCoe, simdSupported } = await import(pathToFileURL(modulePath).href);
const scratch = mkdtempSync(join(tmpdir(), 'coe-wasm-test-'));
const emptyDataDir = join(scratch, 'no-word-vectors');
let failures = 0;
let checks = 0;

function check(ok, what, detail = '') {
  ++checks;
  if (!ok) {
    ++failures;
    console.log(`FAIL ${what}${detail ? '\n' + detail : ''}`);
  }
}

// The native CLI on `input` (a file path, or text on stdin when file is null).
function native(args, { file = null, stdin = '' } = {}) {
  const r = spawnSync(coeBinary, ['analyze', file ?? '-', '--json', '--threads', '1', '--backend', 'scalar', ...args], {
    input: file ? undefined : stdin,
    env: { ...process.env, COE_DATA_DIR: emptyDataDir, COE_CONFIG: '', COE_BACKEND: '', COE_PLUGIN_PATH: '' },
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A report line without what may differ: timings and backend names.
function comparable(line) {
  return line
    .replace(/"timing_ms":\{[^}]*\}/, '"timing_ms":{}')
    .replace(/"backend":"[^"]*"/, '"backend":""')
    .replace(/"served_by":\{[^}]*\}/, (m) => m.replace(/:"[^"]*"/g, ':""'));
}
function withoutNote(line) {
  return line.replace(/"features_note":"(?:[^"\\]|\\.)*"/, '"features_note":""');
}

function compareLines(what, nativeText, wasmText, normalise = comparable) {
  const a = nativeText.split('\n').filter((l) => l !== '');
  const b = wasmText.split('\n').filter((l) => l !== '');
  check(a.length === b.length, `${what}: ${b.length} lines from wasm, ${a.length} from the CLI`);
  const n = Math.min(a.length, b.length);
  let differing = 0;
  for (let i = 0; i < n; ++i) {
    if (normalise(a[i]) !== normalise(b[i])) {
      if (differing++ < 3) check(false, `${what}: line ${i + 1} differs`, `  cli:  ${a[i].slice(0, 400)}\n  wasm: ${b[i].slice(0, 400)}`);
    }
  }
  if (differing > 3) check(false, `${what}: ${differing} lines differ in all`);
  return n;
}

// The input cases of the error tests: [name, text].
const deep = '['.repeat(100000) + ']'.repeat(100000);
const manyExperts = JSON.stringify({ responses: Array.from({ length: 1025 }, (_, i) => ({ expert: `e${i}`, content: 'x' })) });
// 40 experts with 100-dimensional embeddings: the canonical dense dot
// product over whole 16-lane steps and a zero-padded tail, in register tiles
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const denseEmbeddings = JSON.stringify({ responses: Array.from({ length: 40 }, (_, i) => ({
  expert: `e${i}`, content: `answer ${i % 7}`, embedding: Array.from({ length: 100 }, random) })) });
const badInputs = [
  ['invalid JSON', '{"responses": [{"expert": "a", "content": "x"}'],
  ['not JSON at all', 'hello'],
  ['empty input', ''],
  ['blank input', ' \n\n  '],
  ['an array, not a panel', '[1, 2, 3]'],
  ['missing responses', '{"id": "q"}'],
  ['responses not an array', '{"responses": 3}'],
  ['no responses', '{"responses": []}'],
  ['response missing content', '{"responses": [{"expert": "a"}]}'],
  ['expert not a string', '{"responses": [{"expert": 5, "content": "x"}]}'],
  ['confidence out of range', '{"responses": [{"expert": "a", "content": "x", "confidence": 1.5}]}'],
  ['confidence overflows', '{"responses": [{"expert": "a", "content": "x", "confidence": 1e999}]}'],
  ['duplicate experts', '{"responses": [{"expert": "a", "content": "x"}, {"expert": "a", "content": "y"}]}'],
  ['embedding not numbers', '{"responses": [{"expert": "a", "content": "x", "embedding": ["z"]}]}'],
  ['nested 100000 deep', deep],
  ['1025 experts (over --max-experts)', manyExperts],
  ['NUL and control bytes', '{"responses": [{"expert": "a\\u0000b", "content": "\\u0001\\u0002"}]}'],
  ['lone surrogate escape', '{"responses": [{"expert": "a", "content": "\\ud800"}]}'],
  // not bad: embeddings are compared by the dense similarity, as natively
  ['responses with embeddings', JSON.stringify({ responses: [[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0.2, 0.7, 0.1]]
    .map((embedding, i) => ({ expert: `e${i}`, content: `answer ${i}`, embedding })) })],
  ['40 responses with 100-dimensional embeddings', denseEmbeddings],
];

try {
  const panels = readFileSync(panelsPath, 'utf8');
  const tfidf = native(['--features', 'tfidf'], { file: panelsPath });
  check(tfidf.status === 0, `the CLI analyses ${panelsPath}`, tfidf.stderr);
  const auto = native([], { file: panelsPath });
  check(auto.status === 0, `the CLI analyses ${panelsPath} with automatic features`, auto.stderr);
  const backends = simdSupported() ? ['wasm_simd128', 'scalar'] : ['scalar'];
  if (!simdSupported()) console.log('note: this runtime has no WebAssembly SIMD; only the scalar module is tested');

  for (const backend of backends) {
    const coe = await createCoe({ backend });
    check(coe.backend() === backend, `${backend}: backend() is ${coe.backend()}`);
    check(/^\d+\.\d+\.\d+/.test(coe.version()), `${backend}: version() is ${coe.version()}`);

    // every MT-Bench panel, TF-IDF on both sides: identical but for timings and names
    const lines = coe.analyzeLines(panels, { source: panelsPath, features: 'tfidf' });
    const n = compareLines(`${backend} --features tfidf`, tfidf.stdout, lines);
    check(n === 80 || !panelsPath.endsWith('mtbench-panels.jsonl'), `${backend}: ${n} reports, 80 expected`);
    // automatic features: the same reports, each note saying why there are no word vectors
    const autoLines = coe.analyzeLines(panels, { source: panelsPath });
    compareLines(`${backend} automatic features`, auto.stdout, autoLines, (l) => comparable(withoutNote(l)));
    check(autoLines.split('\n')[0].includes('"features_note":"no word vectors in the WebAssembly engine'),
      `${backend}: automatic features say why TF-IDF was used`);
    // analyze() of one panel = its analyzeLines line
    const first = panels.split('\n')[0];
    check(comparable(coe.analyze(first, { source: panelsPath, features: 'tfidf' })) === comparable(lines.split('\n')[0]),
      `${backend}: analyze() of the first panel equals its analyzeLines() line`);
    // a pretty-printed panel, as the CLI reads it on stdin
    const example = readFileSync(new URL('../../examples/panel.json', import.meta.url), 'utf8');
    const exampleCli = native(['--features', 'tfidf'], { stdin: example });
    check(comparable(coe.analyze(example, { source: '<stdin>', features: 'tfidf' })) === comparable(exampleCli.stdout.trim()),
      `${backend}: examples/panel.json as the CLI reports it`);

    // bad input: the CLI's error line, or its fatal message as {"error": ...}
    for (const [name, text] of badInputs) {
      const cli = native([], { stdin: text });
      const got = coe.analyze(text, { source: '<stdin>' });
      let expected = cli.stdout.trim();
      if (cli.status === 1 && expected === '') {
        expected = JSON.stringify({ error: cli.stderr.trim().replace(/^coe analyze: /, '').split('\n')[0] });
      }
      check(comparable(withoutNote(got)) === comparable(withoutNote(expected)), `${backend}: ${name}`, `  cli:  ${expected.slice(0, 300)}\n  wasm: ${got.slice(0, 300)}`);
      check(got.startsWith('{'), `${backend}: ${name} gives one JSON line`);
    }
    // JSON Lines with bad lines among good ones: each line's own result, in order
    const mixed = [first, '{"responses": 3}', '', 'not json', panels.split('\n')[1], '{"responses": []}'].join('\n') + '\n';
    writeFileSync(join(scratch, 'mixed.jsonl'), mixed);
    const mixedCli = native([], { file: join(scratch, 'mixed.jsonl') });
    check(mixedCli.status === 3, 'the CLI reports failed lines with status 3', mixedCli.stderr);
    compareLines(`${backend} mixed JSON Lines`, mixedCli.stdout,
      coe.analyzeLines(mixed, { source: join(scratch, 'mixed.jsonl') }), (l) => comparable(withoutNote(l)));
    // misuse of the API: named errors, no exception
    check(JSON.parse(coe.analyze(42)).error.includes('expects JSON text'), `${backend}: a number is refused by name`);
    check(JSON.parse(coe.analyze('{}', { features: 'bogus' })).error.includes("'bogus' is not one of"),
      `${backend}: unknown features are refused by name`);
    check(JSON.parse(coe.analyze(first + '\n' + first)).error.includes('analyzeLines'),
      `${backend}: analyze() of JSON Lines points to analyzeLines`);
    check(JSON.parse(coe.analyzeLines('')).error === '<input>: no panels in the input', `${backend}: empty JSON Lines`);
    // the engine still works after all that
    check(comparable(coe.analyze(first, { source: panelsPath, features: 'tfidf' })) === comparable(lines.split('\n')[0]),
      `${backend}: still the same report after the errors`);
  }
  await createCoe({ backend: 'avx2' }).then(
    () => check(false, 'an unknown backend is refused'),
    (e) => check(e.message.includes('unknown backend "avx2"'), 'an unknown backend is refused by name', e.message));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`${failures === 0 ? 'PASS' : 'FAIL'}: ${checks - failures} of ${checks} checks passed`);
process.exit(failures === 0 ? 0 : 1);
