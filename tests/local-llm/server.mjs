#!/usr/bin/env node
// A tiny local LLM server: real llama.cpp (through node-llama-cpp) running a
// GGUF model, behind the OpenAI Chat Completions and Ollama /api/chat APIs.
// usage: node server.mjs [--model tiny.gguf] [--port 8089]   (env: LOCAL_LLM_MODEL, LOCAL_LLM_PORT)
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaCompletion } from "node-llama-cpp";

const arg = (name) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const here = path.dirname(fileURLToPath(import.meta.url));
const modelPath = arg("model") ?? process.env.LOCAL_LLM_MODEL ?? path.join(here, "tiny.gguf");
const port = Number(arg("port") ?? process.env.LOCAL_LLM_PORT ?? 8089);
const MAX_NEW = 64;  // generation cap, whatever the request asks

// build "never": use the prebuilt binaries from npm, never download or compile.
const llama = await getLlama({ build: "never", gpu: false, logLevel: "error" });
const model = await llama.loadModel({ modelPath });
// One thread: on a small CPU more threads spin against each other on a model this size.
const context = await model.createContext({ contextSize: model.trainContextSize, threads: 1, sequences: 1 });
const sequence = context.getSequence();
const modelName = path.basename(modelPath, ".gguf");
console.log(`serving ${modelPath} on http://127.0.0.1:${port} (ctx ${context.contextSize})`);

let queue = Promise.resolve();  // one generation at a time on the single sequence
function generate(messages, maxTokens, temperature, seed, onText, signal) {
  const prompt = messages.map((m) => {
    const c = Array.isArray(m.content) ? m.content.map((p) => p.text ?? "").join("") : String(m.content ?? "");
    return `${m.role}: ${c}\n`;
  }).join("") + "assistant:";
  const run = async () => {
    const budget = Math.max(1, Math.min(MAX_NEW, Number(maxTokens) || MAX_NEW));
    let tokens = model.tokenize(prompt);
    const room = context.contextSize - budget - 1;
    if (tokens.length > room) tokens = tokens.slice(tokens.length - room);  // keep the end of long prompts
    await sequence.clearHistory();
    const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
    const t0 = process.hrtime.bigint(), out0 = sequence.tokenMeter.usedOutputTokens;
    try {
      const r = await completion.generateCompletionWithMeta(tokens, {
        maxTokens: budget, temperature: Number(temperature ?? 0.8), seed: seed ?? undefined, signal, stopOnAbortSignal: true,
        onTextChunk: onText });
      const ns = Number(process.hrtime.bigint() - t0);
      // Sampled tokens, not text pieces: the bytes of an unfinished UTF-8 character never
      // reach the text.  The meter can count one token sampled past the budget.
      const n = Math.min(budget, sequence.tokenMeter.usedOutputTokens - out0);
      return { text: r.response, promptTokens: tokens.length, completionTokens: n, ns,
        reason: r.metadata.stopReason === "maxTokens" ? "length" : "stop" };
    } finally { completion.dispose({ disposeSequence: false }); }
  };
  const p = queue.then(run, run);
  queue = p.catch(() => {});
  return p;
}

const readJson = (req) => new Promise((ok, fail) => {
  let s = ""; req.on("data", (c) => { s += c; }); req.on("error", fail);
  req.on("end", () => { try { ok(JSON.parse(s || "{}")); } catch (e) { fail(e); } });
});
const sendJson = (res, code, v) => { res.writeHead(code, { "Content-Type": "application/json" }); res.end(JSON.stringify(v)); };

async function openai(body, res, signal) {
  const id = `chatcmpl-${Date.now()}`, created = Math.floor(Date.now() / 1000), mdl = body.model ?? modelName;
  const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: mdl, choices, ...extra })}\n\n`;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (!body.stream) {
    const r = await generate(body.messages ?? [], maxTokens, body.temperature, body.seed, undefined, signal);
    return sendJson(res, 200, { id, object: "chat.completion", created, model: mdl,
      choices: [{ index: 0, message: { role: "assistant", content: r.text }, finish_reason: r.reason }],
      usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens } });
  }
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  res.write(chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]));
  const r = await generate(body.messages ?? [], maxTokens, body.temperature, body.seed,
    (t) => res.write(chunk([{ index: 0, delta: { content: t }, finish_reason: null }])), signal);
  res.write(chunk([{ index: 0, delta: {}, finish_reason: r.reason }]));
  if (body.stream_options?.include_usage)
    res.write(chunk([], { usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens } }));
  res.end("data: [DONE]\n\n");
}

async function ollama(body, res, signal) {
  const mdl = body.model ?? modelName, stream = body.stream !== false, o = body.options ?? {};
  const line = (v) => JSON.stringify({ model: mdl, created_at: new Date().toISOString(), ...v });
  if (stream) res.writeHead(200, { "Content-Type": "application/x-ndjson" });
  const r = await generate(body.messages ?? [], o.num_predict, o.temperature, o.seed,
    stream ? (t) => res.write(line({ message: { role: "assistant", content: t }, done: false }) + "\n") : undefined, signal);
  const last = { message: { role: "assistant", content: stream ? "" : r.text }, done: true, done_reason: r.reason,
    total_duration: r.ns, prompt_eval_count: r.promptTokens, eval_count: r.completionTokens, eval_duration: r.ns };
  if (stream) res.end(line(last) + "\n");
  else { res.writeHead(200, { "Content-Type": "application/json" }); res.end(line(last)); }
}

http.createServer(async (req, res) => {
  const ac = new AbortController();
  res.on("close", () => { if (!res.writableFinished) ac.abort(); });  // client went away
  try {
    const url = req.url.split("?")[0];
    if (req.method === "GET" && (url === "/" || url === "/health")) return sendJson(res, 200, { status: "ok", model: modelName });
    if (req.method === "GET" && url === "/v1/models")
      return sendJson(res, 200, { object: "list", data: [{ id: modelName, object: "model", created: 0, owned_by: "local" }] });
    if (req.method === "GET" && url === "/api/tags") return sendJson(res, 200, { models: [{ name: modelName, model: modelName }] });
    if (req.method === "POST" && url === "/v1/chat/completions") return await openai(await readJson(req), res, ac.signal);
    if (req.method === "POST" && url === "/api/chat") return await ollama(await readJson(req), res, ac.signal);
    sendJson(res, 404, { error: { message: `no route ${req.method} ${url}` } });
  } catch (e) {
    console.error(`error on ${req.method} ${req.url}: ${e?.stack ?? e}`);
    if (!res.headersSent) sendJson(res, e instanceof SyntaxError ? 400 : 500, { error: { message: String(e?.message ?? e) } });
    else res.end();
  }
}).listen(port, "127.0.0.1");
