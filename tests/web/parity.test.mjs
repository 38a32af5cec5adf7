// Parity: the wasm build (web/pkg, exactly what the page loads) answers every request like the
// native core. The native answers come from `cargo run -p edgerec-wasm --example parity`.
// Env: PARITY_MODEL, PARITY_REQUESTS, PARITY_EXPECTED, optionally PARITY_SEQUENCE (set by
// tests/web/run.sh).
//
// IDs, order, sources, reasons and error messages must be identical. Scores and predicted
// ratings are f32 in both; native JSON prints the shortest decimal that round-trips an f32, so
// `Math.fround` of it must equal the wasm value exactly (tolerance 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadWasm } from './wasm-node.mjs';

const env = (k) => process.env[k] ?? assert.fail(`${k} is not set (run tests/web/run.sh)`);

function normalise(value) {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    const f32 = (k, v) => (k === 'score' || (k === 'predictedRating' && v !== null)) ? Math.fround(v) : normalise(v);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f32(k, v)]));
  }
  return value;
}

test('wasm answers equal native answers', async () => {
  const { Recommender } = await loadWasm();
  const rec = new Recommender(readFileSync(env('PARITY_MODEL')));
  // With PARITY_SEQUENCE set the model must have a sequence network, so that its sessions and
  // visitors are answered through it on both sides.
  if (process.env.PARITY_SEQUENCE) assert.ok(rec.info().sequence, 'the model has no sequence network');
  const requests = JSON.parse(readFileSync(env('PARITY_REQUESTS'), 'utf8'));
  const expected = JSON.parse(readFileSync(env('PARITY_EXPECTED'), 'utf8'));
  assert.equal(requests.length, expected.length);
  let items = 0;
  requests.forEach((req, k) => {
    let actual;
    try {
      const a = req.args;
      const ok = req.method === 'similar' ? rec.similar(a.itemId, a.n) : rec[req.method](a);
      actual = { ok };
      items += (ok.items ?? ok).length;
    } catch (e) {
      assert.ok(e instanceof Error, `request ${k} threw a non-Error: ${e}`);
      actual = { error: e.message };
    }
    assert.deepEqual(normalise(actual), normalise(expected[k]), `request ${k}: ${JSON.stringify(req)}`);
  });
  assert.ok(items > 500, `only ${items} items compared`);
  console.log(`# parity: ${requests.length} requests, ${items} scored items, all equal`);
  rec.free();
});
