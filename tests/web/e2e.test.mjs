// End to end: the real page in Debian's headless Chromium (playwright-core), served from a
// loopback static server. Env: E2E_MODEL (an artifact; the fixture by default, see run.sh),
// ARTIFACTS (where screenshots go).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { ROOT } from './wasm-node.mjs';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MODEL = process.env.E2E_MODEL ?? assert.fail('E2E_MODEL is not set (run tests/web/run.sh)');
const ARTIFACTS = process.env.ARTIFACTS ?? join(ROOT, 'tests/artifacts');
const TIMEOUT = 15_000;

let server;
let browser;
const outside = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const model = readFileSync(MODEL);
  const corrupt = Buffer.from(model);
  corrupt.writeUInt32LE(0xffffff, 0); // a header length past the end of the file
  server = await serve(join(ROOT, 'web'), {
    '/test-models/model.safetensors': model,
    '/test-models/corrupt.safetensors': corrupt,
    '/test-models/truncated.safetensors': model.subarray(0, 4096),
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page; records console errors and any request that leaves the loopback origin. */
async function open(query, viewport = { width: 1360, height: 1000 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url) || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`${server.url}${query}`);
  return { page, errors, context };
}

const recIds = (page) => page.locator('#recs-list button.item').evaluateAll((bs) => bs.map((b) => b.dataset.item));

test('the page loads the model and shows a known user\'s recommendations', async () => {
  const { page, errors, context } = await open('?model=test-models/model.safetensors');
  await page.waitForSelector('body[data-state="ready"]');
  assert.equal(await page.locator('#error').isHidden(), true);
  assert.match(await page.locator('#model-facts').innerText(), /users\s+1,000/i);
  const first = await recIds(page);
  assert.equal(first.length, 10);
  const firstUser = await page.locator('#recs-for').innerText();

  // Pick another user by searching, then Enter.
  await page.fill('#user-search', 'U10007');
  await page.press('#user-search', 'Enter');
  await page.waitForFunction(() => document.querySelector('#recs-for').textContent === 'U10007');
  assert.notEqual(firstUser, 'U10007');
  const second = await recIds(page);
  assert.equal(second.length, 10);
  assert.notDeepEqual(second, first);
  assert.equal(await page.locator('#recs-list').getAttribute('data-source'), 'personalized');
  assert.ok((await page.locator('#rated-list li').count()) > 0, 'the user\'s rated items are listed');
  // A recommendation says which of the user's own items it rests on (the core's explain():
  // an item whose every part is negative has none, so nearly all, not all, are checked).
  const reasons = await page.locator('#recs-list li .because').allInnerTexts();
  assert.ok(reasons.length >= 8, `${reasons.length} of 10 items name a reason`);
  const rated = await page.evaluate((u) => window.edgerec.rec.rated(u).map((r) => r.itemId), 'U10007');
  for (const text of reasons) {
    const named = text.match(/^because you viewed (\S+)$/)?.[1];
    assert.ok(named && rated.includes(named), `${text}: not one of U10007's items`);
  }
  assert.match(await page.locator('#latency').innerText(), /ms in wasm/);

  // N follows the selector.
  await page.selectOption('#top-n', '20');
  await page.waitForFunction(() => document.querySelectorAll('#recs-list li').length === 20);
  await page.selectOption('#top-n', '10');
  await page.waitForFunction(() => document.querySelectorAll('#recs-list li').length === 10);

  // The map rings the current recommendations.
  assert.equal(await page.locator('#map .dots-top circle.dot-rec').count(), 10);

  // Similar items from a click on a recommendation.
  await page.locator('#recs-list button.item').first().click();
  const target = second[0];
  await page.waitForFunction((t) => document.querySelector('.similar-target')?.textContent === t, target);
  const similar = await page.locator('#similar-list button.item').evaluateAll((bs) => bs.map((b) => b.dataset.item));
  assert.equal(similar.length, 8);
  assert.ok(!similar.includes(target));

  // And from a click on a map dot.
  const dot = page.locator('#map .dots circle').nth(5);
  const dotId = await dot.getAttribute('data-item');
  await dot.click({ force: true });
  await page.waitForFunction((t) => document.querySelector('.similar-target')?.textContent === t, dotId);

  const timing = await page.evaluate(() => window.edgerec.timings);
  console.log(`# time to first recommendation: ${timing.firstRecommendation.toFixed(1)} ms after navigation start`);
  await page.screenshot({ path: join(ARTIFACTS, 'page-known-user.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a known user\'s list changes at once after clicking items (session)', async () => {
  const { page, errors, context } = await open('?model=test-models/model.safetensors&user=U10007');
  await page.waitForSelector('body[data-state="ready"]');
  await page.waitForFunction(() => document.querySelector('#recs-for').textContent === 'U10007');
  assert.equal(await page.locator('#recs-list').getAttribute('data-source'), 'personalized');
  const plain = await recIds(page);
  assert.equal(plain.length, 10);
  assert.equal(await page.locator('#session-list button.item').count(), 0);

  // Click two items: the user's third recommendation, then one from the similar list.
  const first = plain[2];
  await page.locator(`#recs-list button.item[data-item="${first}"]`).click();
  await page.waitForFunction(() => document.querySelector('#recs-list').dataset.source === 'session');
  await page.waitForFunction((t) => document.querySelector('.similar-target')?.textContent === t, first);
  const second = await page.locator('#similar-list button.item').last().getAttribute('data-item');
  await page.locator(`#similar-list button.item[data-item="${second}"]`).click();
  await page.waitForFunction(() => document.querySelectorAll('#session-list button.item').length === 2);
  const clicked = await page.locator('#session-list button.item').evaluateAll((bs) => bs.map((b) => b.dataset.item));
  assert.deepEqual(clicked, [first, second]);

  const shifted = await recIds(page);
  assert.equal(shifted.length, 10);
  assert.notDeepEqual(shifted, plain);
  assert.notDeepEqual(shifted, plain.filter((id) => !clicked.includes(id)).slice(0, shifted.length), 'more than the clicked items left out');
  assert.ok(!shifted.some((id) => clicked.includes(id)), `clicked items are not recommended back: ${shifted}`);
  assert.match(await page.locator('#recs-note').innerText(), /2 items viewed this session/);
  // The page answers what the wasm session call answers.
  const direct = await page.evaluate(([userId, ids]) => {
    const { rec, info } = window.edgerec;
    const rating = info.kind === 'rating' ? (info.ratingRange?.[1] ?? 5) : 1;
    const interactions = ids.map((itemId) => ({ itemId, rating }));
    return rec.recommend({ userId, topN: 10, categories: null, interactions }).items.map((i) => i.itemId);
  }, ['U10007', clicked]);
  assert.deepEqual(shifted, direct);
  await page.screenshot({ path: join(ARTIFACTS, 'page-session.png'), fullPage: true });

  // Clearing the session, or picking another user, starts over.
  await page.click('#reset-session');
  await page.waitForFunction(() => document.querySelector('#recs-list').dataset.source === 'personalized');
  assert.deepEqual(await recIds(page), plain);
  await page.locator('#recs-list button.item').first().click();
  await page.waitForFunction(() => document.querySelector('#recs-list').dataset.source === 'session');
  await page.locator('#user-results button:not([data-user="U10007"])').first().click();
  await page.waitForFunction(() => document.querySelector('#recs-list').dataset.source === 'personalized');
  assert.equal(await page.locator('#session-list button.item').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a new visitor\'s list changes after two ratings (fold-in)', async () => {
  const { page, errors, context } = await open('?model=test-models/model.safetensors');
  await page.waitForSelector('body[data-state="ready"]');
  await page.click('#tab-visitor');
  await page.waitForFunction(() => document.querySelector('#recs-for').textContent === 'you');
  assert.equal(await page.locator('#recs-list').getAttribute('data-source'), 'popular');
  assert.equal(await page.locator('#recs-list li .because').count(), 0, 'popular items have no reasons');
  const popular = await recIds(page);
  assert.equal(popular.length, 10);

  // Rate two fashion items 5 stars, found through the item search.
  await page.fill('#item-search', 'FASH');
  const rows = page.locator('#rate-list .rate-row');
  const a = await rows.nth(0).locator('button.item').getAttribute('data-item');
  const b = await rows.nth(1).locator('button.item').getAttribute('data-item');
  await rows.nth(0).locator('button[data-value="5"]').click();
  await page.waitForFunction(() => document.querySelector('#recs-list').dataset.source === 'fold_in');
  await page.locator(`#rate-list button[data-rate="${b}"][data-value="5"]`).click();
  await page.waitForFunction(() => document.querySelector('#recs-note').textContent.includes('2 ratings'));
  const folded = await recIds(page);
  assert.equal(folded.length, 10);
  assert.notDeepEqual(folded, popular);
  assert.ok(!folded.includes(a) && !folded.includes(b), 'rated items are not recommended back');
  const fashion = folded.filter((id) => id.startsWith('FASH')).length;
  assert.ok(fashion >= 7, `after two fashion ratings most picks are fashion (${folded})`);
  const reasons = await page.locator('#recs-list li .because').allInnerTexts();
  assert.ok(reasons.length >= 8, `${reasons.length} of 10 folded-in picks name a reason`);
  assert.ok(reasons.every((t) => t === `because you viewed ${a}` || t === `because you viewed ${b}`), `${reasons}`);
  assert.equal(await page.locator('#my-ratings li').count(), 2);

  // Keyboard only: Tab to a star and press Enter.
  await page.locator('#rate-list button[data-value="4"]').nth(2).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#recs-note').textContent.includes('3 ratings'));
  await page.screenshot({ path: join(ARTIFACTS, 'page-new-visitor.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('phone width: one column, no horizontal scrolling', async () => {
  const { page, context } = await open('?model=test-models/model.safetensors', { width: 390, height: 844 });
  await page.waitForSelector('body[data-state="ready"]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  assert.equal(await page.locator('#recs-list li').count(), 10);
  const chip = page.locator('#user-results button').nth(1);
  const user = await chip.getAttribute('data-user');
  await chip.click();
  await page.waitForFunction((u) => document.querySelector('#recs-for').textContent === u, user);
  await page.screenshot({ path: join(ARTIFACTS, 'page-phone.png'), fullPage: true });
  await context.close();
});

for (const [name, query, pattern] of [
  ['corrupt', '?model=test-models/corrupt.safetensors', /could not load the model: not a valid safetensors file/i],
  ['truncated', '?model=test-models/truncated.safetensors', /could not load the model/i],
  ['missing', '?model=models/does-not-exist.safetensors', /HTTP 404/],
  ['cross-origin', '?model=https://example.com/m.safetensors', /another origin/],
]) {
  test(`a ${name} model shows a readable error`, async () => {
    const { page, context } = await open(query);
    await page.waitForSelector('body[data-state="error"]');
    const card = page.locator('#error');
    assert.equal(await card.isVisible(), true);
    assert.equal(await card.getAttribute('role'), 'alert');
    assert.match(await page.locator('#error-message').innerText(), pattern);
    assert.equal(await page.locator('#app').isHidden(), true);
    if (name === 'corrupt') await page.screenshot({ path: join(ARTIFACTS, 'page-corrupt-model.png'), fullPage: true });
    await context.close();
  });
}

test('the default model URL is models/demo.safetensors', { skip: !existsSync(join(ROOT, 'web/models/demo.safetensors')) && 'no web/models/demo.safetensors' }, async () => {
  const { page, context } = await open('');
  await page.waitForSelector('body[data-state="ready"]');
  assert.ok((await page.locator('#recs-list li').count()) > 0);
  await page.screenshot({ path: join(ARTIFACTS, 'page-demo-model.png'), fullPage: true });
  await context.close();
});

test('nothing was requested outside the page\'s origin', () => {
  assert.deepEqual(outside, []);
});
