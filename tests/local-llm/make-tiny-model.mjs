#!/usr/bin/env node
// Writes a tiny `llama`-architecture GGUF model with seeded random F32 weights.
//
// The weights are noise, so the model produces gibberish, but the file is a
// real model that real llama.cpp loads and runs. The tokenizer metadata
// (tokenizer.*) is copied from a tokenizer-only vocab GGUF when --vocab is
// given (llama.cpp ships models/ggml-vocab-*.gguf); otherwise a small SPM
// vocabulary (control tokens, 256 byte-fallback tokens, word pieces) is made.
//
// usage: node make-tiny-model.mjs --out tiny.gguf [--vocab ggml-vocab-llama-spm.gguf]
//        [--seed 1234] [--embd 64] [--layers 2] [--heads 4] [--ff 128] [--ctx 256]
//
// GGUF v3 layout (all little-endian): magic "GGUF", u32 version, u64 tensor
// count, u64 kv count, the kv pairs, the tensor infos, padding to the
// alignment, then the tensor data (each tensor at an aligned offset).

import fs from "node:fs";

const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };
const SCALAR_SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;

function parseArgs(argv) {
  const o = { out: "tiny.gguf", vocab: "", seed: 1234, embd: 64, layers: 2, heads: 4, ff: 128, ctx: 256 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value for ${argv[i - 1]}`);
    o[k] = typeof o[k] === "number" ? Number(v) : v;
  }
  return o;
}

// ---------- reading (only what is needed to copy tokenizer.* keys) ----------
function readGgufKvs(path) {
  const b = fs.readFileSync(path);
  let p = 0;
  const u32 = () => { const v = b.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = b.readBigUInt64LE(p); p += 8; return Number(v); };
  const str = () => { const n = u64(); const s = b.subarray(p, p + n); p += n; return Buffer.from(s); };
  const scalar = (t) => {
    const n = SCALAR_SIZE[t];
    if (n === undefined) throw new Error(`bad scalar type ${t}`);
    const raw = Buffer.from(b.subarray(p, p + n)); p += n; return raw; // kept as raw bytes
  };
  const value = (t) => {
    if (t === T.STR) return str();
    if (t === T.ARR) {
      const et = u32(), n = u64(), items = [];
      for (let i = 0; i < n; i++) items.push(value(et));
      return { et, items };
    }
    return scalar(t);
  };
  if (b.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${path}: not a GGUF file`);
  p = 4;
  const version = u32();
  if (version < 2) throw new Error(`${path}: GGUF version ${version} not supported`);
  u64(); // tensor count (vocab files have none; not needed)
  const nkv = u64(), kvs = [];
  for (let i = 0; i < nkv; i++) {
    const key = str().toString("utf8"), t = u32();
    kvs.push({ key, t, v: value(t) });
  }
  return kvs;
}

// ---------- writing ----------
class Out {
  constructor() { this.parts = []; this.len = 0; }
  push(buf) { this.parts.push(buf); this.len += buf.length; }
  u32(v) { const x = Buffer.alloc(4); x.writeUInt32LE(v); this.push(x); }
  i32(v) { const x = Buffer.alloc(4); x.writeInt32LE(v); this.push(x); }
  u64(v) { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(v)); this.push(x); }
  f32(v) { const x = Buffer.alloc(4); x.writeFloatLE(v); this.push(x); }
  str(s) { const x = Buffer.isBuffer(s) ? s : Buffer.from(s, "utf8"); this.u64(x.length); this.push(x); }
  pad(to) { const n = (to - (this.len % to)) % to; if (n) this.push(Buffer.alloc(n)); }
  value(t, v) {
    if (t === T.STR) return this.str(v);
    if (t === T.ARR) { this.u32(v.et); this.u64(v.items.length); for (const it of v.items) this.value(v.et, it); return; }
    if (Buffer.isBuffer(v)) return this.push(v); // raw scalar copied from a file
    switch (t) {
      case T.U32: return this.u32(v);
      case T.I32: return this.i32(v);
      case T.F32: return this.f32(v);
      case T.BOOL: return this.push(Buffer.from([v ? 1 : 0]));
      case T.U64: return this.u64(v);
      default: throw new Error(`writer: unsupported scalar type ${t}`);
    }
  }
}

// Small SPM vocabulary: <unk>, <s>, </s>, 256 byte tokens, then pieces.
// llama.cpp's SPM tokenizer merges adjacent symbols whose concatenation is a
// token, so every prefix of a word piece is itself a token.
function syntheticVocab() {
  const toks = [], scores = [], types = []; // types: 1 normal, 2 unknown, 3 control, 6 byte
  const add = (s, score, type) => { toks.push(s); scores.push(score); types.push(type); };
  add("<unk>", 0, 2); add("<s>", 0, 3); add("</s>", 0, 3);
  for (let i = 0; i < 256; i++) add(`<0x${i.toString(16).toUpperCase().padStart(2, "0")}>`, 0, 6);
  const seen = new Set(toks);
  const piece = (s) => { if (!seen.has(s)) { seen.add(s); add(s, -toks.length, 1); } };
  piece("\u2581");
  for (let c = 33; c < 127; c++) piece(String.fromCharCode(c));
  const words = ("the of and to a in is it that for on with as are be this was by an or from at not " +
    "circle expert experts answer question model panel consensus we you they what how why which " +
    "can will would should data code test agree disagree because however also more most some").split(" ");
  for (const w of words) for (let i = 1; i <= w.length; i++) piece("\u2581" + w.slice(0, i));
  for (const w of words) for (let i = 2; i <= w.length; i++) piece(w.slice(0, i));
  return [
    { key: "tokenizer.ggml.model", t: T.STR, v: "llama" },
    { key: "tokenizer.ggml.tokens", t: T.ARR, v: { et: T.STR, items: toks } },
    { key: "tokenizer.ggml.scores", t: T.ARR, v: { et: T.F32, items: scores } },
    { key: "tokenizer.ggml.token_type", t: T.ARR, v: { et: T.I32, items: types } },
    { key: "tokenizer.ggml.unknown_token_id", t: T.U32, v: 0 },
    { key: "tokenizer.ggml.bos_token_id", t: T.U32, v: 1 },
    { key: "tokenizer.ggml.eos_token_id", t: T.U32, v: 2 },
    { key: "tokenizer.ggml.add_bos_token", t: T.BOOL, v: true },
    { key: "tokenizer.ggml.add_eos_token", t: T.BOOL, v: false },
  ];
}

// mulberry32: small seeded PRNG, good enough for noise weights.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.embd % o.heads) throw new Error("--embd must be a multiple of --heads");
  const tokKvs = o.vocab
    ? readGgufKvs(o.vocab).filter((kv) => kv.key.startsWith("tokenizer."))
    : syntheticVocab();
  const tokensKv = tokKvs.find((kv) => kv.key === "tokenizer.ggml.tokens");
  if (!tokensKv) throw new Error(`${o.vocab}: no tokenizer.ggml.tokens`);
  const nVocab = tokensKv.v.items.length;
  const headDim = o.embd / o.heads;

  const kvs = [
    { key: "general.architecture", t: T.STR, v: "llama" },
    { key: "general.name", t: T.STR, v: "coe-tiny-random" },
    { key: "general.alignment", t: T.U32, v: ALIGNMENT },
    { key: "general.file_type", t: T.U32, v: 0 }, // all F32
    { key: "llama.vocab_size", t: T.U32, v: nVocab },
    { key: "llama.context_length", t: T.U32, v: o.ctx },
    { key: "llama.embedding_length", t: T.U32, v: o.embd },
    { key: "llama.block_count", t: T.U32, v: o.layers },
    { key: "llama.feed_forward_length", t: T.U32, v: o.ff },
    { key: "llama.attention.head_count", t: T.U32, v: o.heads },
    { key: "llama.attention.head_count_kv", t: T.U32, v: o.heads },
    { key: "llama.rope.dimension_count", t: T.U32, v: headDim },
    { key: "llama.rope.freq_base", t: T.F32, v: 10000 },
    { key: "llama.attention.layer_norm_rms_epsilon", t: T.F32, v: 1e-5 },
    ...tokKvs,
  ];

  // Shapes are given as GGUF stores them: ne[0] (the contiguous dim) first.
  // output.weight is omitted: llama.cpp then ties it to token_embd.
  const E = o.embd, F = o.ff;
  const tensors = [{ name: "token_embd.weight", dims: [E, nVocab] }, { name: "output_norm.weight", dims: [E], ones: true }];
  for (let l = 0; l < o.layers; l++) {
    const b = `blk.${l}.`;
    tensors.push(
      { name: b + "attn_norm.weight", dims: [E], ones: true },
      { name: b + "attn_q.weight", dims: [E, E] },
      { name: b + "attn_k.weight", dims: [E, E] },
      { name: b + "attn_v.weight", dims: [E, E] },
      { name: b + "attn_output.weight", dims: [E, E] },
      { name: b + "ffn_norm.weight", dims: [E], ones: true },
      { name: b + "ffn_gate.weight", dims: [E, F] },
      { name: b + "ffn_up.weight", dims: [E, F] },
      { name: b + "ffn_down.weight", dims: [F, E] },
    );
  }

  const rnd = prng(o.seed);
  let offset = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (t.ones) data.fill(1);
    else {
      const scale = 1 / Math.sqrt(t.dims[0]); // keep activations O(1)
      for (let i = 0; i < n; i++) data[i] = (rnd() * 2 - 1) * scale * Math.sqrt(3);
    }
    t.data = Buffer.from(data.buffer);
    t.offset = offset;
    offset += Math.ceil(t.data.length / ALIGNMENT) * ALIGNMENT;
  }

  const out = new Out();
  out.push(Buffer.from("GGUF", "latin1"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(kvs.length);
  for (const kv of kvs) { out.str(kv.key); out.u32(kv.t); out.value(kv.t, kv.v); }
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(GGML_TYPE_F32);
    out.u64(t.offset);
  }
  out.pad(ALIGNMENT);
  const dataStart = out.len;
  for (const t of tensors) { out.pad(ALIGNMENT); if (out.len - dataStart !== t.offset) throw new Error("offset mismatch"); out.push(t.data); }

  fs.writeFileSync(o.out, Buffer.concat(out.parts, out.len));
  const vocabFrom = o.vocab || "synthetic SPM vocab";
  console.log(`wrote ${o.out}: ${out.len} bytes, ${tensors.length} tensors, n_vocab=${nVocab} (${vocabFrom}), ` +
    `embd=${E} layers=${o.layers} heads=${o.heads} ff=${F} ctx=${o.ctx} seed=${o.seed}`);
}

try { main(); } catch (e) { console.error(`make-tiny-model: ${e.message}`); process.exit(1); }
