// Every endpoint of the Worker, in the real runtime (wrangler dev / workerd), with the fixture
// model (1000 users, 600 items, categories tech/fashion/sports).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BASE, MODE, call, post, assertRecommendations, untraced } from './lib.mjs';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

describe('endpoints', { skip: MODE !== 'open' }, () => {
  test('GET /health reports the model, its version and creation time', async () => {
    const r = await call('/health');
    assert.equal(r.res.status, 200);
    const h = r.json;
    assert.deepEqual(Object.keys(h).slice(0, 4), ['status', 'model_loaded', 'num_users', 'num_items']);
    assert.equal(h.status, 'healthy');
    assert.equal(h.created_at, '2026-11-26T00:00:00Z');
    assert.match(h.model_version, /^[0-9a-f]{16}$/);
    assert.equal(h.model.format_version, 2, 'the fixture is written in the current format');
    assert.equal(h.model.source, 'bundled');
    assert.deepEqual(h.model.categories, ['fashion', 'sports', 'tech']);
    assert.ok(h.wasm_memory_bytes > h.model.bytes, 'wasm memory holds the model');
  });

  test('POST /recommend defaults to 10 items, best first, rated items excluded', async () => {
    const r = await post('/recommend', { user_id: 'U10001' });
    assert.equal(r.res.status, 200);
    assertRecommendations(r.json, 10);
    const scores = r.json.recommendations.map((x) => x.predicted_rating);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    assert.equal(r.res.headers.get('cache-control'), 'no-store');
  });

  test('POST /recommend exclude_items and categories filter', async () => {
    const first = (await post('/recommend', { user_id: 'U10004', top_n: 5 })).json;
    const top = first.recommendations[0].item_id;
    const r = await post('/recommend', { user_id: 'U10004', top_n: 5, exclude_items: [top, 'NOSUCHITEM'] });
    assert.equal(r.res.status, 200);
    assert.ok(!r.json.recommendations.some((x) => x.item_id === top));
    const c = await post('/recommend', { user_id: 'U10004', top_n: 20, categories: ['fashion', 'sports'] });
    assert.equal(c.res.status, 200);
    assertRecommendations(c.json, 20);
    assert.ok(c.json.recommendations.every((x) => /^(FASH|SPRT)/.test(x.item_id)), c.text);
  });

  test('POST /recommend exclude_rated false may return rated items', async () => {
    const on = await post('/recommend', { user_id: 'U10001', top_n: 100, exclude_rated: true });
    const off = await post('/recommend', { user_id: 'U10001', top_n: 100, exclude_rated: false });
    assert.equal(on.res.status, 200);
    assert.equal(off.res.status, 200);
    assert.notDeepEqual(on.json.recommendations, off.json.recommendations);
  });

  test('POST /recommend for an unknown user falls back to popular items', async () => {
    const r = await post('/recommend', { user_id: 'U99999999', top_n: 5 });
    assert.equal(r.res.status, 200);
    assert.equal(r.json.user_id, 'U99999999');
    assert.equal(r.json.fallback, 'popular');
    assertRecommendations(r.json, 5);
  });

  test('POST /recommend with interactions folds in an anonymous visitor', async () => {
    const interactions = [
      { item_id: 'TECH1001', rating: 5 },
      { item_id: 'TECH1003', rating: 5 },
      { item_id: 'FASH1001', rating: 1 },
    ];
    const r = await post('/recommend', { interactions, top_n: 10 });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.user_id, null);
    assert.equal(r.json.fallback, undefined);
    assertRecommendations(r.json, 10);
    const ids = r.json.recommendations.map((x) => x.item_id);
    assert.ok(!ids.includes('TECH1001') && !ids.includes('TECH1003'), 'rated items are excluded');
    assert.ok(ids.filter((id) => id.startsWith('TECH')).length >= 8, `leans to tech: ${ids}`);
  });

  test('POST /recommend with only unknown interactions falls back and names them', async () => {
    const r = await post('/recommend', { interactions: [{ item_id: 'NOPE1', rating: 4 }], top_n: 3 });
    assert.equal(r.res.status, 200);
    assert.equal(r.json.fallback, 'popular');
    assert.deepEqual(r.json.unknown_items, ['NOPE1']);
  });

  test('GET /recommend/{user_id}?n= equals the POST answer and is cacheable', async () => {
    const g = await call('/recommend/U10001?n=7');
    assert.equal(g.res.status, 200);
    assert.match(g.res.headers.get('cache-control'), /public, max-age=\d+/);
    const p = await post('/recommend', { user_id: 'U10001', top_n: 7 });
    // The same list; each answer has its own recommendation_id.
    assert.notEqual(g.json.recommendation_id, p.json.recommendation_id);
    assert.deepEqual(untraced(g.json), untraced(p.json));
    const d = await call('/recommend/U10001');
    assert.equal(d.json.total_count, 10);
    const u = await call('/recommend/new%20visitor?n=2');
    assert.equal(u.json.user_id, 'new visitor');
    assert.equal(u.json.fallback, 'popular');
  });

  test('what the OpenAPI document allows is accepted: an integer written 58.0, an empty cursor', async () => {
    const r = await post('/recommend', '{"user_id": "U10001", "top_n": 58.0}');
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.total_count, 58);
    const first = await call('/users?limit=3');
    const empty = await call('/users?limit=3&cursor=');
    assert.equal(empty.res.status, 200, empty.text);
    assert.deepEqual(empty.json, first.json);
  });

  test('GET /users pages through every user with next_cursor', async () => {
    const seen = [];
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const q = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r = await call(`/users?limit=300${q}`);
      assert.equal(r.res.status, 200);
      assert.equal(r.json.total_users, 1000);
      seen.push(...r.json.user_ids);
      cursor = r.json.next_cursor;
      if (cursor === null) break;
      assert.equal(cursor, r.json.user_ids.at(-1));
    }
    assert.equal(cursor, null);
    assert.equal(seen.length, 1000);
    assert.equal(new Set(seen).size, 1000);
    assert.deepEqual(seen, [...seen].sort());
  });

  test('GET /users works without a key when no API_KEY is set', async () => {
    const r = await call('/users?limit=1', { headers: { authorization: 'Bearer anything' } });
    assert.equal(r.res.status, 200);
    assert.equal(r.json.user_ids.length, 1);
  });

  test('GET /items/{id}/similar returns the nearest items', async () => {
    const r = await call('/items/TECH1001/similar?n=5');
    assert.equal(r.res.status, 200);
    assert.equal(r.json.item_id, 'TECH1001');
    assert.equal(r.json.total_count, 5);
    const sims = r.json.similar_items.map((x) => x.similarity);
    assert.deepEqual(sims, [...sims].sort((a, b) => b - a));
    assert.ok(sims.every((s) => s <= 1 && s >= -1));
    assert.ok(!r.json.similar_items.some((x) => x.item_id === 'TECH1001'));
    assert.equal((await call('/items/TECH1001/similar')).json.total_count, 10);
  });

  test('GET /openapi.json is OpenAPI 3.1 and documents every route', async () => {
    const r = await call('/openapi.json');
    assert.equal(r.res.status, 200);
    assert.equal(r.json.openapi, '3.1.0');
    for (const p of ['/health', '/recommend', '/recommend/{user_id}', '/users', '/items/{item_id}/similar', '/openapi.json', '/docs']) {
      assert.ok(r.json.paths[p], `documents ${p}`);
    }
  });

  test('GET /docs is Swagger UI on /openapi.json, loading only this origin\'s assets', async () => {
    const r = await call('/docs');
    assert.equal(r.res.status, 200);
    assert.match(r.res.headers.get('content-type'), /^text\/html/);
    assert.match(r.text, /EdgeRec API/);
    assert.match(r.text, /href="\/openapi.json"/, 'the page names the spec');
    const csp = r.res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    const refs = [...r.text.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(refs, ['/docs/vendor/favicon-32x32.png', '/docs/vendor/swagger-ui.css', '/docs/vendor/swagger-ui-bundle.js', '/docs/swagger-init.js']);
    assert.doesNotMatch(r.text, /https?:\/\/|@import|url\(/i);
    // The assets are served (web/docs/, the vendor folder filled by scripts/setup.sh).
    for (const ref of refs) {
      const a = await fetch(BASE + ref);
      assert.equal(a.status, 200, ref);
      assert.match(a.headers.get('content-type') ?? '', { css: /^text\/css/, js: /javascript/, png: /^image\/png/ }[ref.split('.').pop()], ref);
      await a.arrayBuffer();
    }
  });

  test('HEAD works where GET does', async () => {
    const r = await call('/health', { method: 'HEAD' });
    assert.equal(r.res.status, 200);
    assert.equal(r.text, '');
  });

  test('CORS: any origin is allowed by default, and preflight is answered', async () => {
    const r = await post('/recommend', { user_id: 'U10001' }, { origin: 'https://shop.example' });
    assert.equal(r.res.headers.get('access-control-allow-origin'), '*');
    assert.match(r.res.headers.get('access-control-expose-headers'), /Server-Timing/);
    const pre = await call('/recommend', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.res.status, 204);
    assert.equal(pre.res.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.res.headers.get('access-control-allow-methods'), /POST/);
    assert.match(pre.res.headers.get('access-control-allow-headers'), /Content-Type/i);
  });

  test('Server-Timing is on every response, honest about the frozen clock', async () => {
    for (const r of [await call('/health'), await post('/recommend', { user_id: 'U10001' }), await call('/nope'), await post('/recommend', '{')]) {
      const st = r.res.headers.get('server-timing');
      assert.match(st ?? '', /^compute;dur=\d+(\.\d+)?;desc="[^"]*freezes timers[^"]*"/, `${r.res.url}: ${st}`);
    }
    const st = (await post('/recommend', { user_id: 'U10001' })).res.headers.get('server-timing');
    assert.match(st, /work;desc="600 items scored, d=64"/);
  });

  test('static assets: / serves the web demo from web/', { skip: !existsSync(`${WEB}index.html`) && 'web/index.html does not exist yet' }, async () => {
    const r = await call('/');
    assert.equal(r.res.status, 200);
    assert.match(r.res.headers.get('content-type'), /^text\/html/);
  });

  test('static assets: the demo model is served with a content type', { skip: !existsSync(`${WEB}models/demo.safetensors`) && 'no web/models/demo.safetensors' }, async () => {
    const r = await fetch(new URL('/models/demo.safetensors', process.env.EDGEREC_URL));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    await r.arrayBuffer();
  });

  test('an unknown HTTP method never reaches a 2xx', async () => {
    // workerd's HTTP parser answers unrecognised methods itself (501) before the Worker runs;
    // the Worker matches the raw method string for the ones that do reach it.
    const r = await call('/health', { method: 'FOO' });
    assert.ok(r.res.status === 405 || r.res.status === 501, `got ${r.res.status}`);
  });
});
