// Drives the `coe serve` web page in headless Debian chromium.
//   node page.mjs SERVE_URL TOKEN OUT_DIR PANEL_FILE CLI_REPORT_FILE
// The server has experts a, b, c (answering) and bad (failing).  Exits 1 on
// the first failed check; prints the time from Ask to the first expert delta.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [url, token, outDir, panelFile, cliReportFile] = process.argv.slice(2);
const executablePath = process.env.COE_TEST_CHROMIUM || '/usr/lib/chromium/chromium';

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(30000);

  await page.goto(url);
  // The server needs a token: the page asks before any API call.
  await page.locator('#token').waitFor({ state: 'visible' });
  check(await page.locator('#token').evaluate((e) => e === document.activeElement), 'the token prompt has the focus');
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.locator('#expert-bad').waitFor();
  check(await page.locator('#experts-box input[type=checkbox]').count() === 4, 'four experts offered');
  check(await page.evaluate(() => sessionStorage.getItem('coe.token')) === token, 'the token is kept for the tab');

  await page.fill('#question', 'How should we cache the build?');
  await page.check('#review');
  await page.selectOption('#synthesize', 'a');
  await page.click('#ask');

  const bad = page.locator('[data-expert="bad"]');
  await bad.locator('.msg').waitFor({ state: 'visible' });
  const badText = await bad.locator('.msg').textContent();
  check(/error/i.test(badText) && badText.includes(':'), `the failing expert shows its error class and message ("${badText.trim()}")`);
  check(await bad.getAttribute('data-status') === 'failed', 'the failing card is marked failed');

  await page.locator('.final-box .final').waitFor();
  const final = (await page.locator('.final-box .final').textContent()).trim();
  check(final.length > 20, `the final answer is shown ("${final.slice(0, 60)}")`);
  for (const name of ['a', 'b', 'c']) {
    const c = page.locator(`[data-expert="${name}"]`);
    check(await c.getAttribute('data-status') === 'ok', `card ${name} answered`);
    const stats = await c.locator('.stats').textContent();
    check(/latency \d+ ms · first token \d+ ms · tokens \d+→\d+ · retries \d+/.test(stats), `card ${name} has latency, first token, tokens, retries (${stats})`);
    check((await c.locator('.text').textContent()).length > 20, `card ${name} shows the answer`);
  }
  check(/Level: \w+ · majority share \d+%/.test(await page.locator('#consensus .level').textContent()), 'the consensus level and majority share');
  const chartMissing = await page.evaluate(() => window.coeChartMissing || null);
  if (chartMissing) {
    check((await page.locator('#consensus .notice').textContent()).includes('libjs-d3'), 'without d3 built in, the page says so where the chart would be');
    console.log('SKIPPED: the cluster chart: this server was built without d3 (libjs-d3)');
  } else {
    check(await page.locator('#consensus figure.chart svg circle').count() === 3, 'the d3 cluster chart, a circle per answer');
  }
  check(await page.locator('#consensus table.review tr').count() === 4, 'the review ranking (three answers)');
  check((await page.locator('#consensus .synthesis').textContent()).length > 20, 'the synthesis streamed in');
  check(/Done: 3 of 4 answered/.test(await page.locator('#ask-status').textContent()), 'the status says 3 of 4 answered');
  await page.waitForFunction(() => document.querySelector('[data-expert="a"] .breaker'));
  check(/breaker closed/.test(await page.locator('[data-expert="a"] .breaker').textContent()), 'the breaker state is shown');

  const timing = await page.evaluate(() => window.coeTiming);
  check(typeof timing.firstCard === 'number', 'the first delta was timed');
  console.log(`time to first expert card: ${timing.firstCard.toFixed(1)} ms (Ask to the first delta shown; final at ${timing.final.toFixed(1)} ms)`);
  await page.screenshot({ path: join(outDir, 'web-page.png'), fullPage: true });

  // A phone-sized screen: no horizontal scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scroll at 390 px');
  await page.setViewportSize({ width: 1100, height: 900 });

  // A past consultation: the JSON of /v1/consult (as coe consult --json), pasted.
  const past = await page.evaluate(async (t) => (await fetch('/v1/consult', { method: 'POST',
    headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ question: 'How should we cache the build?' }) })).text(), token);
  await page.click('button[data-view="past"]');
  await page.fill('#past-text', past);
  await page.click('#past-show');
  await page.locator('#past-consensus .final').waitFor();
  check(await page.locator('#past-cards .card').count() === 4, 'the past consultation: a card per expert');
  check(await page.locator('#past-cards [data-expert="bad"]').getAttribute('data-status') === 'failed', 'the past consultation: the failure shown');
  if (!chartMissing) check(await page.locator('#past-consensus figure.chart svg circle').count() === 3, 'the past consultation: the cluster chart');
  await page.fill('#past-text', '{"not": "a consultation"}');
  await page.click('#past-show');
  check(/Not a consultation/.test(await page.locator('#past-status').textContent()), 'the past view says when the JSON is not a consultation');

  // The analyse view: the WebAssembly engine, when it was built in.
  const mjs = await page.evaluate(async () => (await fetch('/coe.mjs', { method: 'HEAD' })).status);
  await page.click('button[data-view="analyse"]');
  if (mjs !== 200) {
    await page.fill('#analyse-text', readFileSync(panelFile, 'utf8'));
    await page.click('#analyse-run');
    await page.locator('#analyse-out .notice').waitFor();
    check((await page.locator('#analyse-out .notice').textContent()).includes('scripts/build-wasm.sh'), 'the analyse view says how to build the engine');
    console.log('SKIPPED: analyse-a-file in the browser: this server was built without the WebAssembly module (scripts/build-wasm.sh)');
    // That view's 404 for /coe.mjs (and the probe above) is expected here.
    for (let i = consoleErrors.length - 1; i >= 0; --i) if (/404/.test(consoleErrors[i])) consoleErrors.splice(i, 1);
  } else {
    await page.fill('#analyse-text', readFileSync(panelFile, 'utf8'));
    await page.click('#analyse-run');
    await page.locator('#analyse-json').waitFor({ state: 'visible', timeout: 60000 });
    const browserReport = JSON.parse(await page.locator('#analyse-json').textContent());
    const cliReport = JSON.parse(readFileSync(cliReportFile, 'utf8'));
    // Where and how fast it ran differ; so does the note the WebAssembly
    // engine adds on its features (it reads no word-vector files).
    const aside = ['timing_ms', 'backend', 'served_by', 'features_note'];
    const strip = (r) => JSON.parse(JSON.stringify(r, (k, v) => (aside.includes(k) ? undefined : v)));
    const a = JSON.stringify(strip(browserReport)), b = JSON.stringify(strip(cliReport));
    if (a !== b) console.log(`browser: ${a}\ncli:     ${b}`);
    check(a === b, `the browser analysis equals coe analyze --json (all but ${aside.join(', ')})`);
    await page.screenshot({ path: join(outDir, 'web-page-analyse.png'), fullPage: true });
  }
  check(consoleErrors.length === 0, `no console errors${consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''}`);
} catch (e) {
  console.error(String(e.stack || e));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
