// A bundle built with a corrupt (truncated) model, or with none: /health reports it, the API
// routes answer 503 with a JSON error, the rest still works, and nothing crash-loops.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertError } from './lib.mjs';

describe(`${MODE} model`, { skip: MODE !== 'corrupt' && MODE !== 'missing' }, () => {
  test('/health reports the model as not loaded, with the reason', async () => {
    const r = await call('/health');
    assert.equal(r.res.status, 503);
    assert.equal(r.json.status, 'unhealthy');
    assert.equal(r.json.model_loaded, false);
    assert.equal(r.json.num_users, 0);
    assert.match(r.json.model_error, MODE === 'corrupt' ? /bundled model .* is invalid/ : /no model was bundled/);
  });

  test('the API routes answer 503 model_unavailable', async () => {
    for (const r of [
      await post('/recommend', { user_id: 'U10001' }),
      await post('/recommend', { interactions: [{ item_id: 'TECH1001', rating: 5 }] }),
      await call('/recommend/U10001?n=3'),
      await call('/users'),
      await call('/items/TECH1001/similar'),
    ]) {
      assertError(r, 503, 'model_unavailable');
    }
  });

  test('docs, routing and method errors still work', async () => {
    assert.equal((await call('/openapi.json')).res.status, 200);
    assert.equal((await call('/docs')).res.status, 200);
    assertError(await call('/nope'), 404, 'not_found');
    assertError(await call('/recommend'), 405, 'method_not_allowed');
  });

  test('repeated requests keep answering (no crash loop)', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await call('/health')).res.status, 503);
  });
});
