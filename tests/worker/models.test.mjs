// The model lifecycle (models mode): uploads, the R2 pointer, canary, promote, rollback and the
// hot swap, against `wrangler dev` with a local R2 bucket. run.sh sets:
//   EDGEREC_ADMIN_TOKEN     the ADMIN_TOKEN it wrote to worker/.dev.vars
//   EDGEREC_REFRESH         MODEL_REFRESH_SECONDS of the config it started the Worker with
//   EDGEREC_FIXTURES        a folder with bundled.safetensors (the bundle), model2/model3
//                           (distinct fixtures) and corrupt.safetensors (truncated)
//   EDGEREC_PREUPLOADED     `KEY=FILE,KEY=FILE`: objects put with `wrangler r2 object put`
//   EDGEREC_R2_PUT          a command `CMD KEY FILE` that puts an object into the same bucket
// In r2key mode (a rollback to MODEL_R2_KEY), EDGEREC_FIXTURES holds r2key.safetensors (the
// object EDGEREC_R2_KEY, which MODEL_R2_KEY names), bundled.safetensors and published.safetensors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODE, call, post, assertError, untraced } from './lib.mjs';

const TOKEN = process.env.EDGEREC_ADMIN_TOKEN ?? '';
const REFRESH_S = Number(process.env.EDGEREC_REFRESH ?? '2');
const FIXTURES = process.env.EDGEREC_FIXTURES ?? '';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** The version the Worker reports for an artifact: the first 16 hex digits of its SHA-256. */
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const versionOf = (bytes) => sha(bytes).slice(0, 16);
const fixture = (name) => readFileSync(join(FIXTURES, name));

/** FNV-1a 64 of the UTF-8 bytes, as the Worker routes canaries by. */
function fnv1a64(text) {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}

const admin = (method, path, body, headers = {}) =>
  call(path, { method, headers: { ...AUTH, ...headers }, body });
const putModel = (bytes, query = '') =>
  admin('PUT', `/admin/model${query}`, bytes, { 'content-type': 'application/octet-stream' });
const activate = (body) => admin('POST', '/admin/model/activate', JSON.stringify(body), { 'content-type': 'application/json' });
const pointer = async () => {
  const r = await admin('GET', '/admin/model');
  assert.equal(r.res.status, 200, r.text);
  return r.json;
};
const health = async () => (await call('/health')).json;

/** Polls /health until `done(health)`; fails after MODEL_REFRESH_SECONDS + 3 s. */
async function until(what, done) {
  const deadline = Date.now() + (REFRESH_S + 3) * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await health();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${REFRESH_S + 3} s; last /health: ${JSON.stringify(last)}`);
}

/** Asserts that the next requests, of every kind, carry `version`. */
async function assertServing(version) {
  for (const path of ['/health', '/recommend/U10001', '/users?limit=2', '/openapi.json', '/no/such/route']) {
    const r = await call(path);
    assert.equal(r.res.headers.get('x-model-version'), version, path);
  }
  const r = await post('/recommend', { user_id: 'U10002', top_n: 3 });
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.res.headers.get('x-model-version'), version);
  const bad = await post('/recommend', { top_n: 3 });
  assert.equal(bad.res.status, 400);
  assert.equal(bad.res.headers.get('x-model-version'), version, 'errors carry it too');
}

const ROUTES = [
  ['GET', '/admin/model'],
  ['PUT', '/admin/model'],
  ['POST', '/admin/model/activate'],
  ['POST', '/admin/model/rollback'],
  ['POST', '/admin/model/promote'],
];

describe('model admin routes are off without ADMIN_TOKEN', { skip: MODE !== 'open' }, () => {
  test('every /admin/model route answers 404 JSON', async () => {
    for (const [method, path] of ROUTES) {
      assertError(await call(path, { method, headers: AUTH, body: method === 'GET' ? undefined : 'x' }), 404, 'not_found');
    }
  });
});

describe('model lifecycle', { skip: MODE !== 'models' }, () => {
  const bundled = fixture('bundled.safetensors');
  const model2 = fixture('model2.safetensors');
  const model3 = fixture('model3.safetensors');
  const [v1, v2, v3] = [bundled, model2, model3].map(versionOf);

  test('the fixtures are distinct models', () => {
    assert.equal(new Set([v1, v2, v3]).size, 3);
  });

  test('every admin route needs the token: 401 without it or with a wrong one', async () => {
    for (const [method, path] of ROUTES) {
      const body = method === 'GET' ? undefined : 'x';
      for (const headers of [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: 'Basic abc' }]) {
        const r = await call(path, { method, headers, body });
        assertError(r, 401, 'unauthorized');
        assert.equal(r.res.headers.get('www-authenticate'), 'Bearer');
      }
    }
  });

  test('at start the bundled model serves, and every response names its version', async () => {
    const h = await health();
    assert.equal(h.model_version, v1);
    assert.equal(h.models.current.version, v1);
    assert.equal(h.models.current.source, 'bundled');
    assert.match(h.models.current.loaded_at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(h.models.canary, null);
    assert.equal(h.models.refresh_seconds, REFRESH_S);
    assert.equal(h.models.error, null);
    await assertServing(v1);
    assert.deepEqual(await pointer(), { current: null, history: [], canary: null });
  });

  test('a corrupt upload is a 4xx JSON error and changes nothing', async () => {
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251;
    const cases = [
      [fixture('corrupt.safetensors'), 422, 'invalid_model'],
      [random, 422, 'invalid_model'],
      [Buffer.alloc(0), 400, 'invalid_request'],
    ];
    for (const [bytes, status, code] of cases) {
      assertError(await putModel(bytes), status, code);
    }
    assertError(await putModel(model2, '?canary=0'), 400, 'invalid_request');
    assertError(await putModel(model2, '?canary=abc'), 400, 'invalid_request');
    assertError(await admin('PUT', '/admin/model', model2, { 'content-type': 'text/plain' }), 415);
    assert.deepEqual(await pointer(), { current: null, history: [], canary: null });
    await new Promise((r) => setTimeout(r, REFRESH_S * 1000 + 200));
    assert.equal((await health()).model_version, v1);
  });

  test('activating a missing or corrupt key is 404 / 422, and the pointer is unchanged', async () => {
    assertError(await activate({ key: 'models/nope.safetensors' }), 404, 'not_found');
    assertError(await activate({ key: 'big/corrupt.safetensors' }), 422, 'invalid_model');
    assertError(await activate({ key: '' }), 400);
    assertError(await activate({ key: 'x', extra: 1 }), 400);
    assertError(await activate({ key: 'current' }), 400);
    assert.deepEqual(await pointer(), { current: null, history: [], canary: null });
  });

  test('PUT a new model: within the refresh interval every response carries it, with no failed request', async () => {
    // 8 request loops run through the whole swap.
    let running = true;
    const seen = [];
    const loop = async (n) => {
      const versions = [];
      let failed = 0;
      for (let i = 0; running; i++) {
        const r = n % 2 ? await call(`/recommend/U1${String(i % 1000).padStart(4, '0')}`) : await post('/recommend', { user_id: `U1${n}${i}`, top_n: 5 });
        if (r.res.status !== 200) failed++;
        versions.push(r.res.headers.get('x-model-version'));
      }
      return { versions, failed };
    };
    const loops = Array.from({ length: 8 }, (_, n) => loop(n));
    await new Promise((r) => setTimeout(r, 300));

    const r = await putModel(model2);
    assert.equal(r.res.status, 200, r.text);
    assert.deepEqual(r.json, { version: v2, key: `models/${sha(model2)}.safetensors`, bytes: model2.length, role: 'current', percent: null });
    const p = await pointer();
    assert.equal(p.current.version, v2);
    assert.equal(p.current.key, r.json.key);
    assert.match(p.current.published_at, /^\d{4}-\d\d-\d\dT/);

    const h = await until('the new model', (h) => h.model_version === v2);
    assert.equal(h.models.current.source, 'pointer');
    assert.equal(h.model.location, `MODELS/${r.json.key}`);
    assert.ok(h.models.last_check, 'last_check is set');
    assert.equal(h.models.error, null);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    const results = await Promise.all(loops);
    for (const { versions, failed } of results) {
      seen.push(...versions);
      assert.equal(failed, 0, 'no request failed during the swap');
      // One isolate, sequential requests: once a loop saw the new model it never sees the old.
      const first = versions.indexOf(v2);
      assert.ok(first >= 0, 'every loop reached the new model');
      assert.ok(versions.slice(first).every((v) => v === v2), 'no flip-flop');
      assert.ok(versions.every((v) => v === v1 || v === v2));
    }
    assert.ok(seen.length > 16, `${seen.length} requests`);
    await assertServing(v2);
  });

  test('canary=30 serves exactly the users whose fnv1a64 % 100 < 30', async () => {
    const r = await putModel(model3, '?canary=30');
    assert.equal(r.res.status, 200, r.text);
    assert.deepEqual(r.json, { version: v3, key: `models/${sha(model3)}.safetensors`, bytes: model3.length, role: 'canary', percent: 30 });
    const h = await until('the canary', (h) => h.models.canary?.version === v3);
    assert.equal(h.models.canary.percent, 30);
    assert.equal(h.model_version, v2, 'the current model is unchanged');
    let toCanary = 0;
    for (let i = 0; i < 200; i++) {
      const user = `visitor-${i}`;
      const expected = fnv1a64(user) % 100n < 30n ? v3 : v2;
      if (expected === v3) toCanary++;
      const got = i % 2
        ? await call(`/recommend/${user}`)
        : await post('/recommend', { user_id: user, top_n: 3 });
      assert.equal(got.res.status, 200, got.text);
      assert.equal(got.res.headers.get('x-model-version'), expected, user);
      // The answer says which side answered, for the online metrics.
      assert.equal(got.json.model_version, expected, user);
      assert.equal(got.json.variant, expected === v3 ? 'canary' : 'current', user);
    }
    assert.ok(toCanary > 40 && toCanary < 80, `${toCanary} of 200 users on the canary`);
    const anonymous = await post('/recommend', { interactions: [{ item_id: 'TECH1001', rating: 5 }] });
    assert.equal(anonymous.res.headers.get('x-model-version'), v2, 'no user: the current model');
    assert.equal(anonymous.json.variant, 'current');
  });

  test('promote makes the canary current; rollback restores the previous model', async () => {
    const promoted = await admin('POST', '/admin/model/promote');
    assert.equal(promoted.res.status, 200, promoted.text);
    assert.equal(promoted.json.current.version, v3);
    assert.equal(promoted.json.canary, null);
    assert.deepEqual(promoted.json.history.map((e) => e.version), [v2]);
    await until('the promoted model', (h) => h.model_version === v3 && h.models.canary === null);
    await assertServing(v3);
    assertError(await admin('POST', '/admin/model/promote'), 409, 'conflict');

    const back = await admin('POST', '/admin/model/rollback');
    assert.equal(back.res.status, 200, back.text);
    assert.equal(back.json.current.version, v2);
    assert.deepEqual(back.json.history, []);
    await until('the rolled-back model', (h) => h.model_version === v2);
    await assertServing(v2);
    // The first published model rolls back too: to the deployment's own (bundled) model.
    const first = await admin('POST', '/admin/model/rollback');
    assert.equal(first.res.status, 200, first.text);
    assert.deepEqual(first.json, { current: null, history: [], canary: null });
    const h = await until('the bundled model', (h) => h.model_version === v1);
    assert.equal(h.models.current.source, 'bundled');
    await assertServing(v1);
    assertError(await admin('POST', '/admin/model/rollback'), 409, 'conflict');
    // Publishing again goes on from there.
    assert.equal((await putModel(model2)).res.status, 200);
    assert.deepEqual((await pointer()).history, []);
    await until('the republished model', (h) => h.model_version === v2);
  });

  test('a canary is rolled back before the current model', async () => {
    assert.equal((await putModel(model3, '?canary=100')).res.status, 200);
    await until('the canary', (h) => h.models.canary?.version === v3);
    assert.equal((await call('/recommend/U10001')).res.headers.get('x-model-version'), v3, '100 %: everyone');
    const back = await admin('POST', '/admin/model/rollback');
    assert.equal(back.res.status, 200, back.text);
    assert.equal(back.json.canary, null);
    assert.equal(back.json.current.version, v2);
    await until('no canary', (h) => h.models.canary === null);
    assert.equal((await call('/recommend/U10001')).res.headers.get('x-model-version'), v2);
  });

  test('activate publishes a model put into R2 with wrangler', async () => {
    const key = 'big/model3.safetensors';
    const r = await activate({ key });
    assert.equal(r.res.status, 200, r.text);
    assert.deepEqual(r.json, { version: v3, key, bytes: model3.length, role: 'current', percent: null });
    const h = await until('the activated model', (h) => h.model_version === v3);
    assert.equal(h.model.location, `MODELS/${key}`);
    assert.deepEqual((await pointer()).history.map((e) => e.version), [v2]);
  });

  test('a pointer naming a missing artifact: the old model keeps serving and /health says why', async () => {
    const put = process.env.EDGEREC_R2_PUT;
    assert.ok(put, 'run.sh sets EDGEREC_R2_PUT');
    const before = await pointer();
    const broken = {
      ...before,
      current: { key: 'models/gone.safetensors', version: '0000000000000000', bytes: 1, published_at: '2026-12-02T00:00:00Z' },
      history: [...before.history, before.current],
    };
    const dir = mkdtempSync(join(tmpdir(), 'edgerec-pointer-'));
    writeFileSync(join(dir, 'current'), JSON.stringify(broken));
    execFileSync('bash', ['-c', `${put} current ${join(dir, 'current')}`], { stdio: 'pipe' });
    const h = await until('the load error', (h) => typeof h.models.error === 'string');
    assert.match(h.models.error, /gone\.safetensors/);
    assert.equal(h.model_version, v3, 'the old model keeps serving');
    await assertServing(v3);
    // Rolling back (to the last good model) clears the error.
    const back = await admin('POST', '/admin/model/rollback');
    assert.equal(back.res.status, 200, back.text);
    await until('the repaired pointer', (h) => h.models.error === null && h.model_version === v3);
  });

  test('an uploaded model is stored byte for byte', async () => {
    // activate reads the object back and versions it from its own bytes.
    const key = `models/${sha(model2)}.safetensors`;
    const r = await activate({ key });
    assert.equal(r.res.status, 200, r.text);
    assert.deepEqual(r.json, { version: v2, key, bytes: model2.length, role: 'current', percent: null });
  });
});

describe('rollback after the first publish returns to MODEL_R2_KEY', { skip: MODE !== 'r2key' }, () => {
  const KEY = process.env.EDGEREC_R2_KEY ?? '';
  const [own, bundled, published] = ['r2key', 'bundled', 'published'].map((n) => fixture(`${n}.safetensors`));
  const [vOwn, vBundled, vPublished] = [own, bundled, published].map(versionOf);
  const answer = async () => {
    const r = await post('/recommend', { user_id: 'U10001', top_n: 10 });
    assert.equal(r.res.status, 200, r.text);
    return untraced(r.json);
  };

  test('publish, then roll back: the MODEL_R2_KEY model serves again, and the next rollback is 409', async () => {
    assert.equal(new Set([vOwn, vBundled, vPublished]).size, 3, 'three distinct models');
    // Before any publish: no pointer, so the object MODEL_R2_KEY names serves (not the bundle).
    const start = await health();
    assert.equal(start.model_version, vOwn, JSON.stringify(start.model));
    assert.deepEqual([start.model.source, start.model.location], ['r2', `MODELS/${KEY}`]);
    assert.deepEqual(await pointer(), { current: null, history: [], canary: null });
    await assertServing(vOwn);
    const before = await answer();

    const put = await putModel(published);
    assert.equal(put.res.status, 200, put.text);
    await until('the published model', (h) => h.model_version === vPublished);
    await assertServing(vPublished);
    assert.notDeepEqual(await answer(), before, 'the published model answers otherwise');

    const back = await admin('POST', '/admin/model/rollback');
    assert.equal(back.res.status, 200, back.text);
    assert.deepEqual(back.json, { current: null, history: [], canary: null });
    const h = await until('the MODEL_R2_KEY model again', (h) => h.model_version === vOwn);
    assert.deepEqual([h.model.source, h.model.location], ['r2', `MODELS/${KEY}`]);
    assert.equal(h.models.error, null);
    await assertServing(vOwn);
    assert.deepEqual(await answer(), before, 'the same answers as before the publish');

    assertError(await admin('POST', '/admin/model/rollback'), 409, 'conflict');
    assert.deepEqual(await pointer(), { current: null, history: [], canary: null });
    await assertServing(vOwn);
  });
});
