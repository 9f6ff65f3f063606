// wasm_bench.mjs - panels per second of the WebAssembly engine (SIMD and
// scalar modules, in this Node) against the native `coe analyze`, on the
// 240-panel file (the 80 MT-Bench panels three times, as
// bench/compare_sklearn.py builds it), one thread, TF-IDF on every side.
//   node bench/wasm_bench.mjs COE_MJS COE_BINARY PANELS_JSONL [--copies 3] [--runs 9]
// Prints one JSON document (scripts/run-benchmarks.sh keeps it in
// bench/results/wasm.json).  WebAssembly is timed inside the process
// (analyzeLines of the whole text, after one warm-up run; the module's
// start-up is given apart); native is the whole `coe analyze` process, its
// start-up included, as a command-line user gets it.  The engines take
// turns, one run each per round, and each gives the median of its rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return Number(value);
};
const copies = option('--copies', 3);
const runs = option('--runs', 9);
const [modulePath, coeBinary, panelsPath] = args;
if (!panelsPath) {
  console.error('usage: node bench/wasm_bench.mjs COE_MJS COE_BINARY PANELS_JSONL [--copies 3] [--runs 9]');
  process.exit(2);
}

const base = readFileSync(panelsPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
const lines = Array.from({ length: copies }, () => base).flat();
const text = lines.join('\n') + '\n';
const panels = lines.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function cpuName() {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k) => (info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) || [])[1];
    return `${field('model name')} (family ${field('cpu family')} model ${field('model')}), ${cpus().length} cores`;
  } catch {
    return `${cpus()[0]?.model}, ${cpus().length} cores`;
  }
}

const { default: createCoe, simdSupported } = await import(pathToFileURL(modulePath).href);
const scratch = mkdtempSync(join(tmpdir(), 'coe-wasm-bench-'));
const file = join(scratch, `mtbench-${panels}.jsonl`);
writeFileSync(file, text);

// Every engine, each a function that analyses the whole text once and
// returns its seconds (or throws).  The WebAssembly modules are started and
// warmed up first; a native run first warms the page cache.
const engines = [];
for (const backend of simdSupported() ? ['wasm_simd128', 'scalar'] : ['scalar']) {
  const t0 = performance.now();
  const coe = await createCoe({ backend });
  const startMs = performance.now() - t0;
  const check = coe.analyzeLines(text, { features: 'tfidf' });  // warm-up, and the output's size
  const errors = check.split('\n').filter((l) => l.startsWith('{"line"') || l.startsWith('{"error"')).length;
  if (errors > 0) throw new Error(`${backend}: ${errors} panels failed`);
  engines.push({ engine: `wasm ${backend} (node ${process.versions.node})`, backend, start_ms: +startMs.toFixed(1),
    run: () => {
      const s = performance.now();
      coe.analyzeLines(text, { features: 'tfidf' });
      return (performance.now() - s) / 1000;
    } });
}
const results = [];
for (const backend of ['scalar', 'avx2', 'avx512']) {
  const run = () => {
    const s = performance.now();
    const p = spawnSync(coeBinary, ['analyze', file, '--json', '--threads', '1', '--features', 'tfidf', '--backend', backend],
      { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, COE_BACKEND: '', COE_CONFIG: '' } });
    if (p.status !== 0) throw new Error(p.stderr.trim() || `exit ${p.status}`);
    return (performance.now() - s) / 1000;
  };
  try {
    run();
    engines.push({ engine: `native ${backend} (whole process)`, backend, run });
  } catch (e) {
    results.push({ engine: `native ${backend}`, backend, skipped: e.message });
  }
}

// Rounds: each engine once per round, one after the other, so that a
// neighbour's load on a shared machine falls on every engine alike rather
// than on whichever ran at that moment; the median of the rounds per engine.
const times = engines.map(() => []);
try {
  for (let r = 0; r < runs; ++r) engines.forEach((e, i) => times[i].push(e.run()));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
engines.forEach(({ run, ...e }, i) => {
  const seconds = median(times[i]);
  results.push({ ...e, seconds: +seconds.toFixed(4), fastest_seconds: +Math.min(...times[i]).toFixed(4),
    panels_per_s: Math.round(panels / seconds) });
});
console.log(JSON.stringify({ cpu: cpuName(), panels, runs, interleaved: true, features: 'tfidf', threads: 1, results },
  null, 1));
