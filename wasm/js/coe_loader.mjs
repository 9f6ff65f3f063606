// coe_loader.mjs - the API of coe.mjs (bundled after the two modules, whose
// factories createCoeSimd and createCoeScalar it uses; see docs/wasm.md).
//
//   import createCoe from './coe.mjs';
//   const coe = await createCoe();            // or createCoe({backend: 'scalar'})
//   coe.analyze(panelJsonText)                // -> one line of JSON: report or {"error": ...}
//   coe.analyzeLines(jsonlText)               // -> JSON Lines, one per non-blank input line
//   coe.version(), coe.backend()
//
// A WebAssembly runtime cannot switch instruction sets inside one module, so
// SIMD and scalar are two modules; 'auto' takes SIMD when the runtime
// validates a module using a SIMD instruction.

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

// Whether this runtime runs WebAssembly SIMD (128-bit).
export function simdSupported() {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

const BACKENDS = ['auto', 'wasm_simd128', 'scalar'];

function errorLine(message) {
  return JSON.stringify({ error: message });
}

// Creates an engine.  options.backend: 'auto' (default), 'wasm_simd128'
// (an error where the runtime lacks SIMD) or 'scalar'.  Rejects with an
// Error naming the problem.
export default async function createCoe(options = {}) {
  const wanted = options.backend ?? 'auto';
  if (!BACKENDS.includes(wanted)) {
    throw new Error(`coe: unknown backend "${wanted}" (one of ${BACKENDS.join(', ')})`);
  }
  if (wanted === 'wasm_simd128' && !simdSupported()) {
    throw new Error('coe: backend "wasm_simd128": this WebAssembly runtime has no SIMD');
  }
  const simd = wanted === 'wasm_simd128' || (wanted === 'auto' && simdSupported());
  const m = await (simd ? createCoeSimd : createCoeScalar)();

  // text -> a NUL-terminated UTF-8 copy in the module's memory (0: out of memory)
  const copyIn = (text) => {
    const bytes = m.lengthBytesUTF8(text);
    const ptr = m._malloc(bytes + 1);
    if (ptr !== 0) m.stringToUTF8(text, ptr, bytes + 1);
    return [ptr, bytes];
  };
  const run = (fn, name, text, opts) => {
    if (typeof text !== 'string') return errorLine(`${name}: expects JSON text (a string), got ${typeof text}`);
    const source = String(opts?.source ?? '<input>');
    const features = String(opts?.features ?? 'auto');
    const [textPtr, length] = copyIn(text);
    const [sourcePtr] = copyIn(source);
    const [featuresPtr] = copyIn(features);
    try {
      if (textPtr === 0 || sourcePtr === 0 || featuresPtr === 0) return errorLine(`${source}: out of memory`);
      return m.UTF8ToString(fn(textPtr, length, sourcePtr, featuresPtr));
    } finally {
      m._free(textPtr);
      m._free(sourcePtr);
      m._free(featuresPtr);
    }
  };
  const backend = m.UTF8ToString(m._coe_wasm_backend());
  const version = m.UTF8ToString(m._coe_wasm_version());
  return Object.freeze({
    // One panel (JSON text) -> its report as one line of JSON (no newline),
    // or {"error": ...}; the same JSON as `coe analyze FILE --json`.
    // opts.source names the input in messages (default "<input>");
    // opts.features is `--features`: 'auto' (TF-IDF here) or 'tfidf'.
    analyze: (text, opts) => run(m._coe_wasm_analyze, 'analyze', text, opts),
    // JSON Lines -> one line per non-blank input line, in order, each ending
    // in a newline; a bad line gives its error line and the rest still run.
    analyzeLines: (text, opts) => run(m._coe_wasm_analyze_lines, 'analyzeLines', text, opts),
    version: () => version,
    backend: () => backend,
  });
}
