// A canary experiment measured online (experiment mode): a second model published as a 50 %
// canary, simulated users whose clicks on the canary's answers are more likely by construction,
// and GET /admin/metrics, which must show the canary ahead with an interval that excludes 0;
// then a period with equal click rates, whose interval must include 0. run.sh sets:
//   EDGEREC_ADMIN_TOKEN   the ADMIN_TOKEN it wrote to .dev.vars
//   EDGEREC_CANARY_MODEL  the artifact to publish as the canary
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, MODE, call, post, assertError } from './lib.mjs';

const AUTH = { authorization: `Bearer ${process.env.EDGEREC_ADMIN_TOKEN ?? ''}` };

/** Runs the trainer (run.sh builds it) against this Worker; its standard output. */
const trainer = (...args) =>
  execFileSync(process.env.EDGEREC_TRAINER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const admin = ['--token', process.env.EDGEREC_ADMIN_TOKEN ?? ''];
const USERS = 1200;

/** A deterministic generator (mulberry32), so each run draws the same clicks. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const metrics = async (query) => {
  const r = await call(`/admin/metrics?${query}`, { headers: AUTH });
  assert.equal(r.res.status, 200, r.text);
  return r.json;
};

/** USERS users each get an answer and click its first item with the variant's probability; the
 * clicks go out in batches. Returns the period [since, until) in Unix seconds and the count of
 * answers per variant. */
async function simulate(tag, clickRate, seed) {
  const draw = random(seed);
  // The period starts on a fresh second (since is in whole seconds), so it holds no answer of
  // the period before it.
  const since = Math.ceil(Date.now() / 1000);
  await new Promise((r) => setTimeout(r, since * 1000 - Date.now() + 1));
  const served = { current: 0, canary: 0 };
  const clicks = [];
  for (let start = 0; start < USERS; start += 16) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(16, USERS - start) }, (_, k) =>
        post('/recommend', { user_id: `${tag}-user-${start + k}`, top_n: 3 })),
    );
    for (const a of answers) {
      assert.equal(a.res.status, 200, a.text);
      served[a.json.variant]++;
      if (draw() < clickRate[a.json.variant]) {
        clicks.push({
          user_id: a.json.user_id, item_id: a.json.recommendations[0].item_id, behavior: 'click',
          recommendation_id: a.json.recommendation_id, position: 1, event_id: `click-${a.json.recommendation_id}`,
        });
      }
    }
  }
  for (let k = 0; k < clicks.length; k += 400) {
    const r = await post('/events', { events: clicks.slice(k, k + 400) });
    assert.equal(r.res.status, 202, r.text);
  }
  const until = Math.floor(Date.now() / 1000) + 1;
  // The impressions and the clicks arrive through the queue: wait until all are counted.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = await metrics(`since=${since}&until=${until}`);
    const shown = m.variants.reduce((n, v) => n + v.impressions, 0);
    const clicked = m.variants.reduce((n, v) => n + v.clicks, 0);
    if (shown === USERS && clicked === clicks.length) return { m, served, clicks: clicks.length };
    assert.ok(shown <= USERS && clicked <= clicks.length, `counted twice: ${shown} of ${USERS} answers and ${clicked} of ${clicks.length} clicks`);
    assert.ok(Date.now() < deadline, `counted ${shown} of ${USERS} answers and ${clicked} of ${clicks.length} clicks`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a canary experiment, measured online', { skip: MODE !== 'experiment' }, () => {
  test('the canary clicked more often is ahead, and with equal rates the interval includes 0', async () => {
    const put = await call('/admin/model?canary=50', {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: readFileSync(process.env.EDGEREC_CANARY_MODEL),
    });
    assert.equal(put.res.status, 200, put.text);
    for (let k = 0; k < 100 && (await call('/health')).json.models.canary?.percent !== 50; k++) {
      await new Promise((r) => setTimeout(r, 100));
    }

    const ahead = await simulate('ahead', { canary: 0.3, current: 0.15 }, 1);
    const [current, canary] = ['current', 'canary'].map((v) => ahead.m.variants.find((r) => r.variant === v));
    assert.ok(current && canary, JSON.stringify(ahead.m.variants));
    assert.equal(current.impressions, ahead.served.current);
    assert.equal(canary.impressions, ahead.served.canary);
    assert.ok(canary.impressions > 400 && current.impressions > 400, 'about half each');
    assert.equal(canary.users, canary.impressions, 'one answer a user');
    assert.ok(canary.ctr.rate > current.ctr.rate);
    for (const r of [canary.ctr, current.ctr]) assert.ok(r.low <= r.rate && r.rate <= r.high);
    const diff = ahead.m.canary_vs_current.ctr;
    const pct = (r) => `${(100 * r.rate).toFixed(1)} % [${(100 * r.low).toFixed(1)}, ${(100 * r.high).toFixed(1)}]`;
    console.log(`# clicks by construction 30 % / 15 %: canary CTR ${pct(canary.ctr)} over ${canary.impressions}, current ${pct(current.ctr)} over ${current.impressions}, difference ${pct(diff)}`);
    assert.ok(diff.low > 0, `the canary is ahead: ${JSON.stringify(diff)}`);
    assert.equal(canary.purchases, 0);
    assert.equal(canary.conversion.rate, 0);

    // `trainer metrics` reads the same answer, says what it shows, and charts CTR over time.
    const period = ['--since', String(Math.floor(Date.parse(ahead.m.since) / 1000)), '--until', String(Math.floor(Date.parse(ahead.m.until) / 1000))];
    assert.deepEqual(JSON.parse(trainer('metrics', '--from', BASE, ...admin, ...period, '--json')), ahead.m);
    const svg = join(process.env.EDGEREC_E2E_WORK, 'experiment-ctr.svg');
    const table = trainer('metrics', '--from', BASE, ...admin, ...period, '--svg', svg, '--buckets', '4');
    assert.match(table, /canary vs current: CTR .* points, the canary is ahead;/, table);
    assert.match(table, /^ {2}canary /m, table);
    const chart = readFileSync(svg, 'utf8');
    assert.ok(chart.startsWith('<svg') && chart.includes('canary') && chart.includes('current'), 'the SVG charts both variants');

    const equal = await simulate('equal', { canary: 0.2, current: 0.2 }, 2);
    const same = equal.m.canary_vs_current.ctr;
    console.log(`# equal rates (20 %): difference ${pct(same)}`);
    assert.ok(same.low < 0 && same.high > 0, `equal rates: the interval includes 0: ${JSON.stringify(same)}`);
    const since = Math.floor(Date.parse(equal.m.since) / 1000), until = Math.floor(Date.parse(equal.m.until) / 1000);
    const flat = trainer('metrics', '--from', BASE, ...admin, '--since', String(since), '--until', String(until));
    assert.match(flat, /CTR .* points, no difference shown \(the interval includes 0\)/, flat);

    // A one-hour attribution window still holds every click: they came within seconds.
    const late = await metrics(`since=${equal.m.since}&until=${equal.m.until}&window_hours=1`);
    assert.equal(late.variants.reduce((n, v) => n + v.clicks, 0), equal.clicks, 'all clicks came within the hour');

    // `trainer publish --promote` shows the comparison (both periods together), then promotes.
    const canaryVersion = canary.model_version;
    const promoted = JSON.parse(trainer('publish', '--to', BASE, ...admin, '--promote', '--json'));
    assert.equal(promoted.action, 'promote');
    assert.ok(promoted.comparison?.canary_vs_current?.ctr.low > 0, JSON.stringify(promoted.comparison));
    const pointer = await call('/admin/model', { headers: AUTH });
    assert.equal(pointer.json.current?.version, canaryVersion, pointer.text);
  });

  test('bad metrics requests are 4xx and change nothing', async () => {
    for (const q of ['since=yesterday', 'until=2026-13-01T00:00:00Z', 'since=2000&until=1000', 'window_hours=0', 'window_hours=721']) {
      assertError(await call(`/admin/metrics?${q}`, { headers: AUTH }), 400, 'invalid_request');
    }
    assertError(await call('/admin/metrics'), 401, 'unauthorized');
    assertError(await call('/admin/metrics', { headers: { authorization: 'Bearer wrong' } }), 401, 'unauthorized');
  });
});
