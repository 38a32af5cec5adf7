// The model loaded from an R2 binding (r2 mode: run.sh starts wrangler dev with a config that
// binds a local bucket holding the fixture, and a bundle built without a model).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODE, call, post, assertRecommendations } from './lib.mjs';

describe('model from R2', { skip: MODE !== 'r2' }, () => {
  test('/health reports the R2 model', async () => {
    const r = await call('/health');
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.model_loaded, true);
    assert.equal(r.json.num_users, 1000);
    assert.equal(r.json.model.source, 'r2');
    assert.equal(r.json.model.location, 'MODELS/fixture.safetensors');
  });

  test('recommendations are served from it, and it is loaded once', async () => {
    const before = (await call('/health')).json.wasm_memory_bytes;
    for (let i = 0; i < 20; i++) {
      const r = await post('/recommend', { user_id: 'U10001', top_n: 5 });
      assert.equal(r.res.status, 200);
      assertRecommendations(r.json, 5);
    }
    assert.equal((await call('/health')).json.wasm_memory_bytes, before, 'no reload grows memory');
  });
});
