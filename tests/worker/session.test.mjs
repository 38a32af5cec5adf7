// POST /recommend with `user_id` and `interactions` together: "this known user, plus what they
// just did". The assertions hold for any model (with or without a recency component or a rating
// head): the list changes at once and leaves the interaction items out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertRecommendations, untraced } from './lib.mjs';

const USER = 'U10001';
const ids = (json) => json.recommendations.map((r) => r.item_id);
const pairs = (json) => json.recommendations.map((r) => [r.item_id, r.predicted_rating]);

/** Three popular items from the category (ID prefix) least present in the user's own list. */
async function clicksAwayFrom(plain) {
  const popular = (await call('/recommend/NO-SUCH-USER-FOR-SESSIONS?n=100')).json;
  const prefix = (id) => id.replace(/\d+$/, '');
  const counts = new Map();
  for (const id of ids(popular)) counts.set(prefix(id), 0);
  for (const id of ids(plain)) counts.set(prefix(id), (counts.get(prefix(id)) ?? 0) + 1);
  const [rare] = [...counts].sort((a, b) => a[1] - b[1])[0];
  const picked = ids(popular).filter((id) => prefix(id) === rare && !ids(plain).includes(id)).slice(0, 3);
  assert.equal(picked.length, 3, `three popular ${rare} items`);
  return picked.map((item_id) => ({ item_id, rating: 5 }));
}

describe('sessions: user_id plus interactions', { skip: MODE !== 'open' }, () => {
  test('the user\'s list changes at once and leaves the interaction items out', async () => {
    const plain = (await post('/recommend', { user_id: USER, top_n: 20 })).json;
    assertRecommendations(plain, 20);
    const interactions = await clicksAwayFrom(plain);
    const r = await post('/recommend', { user_id: USER, interactions, top_n: 20 });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.user_id, USER);
    assert.equal(r.json.fallback, undefined);
    assert.equal(r.json.unknown_items, undefined);
    assertRecommendations(r.json, 20);
    const clicked = interactions.map((i) => i.item_id);
    assert.ok(!ids(r.json).some((id) => clicked.includes(id)), `clicked items are left out: ${ids(r.json)}`);
    // Not merely the old list without the clicked items: the ranking or the ratings moved.
    const rest = pairs(plain).filter(([id]) => !clicked.includes(id));
    assert.notDeepEqual(pairs(r.json).slice(0, rest.length), rest);
    assert.notDeepEqual(ids(r.json), ids(plain));
    assert.match(r.res.headers.get('server-timing'), /work;desc="session, then \d+ items scored, d=\d+"/);
  });

  test('the same session answers the same list, and the clicks may come in any order', async () => {
    const plain = (await post('/recommend', { user_id: USER, top_n: 10 })).json;
    const interactions = await clicksAwayFrom(plain);
    const a = await post('/recommend', { user_id: USER, interactions, top_n: 10 });
    const again = await post('/recommend', { user_id: USER, interactions, top_n: 10 });
    assert.deepEqual(untraced(a.json), untraced(again.json), 'the same session answers the same list');
    const b = await post('/recommend', { user_id: USER, interactions: [...interactions].reverse(), top_n: 10 });
    assert.equal(b.res.status, 200);
    assertRecommendations(b.json, 10);
  });

  test('exclude_rated false keeps the interaction items eligible', async () => {
    const plain = (await post('/recommend', { user_id: USER, top_n: 100 })).json;
    const interactions = await clicksAwayFrom(plain);
    const r = await post('/recommend', { user_id: USER, interactions, top_n: 100, exclude_rated: false });
    assert.equal(r.res.status, 200, r.text);
    assertRecommendations(r.json, 100);
  });

  test('empty interactions, or only unknown items, leave the user\'s list as it is', async () => {
    const plain = (await post('/recommend', { user_id: USER, top_n: 10 })).json;
    const empty = await post('/recommend', { user_id: USER, interactions: [], top_n: 10 });
    assert.equal(empty.res.status, 200);
    assert.deepEqual(untraced(empty.json), untraced(plain));
    const unknown = await post('/recommend', { user_id: USER, interactions: [{ item_id: 'NOPE1', rating: 4 }], top_n: 10 });
    assert.equal(unknown.res.status, 200);
    assert.deepEqual(unknown.json.recommendations, plain.recommendations);
    assert.deepEqual(unknown.json.unknown_items, ['NOPE1']);
  });

  test('an unknown user with interactions is folded in like an anonymous visitor', async () => {
    const interactions = [
      { item_id: 'TECH1001', rating: 5 },
      { item_id: 'TECH1003', rating: 4 },
    ];
    const anonymous = await post('/recommend', { interactions, top_n: 10 });
    const r = await post('/recommend', { user_id: 'NEW-VISITOR-42', interactions, top_n: 10 });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.user_id, 'NEW-VISITOR-42');
    assert.equal(r.json.fallback, undefined);
    assert.deepEqual(r.json.recommendations, anonymous.json.recommendations);
    assert.ok(!ids(r.json).includes('TECH1001') && !ids(r.json).includes('TECH1003'));
    const alone = await post('/recommend', { user_id: 'NEW-VISITOR-42', interactions: [], top_n: 10 });
    assert.equal(alone.json.fallback, 'popular');
  });

  test('the filters apply to sessions too', async () => {
    const plain = (await post('/recommend', { user_id: USER, top_n: 10 })).json;
    const interactions = await clicksAwayFrom(plain);
    const top = ids(plain)[0];
    const r = await post('/recommend', { user_id: USER, interactions, top_n: 10, exclude_items: [top], categories: ['fashion', 'sports', 'tech'] });
    assert.equal(r.res.status, 200, r.text);
    assert.ok(!ids(r.json).includes(top));
  });
});
