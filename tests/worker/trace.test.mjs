// Traceable answers and attributed events (catalogue mode: the fixture, D1 with the migrations
// applied, a local Queue). run.sh sets:
//   EDGEREC_ADMIN_TOKEN  the ADMIN_TOKEN it wrote to .dev.vars
//   EDGEREC_D1_SQLITE    the local D1 database's SQLite file, read here to see the impressions
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertError, d1, eventually } from './lib.mjs';

const AUTH = { authorization: `Bearer ${process.env.EDGEREC_ADMIN_TOKEN ?? ''}` };
const ID = /^rec-[0-9a-f]{32}$/;

function assertTraced(r) {
  assert.equal(r.res.status, 200, r.text);
  assert.match(r.json.recommendation_id, ID);
  assert.equal(r.res.headers.get('x-recommendation-id'), r.json.recommendation_id);
  assert.equal(r.json.model_version, r.res.headers.get('x-model-version'));
  assert.equal(r.json.variant, 'current');
  return r.json.recommendation_id;
}

describe('traced answers and attributed events', { skip: MODE !== 'catalogue' }, () => {
  test('every answer has its own recommendation_id, and is counted once as an impression', async () => {
    const ids = [
      assertTraced(await post('/recommend', { user_id: 'U10001', top_n: 3 })),
      assertTraced(await post('/recommend', { user_id: 'U10001', top_n: 3 })),
      assertTraced(await call('/recommend/U10004?n=3')),
      assertTraced(await post('/recommend', { interactions: [{ item_id: 'TECH1001', rating: 1 }] })),
      assertTraced(await call('/items/TECH1001/similar?n=3')),
    ];
    assert.equal(new Set(ids).size, ids.length, 'no ID twice');
    const marks = ids.map(() => '?').join(',');
    const rows = await eventually('the impressions are stored', () => {
      const got = d1(`SELECT recommendation_id, user_id, variant, route FROM impressions WHERE recommendation_id IN (${marks}) ORDER BY served_at`, ...ids);
      return got.length === ids.length && got;
    });
    assert.deepEqual(rows.map((r) => r[2]), Array(5).fill('current'));
    assert.deepEqual(rows.map((r) => r[3]).sort(), ['recommend', 'recommend', 'recommend', 'recommend', 'similar']);
    assert.ok(rows.some((r) => r[1] === 'U10004'));
  });

  test('a click names the answer it came from, and is stored with it once', async () => {
    const answer = (await post('/recommend', { user_id: 'U10001', top_n: 5 })).json;
    const id = answer.recommendation_id;
    const item = answer.recommendations[1].item_id;
    const click = { user_id: 'U10001', item_id: item, behavior: 'click', recommendation_id: id, position: 2, event_id: `click-${id}` };
    for (let k = 0; k < 2; k++) {
      const r = await post('/events', { events: [click] });
      assert.equal(r.res.status, 202, r.text);
    }
    const stored = await eventually('the click is in the log', async () => {
      const r = await call('/admin/events?limit=5000', { headers: AUTH });
      const lines = r.text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const mine = lines.filter((e) => e.event_id === click.event_id);
      return mine.length ? mine : null;
    });
    assert.equal(stored.length, 1, 'stored once');
    assert.equal(stored[0].recommendation_id, id);
    assert.equal(stored[0].position, 2);
  });

  test('a bad attribution is a 400 and nothing is queued; an unknown but well-formed ID is stored as given', async () => {
    const base = { user_id: 'U1', item_id: 'TECH1001', behavior: 'click' };
    for (const extra of [
      { recommendation_id: 'rec-nope' },
      { recommendation_id: 'ev-0190f5c2a1b27c3d8e9f00112233aabb' },
      { recommendation_id: null },
      { recommendation_id: 'rec-0190f5c2a1b27c3d8e9f00112233aabb', behavior: 'view' },
      { recommendation_id: 'rec-0190f5c2a1b27c3d8e9f00112233aabb', position: 0 },
      { position: 3 },
    ]) {
      assertError(await post('/events', { events: [{ ...base, ...extra, event_id: 'never-stored' }] }), 400, 'invalid_request');
    }
    const unknown = 'rec-00000000000000000000000000000000';
    assert.equal((await post('/events', { events: [{ ...base, recommendation_id: unknown, event_id: 'unknown-answer' }] })).res.status, 202);
    await eventually('the event with an unknown answer is stored', () => d1('SELECT 1 FROM events WHERE event_id = ?', 'unknown-answer').length === 1);
    assert.deepEqual(d1('SELECT count(*) FROM events WHERE event_id = ?', 'never-stored'), [[0]]);
  });
});
