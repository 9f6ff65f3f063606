// The Circle of Experts web page: asks /v1/consult and shows its events as
// they stream in; shows a past consultation; analyses a file in the browser
// with the WebAssembly engine (/coe.mjs).  Plain ES module, no build step.

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'coe.token';

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

const fmtMs = (x) => (typeof x === 'number' && x > 0 ? `${Math.round(x)} ms` : '–');
const pct = (x) => `${Math.round((x || 0) * 100)}%`;

// ---- views --------------------------------------------------------------
for (const b of document.querySelectorAll('nav button')) {
  b.addEventListener('click', () => {
    for (const o of document.querySelectorAll('nav button')) {
      o.setAttribute('aria-pressed', String(o === b));
      $(`view-${o.dataset.view}`).hidden = o !== b;
    }
  });
}

// ---- the token ----------------------------------------------------------
function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: `Bearer ${t}` } : {};
}

let tokenWaiters = [];
function askForToken(why) {
  $('token-box').hidden = false;
  $('token-why').textContent = why;
  $('token').focus();
  return new Promise((resolve) => tokenWaiters.push(resolve));
}
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token').value = '';
  $('token-box').hidden = true;
  const w = tokenWaiters;
  tokenWaiters = [];
  for (const r of w) r();
});

// fetch() with the token; asks for it (again) on 401.
async function api(path, init = {}) {
  for (;;) {
    const res = await fetch(path, { ...init, headers: { ...(init.headers || {}), ...authHeaders() } });
    if (res.status !== 401) return res;
    const had = sessionStorage.getItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    await askForToken(had ? 'The server refused that token: enter another one.'
                          : 'This server requires a bearer token. It is kept for this tab only.');
  }
}

async function errorText(res) {
  try {
    const j = await res.json();
    return (j.error && j.error.message) || JSON.stringify(j);
  } catch {
    return `HTTP ${res.status}`;
  }
}

// ---- experts and options -------------------------------------------------
async function loadExperts() {
  const box = $('experts-box');
  const note = $('experts-note');
  try {
    const res = await api('/v1/experts');
    if (!res.ok) throw new Error(await errorText(res));
    const info = await res.json();
    note.remove();
    if (info.experts.length === 0) {
      box.append(el('p', { class: 'error', text: 'No experts are configured on this server (start it with --experts FILE).' }));
    }
    for (const x of info.experts) {
      const id = `expert-${x.name}`;
      const cb = el('input', { type: 'checkbox', id, value: x.name });
      cb.checked = true;
      box.append(el('span', { class: 'choice' }, cb, el('label', { for: id, text: x.name })));
      $('synthesize').append(el('option', { value: x.name, text: x.name }));
    }
    const d = info.defaults;
    $('quorum').value = d.quorum;
    $('deadline').value = d.deadline_ms;
    $('review').checked = d.review;
    $('synthesize').value = d.synthesize || '';
  } catch (e) {
    note.textContent = `Could not list the experts: ${e.message}`;
    note.className = 'error';
  }
}

// ---- expert cards --------------------------------------------------------
function card(container, name) {
  let c = container.querySelector(`[data-expert="${CSS.escape(name)}"]`);
  if (c) return c;
  c = el('article', { class: 'card', 'data-expert': name, 'data-status': 'waiting' },
    el('h3', { text: name }),
    el('p', { class: 'meta state', text: 'waiting' }),
    el('p', { class: 'meta stats' }),
    el('p', { class: 'error msg', hidden: '' }),
    el('div', { class: 'text' }));
  container.append(c);
  return c;
}

function fillCard(c, a) {
  c.dataset.status = a.status === 'ok' ? 'ok' : 'failed';
  c.querySelector('.state').textContent = a.status === 'ok' ? `answered (${a.finish_reason || 'done'})` : `failed: ${a.status}`;
  c.querySelector('.stats').textContent =
    `latency ${fmtMs(a.latency_ms)} · first token ${fmtMs(a.first_token_ms)} · tokens ${a.tokens_in}→${a.tokens_out} · retries ${a.retries}` +
    (a.http_status ? ` · HTTP ${a.http_status}` : '');
  if (a.status !== 'ok') {
    const m = c.querySelector('.msg');
    m.hidden = false;
    m.textContent = `${a.status}: ${a.error || ''}`;
  }
  if (a.content) c.querySelector('.text').textContent = a.content;
}

function breakerNote(c, b) {
  if (!b) return;
  let m = c.querySelector('.breaker');
  if (!m) { m = el('p', { class: 'meta breaker' }); c.querySelector('.stats').after(m); }
  m.textContent = `breaker ${b.state}`;
}

// ---- the consensus -------------------------------------------------------
// The experts as circles, one column per cluster (the majority first),
// coloured by cluster, sized by weight; outliers ringed in red.
function clusterChart(report) {
  const experts = report.experts || [];
  if (!window.d3) {
    return el('p', { class: 'notice', text: window.coeChartMissing || 'The chart library (d3) did not load, so the cluster chart is not shown.' });
  }
  if (experts.length === 0) return null;
  const clusters = (report.clusters || []).map((k) => k.id);
  for (const e of experts) if (!clusters.includes(e.cluster)) clusters.push(e.cluster);
  const colW = 150, rowH = 46, top = 30;
  const rows = Math.max(...clusters.map((c) => experts.filter((e) => e.cluster === c).length));
  const colour = d3.scale.category10().domain(clusters);
  const holder = el('figure', { class: 'chart' });
  const width = Math.max(1, clusters.length) * colW, height = top + rows * rowH + 10;
  const svg = d3.select(holder).append('svg')
    .attr('viewBox', `0 0 ${width} ${height}`).attr('width', width).attr('height', height)
    .attr('role', 'img')
    .attr('aria-label', `The experts by cluster: ${clusters.map((c) => `cluster ${c}: ${experts.filter((e) => e.cluster === c).map((e) => e.expert).join(', ')}`).join('; ')}`);
  clusters.forEach((c, col) => {
    const g = svg.append('g').attr('class', 'cluster').attr('transform', `translate(${col * colW},0)`);
    const share = (report.clusters || []).find((k) => k.id === c)?.share;
    g.append('text').attr('x', colW / 2).attr('y', 16).attr('text-anchor', 'middle')
      .text(`cluster ${c}${share !== undefined ? ` · ${pct(share)}` : ''}`);
    const members = experts.filter((e) => e.cluster === c);
    const node = g.selectAll('g.expert').data(members).enter().append('g').attr('class', 'expert')
      .attr('transform', (e, i) => `translate(${colW / 2},${top + i * rowH + rowH / 2})`);
    node.append('circle').attr('r', (e) => 8 + 10 * Math.max(0, Math.min(1, e.weight ?? 1)))
      .attr('fill', colour(c)).attr('stroke', (e) => (e.outlier ? '#b42318' : '#fff')).attr('stroke-width', 3)
      .append('title').text((e) => `${e.expert}: centrality ${(e.centrality ?? 0).toFixed(2)}${e.outlier ? ', outlier' : ''}`);
    node.append('text').attr('x', 22).attr('y', 4).text((e) => e.expert);
  });
  holder.append(el('figcaption', { class: 'meta', text: 'The experts by cluster (size: weight; red ring: outlier).' }));
  return holder;
}

function supportTable(title, items, answered) {
  if (!Array.isArray(items) || items.length === 0) return null;
  const t = el('table', {}, el('caption', { text: title }),
    el('tr', {}, el('th', { text: 'Text' }), el('th', { text: 'Support' }), el('th', { text: 'Supporters' })));
  for (const it of items) {
    const share = answered ? it.support / answered : 0;
    const label = `${it.support} of ${answered}`;
    const bar = el('div', { class: 'bar', role: 'img', 'aria-label': `support ${label}` });
    const fill = el('span');
    fill.style.width = pct(share);
    bar.append(fill);
    t.append(el('tr', {}, el('td', { text: it.text }), el('td', {}, bar, el('span', { class: 'meta', text: `${label}${it.consensus ? ' · consensus' : ''}` })),
      el('td', { text: (it.supporters || []).join(', ') + (it.supporters_omitted ? ` (+${it.supporters_omitted})` : '') })));
  }
  return t;
}

function renderReport(target, report, answered, total) {
  target.replaceChildren();
  if (!report) return;
  const c = report.consensus || {};
  target.append(el('h3', { text: `Consensus${total ? ` (${answered} of ${total} answered)` : ''}` }));
  target.append(el('p', { class: 'level', text: `Level: ${c.level ?? '–'} · majority share ${pct(c.majority_share)} · ${(report.clusters || []).length} cluster(s)` }));
  const chart = clusterChart(report);
  if (chart) target.append(chart);
  if (Array.isArray(report.clusters)) {
    const t = el('table', {}, el('caption', { text: 'Clusters' }),
      el('tr', {}, el('th', { text: 'Cluster' }), el('th', { text: 'Members' }), el('th', { text: 'Share' }), el('th', { text: 'Representative' })));
    for (const k of report.clusters) {
      t.append(el('tr', {}, el('td', { text: String(k.id) }), el('td', { text: (k.members || []).join(', ') }),
        el('td', { text: pct(k.share) }), el('td', { text: k.representative || '' })));
    }
    target.append(t);
  }
  if (Array.isArray(report.dissent) && report.dissent.length) {
    const ul = el('ul');
    for (const d of report.dissent) {
      ul.append(el('li', {}, el('strong', { text: `${(d.members || []).join(', ')} (cluster ${d.cluster}): ` }), d.excerpt || ''));
    }
    target.append(el('h4', { text: 'Dissent' }), ul);
  }
  const n = (report.experts || []).length;
  const r = supportTable('Recommendations', report.recommendations, n);
  if (r) target.append(r);
  const l = supportTable('Limitations', report.limitations, n);
  if (l) target.append(l);
}

function renderReview(target, review) {
  if (!review || !Array.isArray(review.answers)) return;
  const t = el('table', { class: 'review' }, el('caption', { text: 'Peer review ranking' }),
    el('tr', {}, el('th', { text: 'Rank' }), el('th', { text: 'Expert' }), el('th', { text: 'Borda' }), el('th', { text: 'Schulze rank' })));
  for (const a of [...review.answers].sort((x, y) => x.combined_rank - y.combined_rank)) {
    t.append(el('tr', {}, el('td', { text: String(a.combined_rank) }), el('td', { text: a.expert }),
      el('td', { text: String(a.borda) }), el('td', { text: String(a.schulze_rank) })));
  }
  target.append(t);
}

function renderFinal(target, result) {
  let box = target.querySelector('.final-box');
  if (!box) { box = el('section', { class: 'final-box' }); target.append(box); }
  box.replaceChildren(el('h3', { text: `Final answer (from ${result.final_answer_from || '–'})` }),
    el('div', { class: 'final', text: result.final_answer || '(no answer)' }));
}

// ---- asking --------------------------------------------------------------
// Reads a text/event-stream body: calls onEvent(name, data) per event.
async function readEvents(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

window.coeTiming = {};
$('ask-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const experts = [...document.querySelectorAll('#experts-box input:checked')].map((x) => x.value);
  const body = { question: $('question').value, deltas: true, quorum: Number($('quorum').value),
    deadline_ms: Number($('deadline').value), review: $('review').checked };
  if (experts.length) body.experts = experts;
  if ($('synthesize').value) body.synthesize = $('synthesize').value;
  const cards = $('cards'), cons = $('consensus'), status = $('ask-status');
  cards.replaceChildren();
  cons.replaceChildren();
  $('ask').disabled = true;
  status.textContent = 'Asking…';
  const t0 = performance.now();
  window.coeTiming = { asked: t0 };
  try {
    const res = await api('/v1/consult', { method: 'POST', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' } });
    if (!res.ok) throw new Error(await errorText(res));
    for (const name of experts) card(cards, name);
    let synthesis = null, reviewBox = null;
    await readEvents(res, (name, e) => {
      if (e.expert && name.startsWith('expert_')) {
        const c = card(cards, e.expert);
        if (name === 'expert_started') {
          c.querySelector('.state').textContent = e.attempt > 1 ? `asking (attempt ${e.attempt})` : 'asking';
        } else if (name === 'expert_delta') {
          if (window.coeTiming.firstCard === undefined) window.coeTiming.firstCard = performance.now() - t0;
          c.dataset.status = 'streaming';
          c.querySelector('.state').textContent = 'answering';
          c.querySelector('.text').textContent += e.delta;
        } else if (name === 'expert_retry') {
          c.querySelector('.state').textContent = `retrying in ${fmtMs(e.retry_in_ms)} after ${e.status}: ${e.error}`;
        } else if (e.answer) {
          fillCard(c, e.answer);
          status.textContent = `${e.answered} of ${e.total} answered`;
        }
      } else if (name === 'consensus') {
        renderReport(cons, e.report, e.answered, e.total);
      } else if (name === 'review_done') {
        status.textContent = `review: ${e.done} of ${e.total} reviewers done`;
      } else if (name === 'synthesis_delta') {
        if (!synthesis) {
          cons.append(el('h3', { text: 'Synthesis' }));
          synthesis = el('div', { class: 'final synthesis', 'aria-live': 'polite' });
          cons.append(synthesis);
        }
        synthesis.textContent += e.delta;
      } else if (name === 'final') {
        for (const a of e.answers || []) fillCard(card(cards, a.expert), a);
        if (!reviewBox && e.review) { reviewBox = el('div'); cons.append(reviewBox); renderReview(reviewBox, e.review); }
        renderFinal(cons, e);
        status.textContent = `Done: ${e.consultation.answered} of ${e.consultation.asked} answered in ${fmtMs(e.consultation.elapsed_ms)}` +
          (e.consultation.quorum_met ? '' : ' (quorum not met)');
        window.coeTiming.final = performance.now() - t0;
      } else if (name === 'error') {
        throw new Error(e.error.message);
      }
    });
    refreshBreakers(cards);
  } catch (e) {
    status.textContent = `Error: ${e.message}`;
  } finally {
    $('ask').disabled = false;
  }
});

async function refreshBreakers(cards) {
  try {
    const res = await api('/v1/experts');
    if (!res.ok) return;
    for (const x of (await res.json()).experts) {
      const c = cards.querySelector(`[data-expert="${CSS.escape(x.name)}"]`);
      if (c) breakerNote(c, x.breaker);
    }
  } catch { /* the cards stay as they are */ }
}

// ---- a past consultation -------------------------------------------------
function readDropped(textarea, fileInput) {
  const load = async (f) => { textarea.value = await f.text(); };
  fileInput.addEventListener('change', () => fileInput.files[0] && load(fileInput.files[0]));
  textarea.addEventListener('dragover', (e) => e.preventDefault());
  textarea.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer.files[0]) load(e.dataTransfer.files[0]);
  });
}
readDropped($('past-text'), $('past-file'));
readDropped($('analyse-text'), $('analyse-file'));

$('past-show').addEventListener('click', () => {
  const cards = $('past-cards'), cons = $('past-consensus'), status = $('past-status');
  cards.replaceChildren();
  cons.replaceChildren();
  let r;
  try {
    r = JSON.parse($('past-text').value);
  } catch (e) {
    status.textContent = `Not JSON: ${e.message}`;
    return;
  }
  if (!r || !Array.isArray(r.answers)) {
    status.textContent = 'Not a consultation: expected the output of coe consult --json (with "answers").';
    return;
  }
  for (const a of r.answers) fillCard(card(cards, a.expert), a);
  renderReport(cons, r.consensus ? r : null, r.consultation?.answered, r.consultation?.asked);
  if (r.review) { const b = el('div'); cons.append(b); renderReview(b, r.review); }
  renderFinal(cons, r);
  status.textContent = `${r.question || ''}`;
});

// ---- analysing a file in the browser ---------------------------------------
let coe = null;
async function engine() {
  if (coe) return coe;
  const probe = await fetch('/coe.mjs');  // 404 with the reason when it was not built in
  if (!probe.ok) throw new Error(await errorText(probe));
  const { default: createCoe } = await import('/coe.mjs');
  coe = await createCoe();
  return coe;
}

$('analyse-run').addEventListener('click', async () => {
  const status = $('analyse-status'), out = $('analyse-out'), pre = $('analyse-json');
  out.replaceChildren();
  pre.hidden = true;
  const text = $('analyse-text').value;
  if (!text.trim()) { status.textContent = 'Paste or choose a panel file first.'; return; }
  status.textContent = 'Loading the WebAssembly engine…';
  let m;
  try {
    m = await engine();
  } catch (e) {
    status.textContent = '';
    out.append(el('p', { class: 'notice', text: `The WebAssembly engine is not available: ${e.message}` }));
    return;
  }
  const t0 = performance.now();
  const lines = !isOneJson(text);  // a panel object, or JSON Lines (one panel a line)
  const result = lines ? m.analyzeLines(text) : m.analyze(text);
  const ms = performance.now() - t0;
  const reports = result.split('\n').filter((x) => x.trim()).map((x) => JSON.parse(x));
  const errors = reports.filter((r) => r.error);
  status.textContent = `${reports.length} report(s) in ${ms.toFixed(1)} ms by coe ${m.version()} (${m.backend()})` +
    (errors.length ? `; ${errors.length} error(s)` : '');
  for (const r of reports) {
    const box = el('div');
    if (r.error) box.append(el('p', { class: 'error', text: `Error: ${typeof r.error === 'string' ? r.error : JSON.stringify(r.error)}` }));
    else renderReport(box, r);
    out.append(box);
  }
  pre.textContent = lines ? result : JSON.stringify(reports[0], null, 2);
  pre.hidden = false;
});

function isOneJson(t) {
  try { const v = JSON.parse(t); return v !== null && typeof v === 'object' && !Array.isArray(v); } catch { return false; }
}


// Asks for the token first when the server needs one and this tab has none.
async function start() {
  try {
    const ready = await (await fetch('/readyz')).json();
    if (ready.auth === 'bearer' && !sessionStorage.getItem(TOKEN_KEY)) {
      await askForToken('This server requires a bearer token. It is kept for this tab only.');
    }
  } catch { /* the API calls will say what is wrong */ }
  loadExperts();
}
start();
