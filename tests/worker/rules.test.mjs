// Business rules on POST /recommend (open mode, the fixture model: three categories, told apart
// by the item ID's prefix): a diversity cap, re-ranking the caller's candidates, pages, and
// explanations.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, post, assertError, assertRecommendations } from './lib.mjs';

const USER = 'U10001';
const ids = (json) => json.recommendations.map((r) => r.item_id);
const category = (id) => id.replace(/\d+$/, '');
const clicks = [{ item_id: 'SPRT1003', rating: 5 }, { item_id: 'FASH1005', rating: 4 }];

async function list(body) {
  const r = await post('/recommend', body);
  assert.equal(r.res.status, 200, r.text);
  assertRecommendations(r.json);
  return r.json;
}

/** The whole ranking (the fixture has 600 items), a page of 100 at a time: it ends at a short
 * page, or at a 400 `offset_past_end` when the last page was full. */
async function ranking(who) {
  const all = [];
  for (let offset = 0; offset <= 900; offset += 100) {
    const r = await post('/recommend', { ...who, top_n: 100, offset });
    if (offset > 0 && r.res.status === 400 && r.json?.error?.code === 'offset_past_end') break;
    assert.equal(r.res.status, 200, r.text);
    const page = ids(r.json);
    all.push(...page);
    if (page.length < 100) break;
  }
  return all;
}

describe('business rules', { skip: MODE !== 'open' }, () => {
  test('max_per_category keeps the best list under the cap, for users, sessions and visitors', async () => {
    for (const who of [{ user_id: USER }, { user_id: USER, interactions: clicks }, { interactions: clicks }]) {
      const full = await ranking(who);
      assert.ok(full.length > 500, `the ranking covers the catalogue: ${full.length}`);
      assert.equal(new Set(full).size, full.length, 'no item on two pages');
      for (const cap of [1, 2, 4]) {
        const capped = ids(await list({ ...who, top_n: 8, max_per_category: cap }));
        // The greedy pass over the uncapped ranking, as the OpenAPI document defines it.
        const taken = new Map();
        const want = full.filter((id) => {
          taken.set(category(id), (taken.get(category(id)) ?? 0) + 1);
          return taken.get(category(id)) <= cap;
        }).slice(0, 8);
        assert.deepEqual(capped, want, `${JSON.stringify(who)} cap ${cap}`);
      }
    }
    // Three categories cannot fill eight places one item each: the list is shorter, not padded.
    assert.equal((await list({ user_id: USER, top_n: 8, max_per_category: 1 })).total_count, 3);
  });

  test('candidates are re-ranked as the full ranking orders them, unknown IDs reported', async () => {
    const full = ids(await list({ user_id: USER, top_n: 100 }));
    const mine = [full[40], full[3], full[77], full[12], 'NOT-AN-ITEM', full[3]];
    const got = await list({ user_id: USER, top_n: 10, candidates: mine });
    assert.deepEqual(ids(got), [full[3], full[12], full[40], full[77]]);
    assert.deepEqual(got.unknown_items, ['NOT-AN-ITEM']);
    const visitor = await list({ interactions: clicks, top_n: 2, candidates: [full[5], full[6], full[7]] });
    assert.equal(visitor.total_count, 2);
    assert.ok(ids(visitor).every((id) => [full[5], full[6], full[7]].includes(id)));
  });

  test('offset pages through one ranking without repeats; past its end is a 400 offset_past_end', async () => {
    const first20 = ids(await list({ user_id: USER, top_n: 20 }));
    const page1 = ids(await list({ user_id: USER, top_n: 10 }));
    const page2 = ids(await list({ user_id: USER, top_n: 10, offset: 10 }));
    assert.deepEqual([...page1, ...page2], first20);
    // Under a cap of two, three categories fill six places: the page after four holds two (a
    // short last page is a 200), and nothing is left at offset 6: a 400 with its own code.
    const capped6 = ids(await list({ user_id: USER, top_n: 6, max_per_category: 2 }));
    assert.equal(capped6.length, 6);
    assert.deepEqual(ids(await list({ user_id: USER, top_n: 4, offset: 4, max_per_category: 2 })), capped6.slice(4));
    const afterCap = await post('/recommend', { user_id: USER, top_n: 4, offset: 6, max_per_category: 2 });
    assertError(afterCap, 400, 'offset_past_end');
    assert.match(afterCap.json.error.message, /offset 6 is past the end: this query has 6 items/);
    // The whole ranking (600 items less the user's own): its last item is a page of one, and the
    // offset after it is past the end, for users, visitors, the popular fallback and candidates.
    for (const who of [{ user_id: USER }, { interactions: clicks }, { user_id: 'NO-SUCH-USER' }]) {
      const full = await ranking(who);
      const last = await list({ ...who, top_n: 10, offset: full.length - 1 });
      assert.deepEqual(ids(last), full.slice(-1), JSON.stringify(who));
      for (const offset of [full.length, 900]) {
        assertError(await post('/recommend', { ...who, top_n: 10, offset }), 400, 'offset_past_end');
      }
    }
    const two = (await ranking({ user_id: USER })).slice(0, 2);
    assert.deepEqual(ids(await list({ user_id: USER, candidates: two, offset: 1 })), two.slice(1));
    assertError(await post('/recommend', { user_id: USER, candidates: two, offset: 2 }), 400, 'offset_past_end');
    // The first page is never past the end: with nothing to give it is empty.
    assert.equal((await list({ user_id: USER, candidates: ['NOT-AN-ITEM'] })).total_count, 0);
  });

  test('explain: true names up to three of the user\'s own items behind each one', async () => {
    const visitor = await list({ interactions: clicks, top_n: 5, explain: true });
    for (const r of visitor.recommendations) {
      assert.ok(Array.isArray(r.because) && r.because.length >= 1 && r.because.length <= 3, JSON.stringify(r));
      assert.ok(r.because.every((b) => clicks.some((c) => c.item_id === b.item_id)), JSON.stringify(r.because));
      const shares = r.because.map((b) => b.share);
      assert.ok(shares.every((x, k) => x > 0 && x <= 1 && (k === 0 || x <= shares[k - 1])), JSON.stringify(shares));
      assert.ok(shares.reduce((a, b) => a + b, 0) <= 1.0001);
    }
    const user = await list({ user_id: USER, top_n: 5, explain: true });
    assert.ok(user.recommendations.every((r) => r.because.length >= 1), 'a known user\'s items have reasons');
    const session = await list({ user_id: USER, interactions: clicks, top_n: 20, explain: true });
    const named = new Set(session.recommendations.flatMap((r) => r.because.map((b) => b.item_id)));
    assert.ok(clicks.some((c) => named.has(c.item_id)), `a session item is a reason somewhere: ${[...named]}`);
    // The popular fallback is nobody's history: the field is there, empty.
    const popular = await list({ user_id: 'NO-SUCH-USER', top_n: 3, explain: true });
    assert.deepEqual(popular.recommendations.map((r) => r.because), [[], [], []]);
    // Without explain the seed's shape is untouched.
    const plain = await list({ user_id: USER, top_n: 3, explain: false });
    assert.ok(plain.recommendations.every((r) => !('because' in r)));
    assert.deepEqual(ids(plain), ids(user).slice(0, 3), 'explaining does not change the list');
  });

  test('bad rules are 400s', async () => {
    for (const body of [
      { user_id: USER, max_per_category: 0 },
      { user_id: USER, max_per_category: 101 },
      { user_id: USER, offset: 901 },
      { user_id: USER, offset: -1 },
      { user_id: USER, candidates: 'TECH1001' },
      { user_id: USER, candidates: [''] },
      { user_id: USER, candidates: null },
      { user_id: USER, explain: null },
      { user_id: USER, explain: 'yes' },
    ]) {
      assertError(await post('/recommend', body), 400, 'invalid_request');
    }
  });
});
