// A catalogue too big to bundle (scale mode): run.sh serves a SCALE_ITEMS-item int8
// model with an IVF index from local R2, built without a bundled model, with its users moved to
// local KV by `trainer export-users`, and starts wrangler dev cold (no request made yet).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MODE, call, post, assertRecommendations } from './lib.mjs';

const DIR = process.env.EDGEREC_SCALE_DIR ?? '';
const ITEMS = Number(process.env.EDGEREC_SCALE_ITEMS ?? 0);
const LIMIT = 115 * 1024 * 1024; // the target under load (docs/SCALE.md); the isolate limit is 128 MB

describe('a large model from R2, users from KV', { skip: MODE !== 'scale' }, () => {
  test('a cold start loads it from R2', async () => {
    const started = performance.now();
    const r = await call('/health');
    const ms = performance.now() - started;
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.model_loaded, true, r.text);
    assert.equal(r.json.num_items, ITEMS);
    assert.equal(r.json.num_users, 0, 'the users live in KV, not in the artifact');
    assert.equal(r.json.model.source, 'r2');
    console.log(`# cold start: first /health (load ${r.json.model.bytes} bytes from R2, parse) in ${ms.toFixed(0)} ms`);
  });

  test('KV users get exactly the trainer\'s answers from the full artifact', async () => {
    const oracle = JSON.parse(readFileSync(`${DIR}/oracle.json`, 'utf8'));
    assert.ok(oracle.length >= 20);
    for (const { user, source, items } of oracle) {
      assert.equal(source, 'personalized', user);
      const get = await call(`/recommend/${user}?n=10`);
      assert.equal(get.res.status, 200, get.text);
      assertRecommendations(get.json, 10);
      assert.equal(get.json.fallback, undefined, `${user} is known through KV`);
      assert.deepEqual(get.json.recommendations.map((x) => x.item_id), items, user);
      const p = await post('/recommend', { user_id: user, top_n: 10 });
      assert.deepEqual(p.json.recommendations.map((x) => x.item_id), items, `${user} (POST)`);
    }
  });

  test('a KV user\'s session continues their record, not a stranger\'s fold-in', async () => {
    const [{ user, items }] = JSON.parse(readFileSync(`${DIR}/oracle.json`, 'utf8'));
    const interactions = items.slice(0, 2).map((item_id) => ({ item_id, rating: 5 }));
    const session = await post('/recommend', { user_id: user, interactions, top_n: 10 });
    assert.equal(session.res.status, 200, session.text);
    assertRecommendations(session.json, 10);
    assert.match(session.res.headers.get('server-timing'), /work;desc="session, then \d+ items scored/);
    const stranger = await post('/recommend', { interactions, top_n: 10 });
    assert.match(stranger.res.headers.get('server-timing'), /work;desc="fold-in, then/);
    const ids = (json) => json.recommendations.map((x) => x.item_id);
    assert.notDeepEqual(ids(session.json), ids(stranger.json), 'the record shapes the session');
    assert.ok(!ids(session.json).some((id) => items.slice(0, 2).includes(id)), 'the session items are left out');
  });

  test('a user in neither the artifact nor KV gets the popular fallback', async () => {
    const r = await call('/recommend/nobody-here?n=5');
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.fallback, 'popular');
    assertRecommendations(r.json, 5);
  });

  test('memory stays under the limit under load', async () => {
    // 400 requests over 300 distinct KV users (the cache holds 100: evictions and KV reads).
    const users = Array.from({ length: 400 }, (_, i) => `u${String((i * 37) % 300).padStart(7, '0')}`);
    for (let i = 0; i < users.length; i += 8) {
      const rs = await Promise.all(users.slice(i, i + 8).map((u) => call(`/recommend/${u}?n=10`)));
      rs.forEach((r) => assert.equal(r.res.status, 200, r.text));
    }
    const wasm = (await call('/health')).json.wasm_memory_bytes;
    const heap = JSON.parse(
      execFileSync('node', ['tests/worker/heap.mjs', process.env.EDGEREC_INSPECTOR], { encoding: 'utf8', timeout: 30000 }),
    );
    const total = wasm + heap.js_heap_used_bytes;
    console.log(`# memory: wasm ${wasm} + JS heap ${heap.js_heap_used_bytes} = ${total} bytes (bound ${LIMIT})`);
    assert.ok(total <= LIMIT, `isolate memory ${total} over ${LIMIT}`);
  });
});

describe('deleting a user kept in KV', { skip: MODE !== 'scale' }, () => {
  test('their KV record goes, and they are served as unknown at once', async () => {
    const [, { user, items }] = JSON.parse(readFileSync(`${DIR}/oracle.json`, 'utf8'));
    const version = (await call('/health')).json.model_version;
    const [cmd, ...args] = process.env.EDGEREC_KV_LIST.split(' ');
    const key = `${version}/${user}`;
    const records = () => {
      const out = execFileSync(cmd, [...args, '--prefix', key], { encoding: 'utf8' });
      return JSON.parse(out.slice(out.indexOf('['))).filter((k) => k.name === key);
    };
    assert.equal(records().length, 1, `${key} is in KV before`);
    const before = await call(`/recommend/${user}?n=10`);
    assert.deepEqual(before.json.recommendations.map((x) => x.item_id), items);
    const auth = { authorization: `Bearer ${process.env.EDGEREC_ADMIN_TOKEN}` };
    const del = await call(`/admin/users/${user}`, { method: 'DELETE', headers: auth });
    assert.equal(del.res.status, 204, del.text);
    assert.deepEqual(records(), [], `${key} is gone from KV`);
    const after = await call(`/recommend/${user}?n=10`);
    assert.equal(after.res.status, 200, after.text);
    assert.equal(after.json.fallback, 'popular', 'served as an unknown user');
  });
});
