// /docs in Debian's headless Chromium (playwright-core), against the Worker in `wrangler dev`
// with its static assets (mode open): Swagger UI renders /openapi.json, and "Try it out" on
// POST /recommend gets recommendations from this Worker. Nothing may be fetched from anywhere
// but the Worker's own origin. Without Chromium the test is skipped, except under CI=true
// (EDGEREC_CI, see env.sh), where it fails. EDGEREC_CHROMIUM overrides /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { BASE, MODE } from './lib.mjs';

const CHROMIUM = process.env.EDGEREC_CHROMIUM ?? '/usr/bin/chromium'; // Debian's, as in tests/web
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 20_000;
const CI = (process.env.EDGEREC_CI ?? process.env.CI) === 'true';
const found = existsSync(CHROMIUM);
const skip = MODE !== 'open' ? true : !found && !CI ? `no Chromium at ${CHROMIUM}` : false;

let browser;

before(async () => {
  if (skip) return;
  assert.ok(found, `no Chromium at ${CHROMIUM}, and CI=true: scripts/setup.sh installs it`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
});

after(async () => {
  await browser?.close();
});

test('/docs: Swagger UI renders /openapi.json and "Try it out" runs POST /recommend', { skip }, async () => {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const origin = new URL(BASE).origin;
  const requests = [];
  const outside = [];
  const errors = [];
  const failed = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  // A CSP violation is reported to the page as an event; collect those too.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });

  const res = await page.goto(`${BASE}/docs`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'none'/);

  // Swagger UI lists the operations of /openapi.json (no tags: all under "default").
  await page.waitForSelector('.swagger-ui .info .title');
  assert.match(await page.locator('.swagger-ui .info .title').innerText(), /EdgeRec API/);
  const op = page.locator('#operations-default-recommend');
  await op.waitFor();
  for (const id of ['health', 'recommendForUser', 'docs', 'openapi']) {
    assert.equal(await page.locator(`[id^="operations-"][id$="-${id}"]`).count(), 1, `operation ${id} is listed`);
  }
  assert.match(await op.locator('.opblock-summary-method').innerText(), /POST/);
  assert.match(await op.locator('.opblock-summary-path').innerText(), /\/recommend/);

  // Expand POST /recommend, Try it out with the first example body, Execute.
  await op.locator('.opblock-summary-control').click();
  await op.locator('button.try-out__btn').click();
  const body = op.locator('textarea.body-param__text');
  await body.waitFor();
  const sent = JSON.parse(await body.inputValue());
  assert.equal(sent.user_id, 'U10001', 'the example body is filled in');
  const answer = page.waitForResponse((r) => r.url() === `${origin}/recommend` && r.request().method() === 'POST');
  await op.locator('button.execute').click();
  assert.equal((await answer).status(), 200);

  // The live response is shown in the page: status 200 and the recommendations.
  const live = op.locator('.live-responses-table');
  await live.locator('.response-col_status').filter({ hasText: '200' }).waitFor();
  const shown = await live.locator('.response-col_description pre.microlight, .response-col_description .highlight-code pre').first().innerText();
  const json = JSON.parse(shown);
  assert.equal(json.user_id, 'U10001');
  assert.equal(json.recommendations.length, sent.top_n ?? 10);
  assert.equal(json.total_count, json.recommendations.length);
  assert.match(await op.locator('.curl-command, .request-url').first().innerText(), /\/recommend/);

  assert.ok(requests.some((u) => u === `${origin}/openapi.json`), 'the page fetched /openapi.json');
  assert.ok(requests.some((u) => u.startsWith(`${origin}/docs/vendor/`)), 'Swagger UI came from /docs/vendor/');
  assert.deepEqual(outside, [], 'no request leaves the Worker\'s origin');
  assert.deepEqual(failed, [], 'every request the page made succeeded');
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no Content-Security-Policy violation');
  assert.deepEqual(errors, []);
  await context.close();
});
