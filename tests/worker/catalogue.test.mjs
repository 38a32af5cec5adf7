// Item availability (catalogue mode): PUT /admin/items against `wrangler dev` with the D1
// migrations applied and AVAILABILITY_REFRESH_SECONDS=1. run.sh sets:
//   EDGEREC_ADMIN_TOKEN     the ADMIN_TOKEN it wrote to .dev.vars
//   EDGEREC_REFRESH         AVAILABILITY_REFRESH_SECONDS of the config it started the Worker with
// Every route must leave out what is switched off, at once after /health shows the version, and
// still answer full lists.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertError, assertRecommendations } from './lib.mjs';

const TOKEN = process.env.EDGEREC_ADMIN_TOKEN ?? '';
const REFRESH_S = Number(process.env.EDGEREC_REFRESH ?? '1');
const AUTH = { authorization: `Bearer ${TOKEN}` };
const USER = 'U10001';
const ITEM = 'TECH1001';

const ids = (json) => json.recommendations.map((r) => r.item_id);
const putItems = (body, headers = AUTH) =>
  call('/admin/items', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const getItems = async (query) => {
  const r = await call(`/admin/items?${query}`, { headers: AUTH });
  assert.equal(r.res.status, 200, r.text);
  return r.json;
};
const version = async () => (await getItems('limit=1')).version;
const health = async () => (await call('/health')).json;

/** Polls /health until the isolate uses stored version `v`; fails after refresh + 3 s. */
async function visible(v) {
  const deadline = Date.now() + (REFRESH_S + 3) * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await health();
    if (last.availability?.version === v) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`availability version ${v} not in /health within ${REFRESH_S + 3} s: ${JSON.stringify(last?.availability)}`);
}

/** Every route's list, `n` long: the user's (GET and POST), a session, a visitor, an unknown
 * user's popular fallback and an item's similar items. */
async function answers(n) {
  const clicks = [{ item_id: 'SPRT1003', rating: 5 }, { item_id: 'FASH1005', rating: 4 }];
  const got = {
    get: (await call(`/recommend/${USER}?n=${n}`)).json,
    post: (await post('/recommend', { user_id: USER, top_n: n })).json,
    session: (await post('/recommend', { user_id: USER, interactions: clicks, top_n: n })).json,
    visitor: (await post('/recommend', { interactions: clicks, top_n: n })).json,
    popular: (await call(`/recommend/NO-SUCH-USER?n=${n}`)).json,
  };
  for (const [route, json] of Object.entries(got)) {
    assertRecommendations(json, n);
    got[route] = ids(json);
    assert.equal(got[route].length, n, route);
  }
  const similar = (await call(`/items/${ITEM}/similar?n=${n}`)).json;
  got.similar = similar.similar_items.map((s) => s.item_id);
  assert.equal(got.similar.length, n, 'similar');
  return got;
}

describe('item availability', { skip: MODE !== 'catalogue' }, () => {
  test('the admin token guards both methods, and a refused write changes nothing', async () => {
    const before = await version();
    const body = { items: [{ item_id: ITEM, available: false }] };
    assertError(await putItems(body, {}), 401, 'unauthorized');
    assertError(await putItems(body, { authorization: 'Bearer wrong' }), 401, 'unauthorized');
    assertError(await call('/admin/items'), 401, 'unauthorized');
    const bad = [
      [400, { items: [{ item_id: ITEM, available: false, until: 'tomorrow' }] }],
      [400, { items: [{ item_id: ITEM, available: null }] }],
      [400, { items: [{ item_id: ITEM, available: false }, { item_id: ITEM, available: true }] }],
      [400, { items: [] }],
      [400, '{"items": ['],
      [413, { items: Array.from({ length: 10_001 }, (_, k) => ({ item_id: `X${k}`, available: false })) }],
    ];
    for (const [status, b] of bad) {
      assertError(await putItems(b), status);
    }
    assertError(await call('/admin/items', { method: 'PUT', headers: AUTH, body: JSON.stringify(body) }), 415);
    assertError(await call('/admin/items?state=gone', { headers: AUTH }), 400, 'invalid_request');
    assertError(await call('/admin/items?limit=0', { headers: AUTH }), 400, 'invalid_request');
    assertError(await call('/admin/items', { method: 'DELETE', headers: AUTH }), 405, 'method_not_allowed');
    assert.equal(await version(), before, 'no refused request moved the version');
    const [item] = (await getItems(`item_id=${ITEM}`)).items;
    assert.deepEqual(item, { item_id: ITEM, available: true, until: null, available_now: true, updated_at: null, version: null });
  });

  test('a full batch of the longest IDs is one write (split over statements D1 can take)', async () => {
    const long = (k) => `LONG-${String(k).padStart(6, '0')}-${'x'.repeat(256 - 12)}`;
    assert.equal(long(0).length, 256);
    const items = Array.from({ length: 10_000 }, (_, k) => ({ item_id: long(k), available: false }));
    const r = await putItems({ items });
    assert.equal(r.res.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.changed, 10_000);
    const [last] = (await getItems(`item_id=${long(9_999)}`)).items;
    assert.equal(last.available, false);
    const back = await putItems({ items: items.map((i) => ({ ...i, available: true })) });
    assert.equal(back.json.changed, 10_000);
  });

  test('every route leaves out what is switched off, with full lists, and gets it back', async () => {
    const n = 10;
    const before = await answers(n);
    // Each route's first three items, and an item the model does not know.
    const off = [...new Set(Object.values(before).flatMap((list) => list.slice(0, 3)))].filter((id) => id !== ITEM);
    const r = await putItems({ items: [...off, 'NOT-IN-THE-MODEL'].map((item_id) => ({ item_id, available: false })) });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.received, off.length + 1);
    assert.equal(r.json.changed, off.length + 1);
    assert.deepEqual(r.json.unknown_items, ['NOT-IN-THE-MODEL']);
    const h = await visible(r.json.version);
    assert.equal(h.availability.unavailable_items, off.length);
    assert.equal(h.availability.error, null);

    const during = await answers(n);
    for (const [route, list] of Object.entries(during)) {
      const leaked = list.filter((id) => off.includes(id));
      assert.deepEqual(leaked, [], `${route} serves switched-off items`);
      // The rest of the old list keeps its order: only the switched-off items went.
      const kept = before[route].filter((id) => !off.includes(id));
      assert.deepEqual(list.slice(0, kept.length), kept, route);
    }

    // The same state again changes nothing, not even the version.
    const again = await putItems({ items: off.map((item_id) => ({ item_id, available: false })) });
    assert.equal(again.json.changed, 0);
    assert.equal(again.json.version, r.json.version);

    // Read back: only those, in ID order, a page at a time.
    const listed = [];
    let after = '';
    for (;;) {
      const page = await getItems(`state=unavailable&limit=4&after=${encodeURIComponent(after)}`);
      listed.push(...page.items.map((i) => i.item_id));
      if (page.next_after === null) break;
      after = page.next_after;
    }
    assert.deepEqual(listed, [...off, 'NOT-IN-THE-MODEL'].sort());

    const on = await putItems({ items: off.map((item_id) => ({ item_id, available: true })) });
    assert.equal(on.json.changed, off.length);
    await visible(on.json.version);
    assert.deepEqual(await answers(n), before);
  });

  test('an item with `until` leaves every list when that time passes, with no other write', async () => {
    const first = ids((await call(`/recommend/${USER}?n=5`)).json)[0];
    const ends = Date.now() + 2500;
    const r = await putItems({ items: [{ item_id: first, available: true, until: new Date(ends).toISOString() }] });
    assert.equal(r.res.status, 200, r.text);
    await visible(r.json.version);
    const [stored] = (await getItems(`item_id=${first}`)).items;
    assert.equal(stored.available, true);
    assert.equal(Date.parse(stored.until), ends);
    if (Date.now() < ends - 200) {
      assert.equal(ids((await call(`/recommend/${USER}?n=5`)).json)[0], first, 'still served before `until`');
    }
    await new Promise((res) => setTimeout(res, Math.max(0, ends - Date.now()) + 50));
    assert.equal((await health()).availability.version, r.json.version, 'no new version was needed');
    const now = ids((await call(`/recommend/${USER}?n=5`)).json);
    assert.ok(!now.includes(first), `${first} is past its until: ${now}`);
    assert.equal(now.length, 5);
    assert.equal((await getItems(`item_id=${first}`)).items[0].available_now, false);
    // Leaving `until` out clears it.
    const back = await putItems({ items: [{ item_id: first, available: true }] });
    await visible(back.json.version);
    assert.equal(ids((await call(`/recommend/${USER}?n=5`)).json)[0], first);
  });
});
