// The seed README's example requests, verbatim (only the host changes), against the Worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, MODE, post, call, assertRecommendations } from './lib.mjs';

const sh = (cmd) => execFileSync('sh', ['-c', cmd.replaceAll('http://localhost:8000', BASE)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

describe('seed README examples', { skip: MODE !== 'open' }, () => {
  test('curl http://localhost:8000/health', () => {
    const json = JSON.parse(sh('curl -s http://localhost:8000/health'));
    assert.equal(json.status, 'healthy');
    assert.equal(json.model_loaded, true);
    assert.equal(json.num_users, 1000);
    assert.equal(json.num_items, 600);
  });

  test('curl -X POST /recommend {"user_id": "U10001", "top_n": 5}', () => {
    const out = sh(`curl -X POST "http://localhost:8000/recommend" \\
     -H "Content-Type: application/json" \\
     -d '{"user_id": "U10001", "top_n": 5}'`);
    const json = JSON.parse(out);
    assert.equal(json.user_id, 'U10001');
    assertRecommendations(json, 5);
    assert.equal(json.fallback, undefined);
  });

  test('requests.post(json={"user_id": "U10001", "top_n": 5, "exclude_rated": True})', async () => {
    // Python's requests sends exactly this body and header for json=data.
    const r = await post('/recommend', '{"user_id": "U10001", "top_n": 5, "exclude_rated": true}');
    assert.equal(r.res.status, 200);
    assertRecommendations(r.json, 5);
  });

  test('API doc: POST /recommend with top_n 10', async () => {
    const r = await post('/recommend', `{
  "user_id": "U10001",
  "top_n": 10,
  "exclude_rated": true
}`);
    assert.equal(r.res.status, 200);
    // The seed's keys, in its order; then what traces the answer (additive: a seed client
    // reads the same three).
    assert.deepEqual(Object.keys(r.json), ['user_id', 'recommendations', 'total_count', 'recommendation_id', 'model_version', 'variant']);
    assertRecommendations(r.json, 10);
  });

  test('API doc: GET /users', async () => {
    const r = await call('/users');
    assert.equal(r.res.status, 200);
    assert.equal(r.json.total_users, 1000);
    assert.equal(r.json.user_ids.length, 100, 'the seed shows the first 100');
    assert.equal(r.json.user_ids[0], 'U10001');
  });
});

// The demo's trained hybrid model (mode demo): its ranker orders each list and its rating head
// reports predicted_rating. A seed client reads rank 1 as the highest predicted_rating, and
// assertRecommendations checks that it is, for every kind of answer.
describe('the seed client against the trained demo model', { skip: MODE !== 'demo' }, () => {
  test('known users, an unknown user, a session and a visitor: predicted_rating never rises with rank', async () => {
    const users = (await call('/users?limit=20')).json.user_ids;
    assert.equal(users.length, 20);
    for (const user_id of users) {
      const r = await post('/recommend', { user_id, top_n: 10 });
      assert.equal(r.res.status, 200, r.text);
      assert.equal(r.json.fallback, undefined, user_id);
      assertRecommendations(r.json, 10);
    }
    const unknown = await post('/recommend', { user_id: 'NOBODY-1', top_n: 10 });
    assert.equal(unknown.json.fallback, 'popular');
    assertRecommendations(unknown.json, 10);
    const items = (await post('/recommend', { user_id: users[0], top_n: 3 })).json.recommendations.map((x) => x.item_id);
    const interactions = items.map((item_id) => ({ item_id, rating: 5 }));
    const session = await post('/recommend', { user_id: users[1], interactions, top_n: 10 });
    assert.equal(session.res.status, 200, session.text);
    assertRecommendations(session.json, 10);
    const visitor = await post('/recommend', { interactions, top_n: 10 });
    assert.equal(visitor.res.status, 200, visitor.text);
    assertRecommendations(visitor.json, 10);
  });
});
