// wasm_bench.mjs - panels per second of the WebAssembly engine (SIMD and
// scalar modules, in this Node) against the native `coe analyze`, on the
// 240-panel file (the 80 MT-Bench panels three times, as
// bench/compare_sklearn.py builds it), one thread, TF-IDF on every side.
//   node bench/wasm_bench.mjs COE_MJS COE_BINARY PANELS_JSONL [--copies 3] [--runs 5]
// Prints one JSON document (scripts/run-benchmarks.sh keeps it in
// bench/results/wasm.json).  WebAssembly is timed inside the process
// (analyzeLines of the whole text, after one warm-up run; the module's
// start-up is given apart); native is the whole `coe analyze` process, its
// start-up included, as a command-line user gets it.
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
const runs = option('--runs', 5);
const [modulePath, coeBinary, panelsPath] = args;
if (!panelsPath) {
  console.error('usage: node bench/wasm_bench.mjs COE_MJS COE_BINARY PANELS_JSONL [--copies 3] [--runs 5]');
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
const results = [];
for (const backend of simdSupported() ? ['wasm_simd128', 'scalar'] : ['scalar']) {
  const t0 = performance.now();
  const coe = await createCoe({ backend });
  const startMs = performance.now() - t0;
  const check = coe.analyzeLines(text, { features: 'tfidf' });  // warm-up, and the output's size
  const errors = check.split('\n').filter((l) => l.startsWith('{"line"') || l.startsWith('{"error"')).length;
  if (errors > 0) throw new Error(`${backend}: ${errors} panels failed`);
  const times = [];
  for (let r = 0; r < runs; ++r) {
    const s = performance.now();
    coe.analyzeLines(text, { features: 'tfidf' });
    times.push((performance.now() - s) / 1000);
  }
  results.push({ engine: `wasm ${backend} (node ${process.versions.node})`, backend, start_ms: +startMs.toFixed(1),
    seconds: +median(times).toFixed(4), panels_per_s: Math.round(panels / median(times)) });
}

const scratch = mkdtempSync(join(tmpdir(), 'coe-wasm-bench-'));
try {
  const file = join(scratch, `mtbench-${panels}.jsonl`);
  writeFileSync(file, text);
  for (const backend of ['scalar', 'avx2', 'avx512']) {
    const times = [];
    let failed = '';
    for (let r = 0; r <= runs; ++r) {
      const s = performance.now();
      const p = spawnSync(coeBinary, ['analyze', file, '--json', '--threads', '1', '--features', 'tfidf', '--backend', backend],
        { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, COE_BACKEND: '', COE_CONFIG: '' } });
      if (p.status !== 0) { failed = p.stderr.trim(); break; }
      if (r > 0) times.push((performance.now() - s) / 1000);  // run 0 warms the page cache
    }
    if (failed) { results.push({ engine: `native ${backend}`, backend, skipped: failed }); continue; }
    results.push({ engine: `native ${backend} (whole process)`, backend, seconds: +median(times).toFixed(4),
      panels_per_s: Math.round(panels / median(times)) });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify({ cpu: cpuName(), panels, runs, features: 'tfidf', threads: 1, results }, null, 1));
