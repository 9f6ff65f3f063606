// soak_client.mjs - the load side of bench/soak.sh: COUNT consultations
// through POST /v1/chat/completions of `coe serve`, CONCURRENCY at a time,
// every other one streamed, with Node's own fetch (no packages).
//   node soak_client.mjs URL TOKEN COUNT CONCURRENCY SERVER_PID WARMUP
// Prints one JSON object: consultations answered and failed (by class),
// what became of each expert's answer (from the `circle` field of the
// plain responses, and of the streamed ones' chunks where they carry it),
// latency percentiles, and the server's resident memory after WARMUP
// consultations and at the end (read from /proc/SERVER_PID/status).
import { readFileSync } from 'node:fs';

const [url, token, countText, concurrencyText, serverPid, warmupText] = process.argv.slice(2);
if (!url || !token || !serverPid) {
  console.error('usage: node soak_client.mjs URL TOKEN COUNT CONCURRENCY SERVER_PID WARMUP');
  process.exit(2);
}
const count = Number(countText);
const concurrency = Number(concurrencyText);
const warmup = Number(warmupText);

function rssKiB() {
  const status = readFileSync(`/proc/${serverPid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}

const outcomes = {};        // consultation outcome -> count
const expertStatus = {};    // expert -> status -> count
const latenciesMs = [];
const count1 = (table, key) => { table[key] = (table[key] || 0) + 1; };
function countExperts(circle) {
  for (const a of circle?.answers ?? []) {
    expertStatus[a.expert] ??= {};
    count1(expertStatus[a.expert], a.status);
  }
}

async function plain(body) {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) return `http_${r.status}`;
  const j = JSON.parse(text);
  countExperts(j.circle);
  if (j.circle?.consultation?.quorum_met === false) return 'quorum_not_met';
  return j.choices?.[0]?.message?.content ? 'answered' : 'empty_answer';
}

async function streamed(body) {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }) });
  if (r.status !== 200) { await r.text(); return `http_${r.status}`; }
  const text = await r.text();
  let content = '', done = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const data = line.slice(6).trim();
    if (data === '[DONE]') { done = true; continue; }
    const chunk = JSON.parse(data);
    content += chunk.choices?.[0]?.delta?.content ?? '';
    if (chunk.circle) countExperts(chunk.circle);
  }
  if (!done) return 'stream_without_done';
  return content ? 'answered' : 'empty_answer';
}

let next = 0, finished = 0, warmRss = null;
async function worker() {
  while (next < count) {
    const i = next++;
    const body = { model: 'circle', messages: [{ role: 'user', content: `How should we cache a slow read-heavy API? (${i})` }] };
    const start = performance.now();
    let outcome;
    try {
      outcome = await (i % 2 ? streamed(body) : plain(body));
    } catch (e) {
      outcome = `client_error: ${e.cause?.code ?? e.message}`;
    }
    latenciesMs.push(performance.now() - start);
    count1(outcomes, outcome);
    if (++finished === warmup) warmRss = rssKiB();
  }
}

const startRss = rssKiB();
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - t0) / 1000;
const endRss = rssKiB();
latenciesMs.sort((a, b) => a - b);
const pct = (p) => Math.round(latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))]);
console.log(JSON.stringify({
  consultations: count, concurrency, seconds: Number(seconds.toFixed(1)),
  per_second: Number((count / seconds).toFixed(1)),
  outcomes, experts: expertStatus,
  latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: Math.round(latenciesMs.at(-1)) },
  rss_kib: { start: startRss, after_warmup: warmRss, end: endRss, growth_after_warmup: endRss - warmRss },
}, null, 1));
