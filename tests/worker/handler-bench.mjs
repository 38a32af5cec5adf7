// Times the Worker's own fetch handler outside workerd, where clocks are not frozen: the
// worker-build bundle (the same index.js and wasm that wrangler serves) is loaded in Node 22
// with node-hooks.mjs standing in for `cloudflare:workers` and workerd's wasm imports, and
// requests are passed to its `fetch` in a loop. Each figure covers the whole handler: Request in,
// routing, JSON parsing and validation, the core query, the JSON Response out (and Node's own
// Request/Response machinery, which is not workerd's).
//
//   node --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs BUNDLE/index.js [REQUESTS] [BASELINE/index.js]
// (Node 22+: the bundle uses wasm exception handling that Node 20's V8 lacks.)
//
// Passes are interleaved over cases (and over the two bundles when a baseline is given, each
// with its own wasm instance in this one process), so that load from other processes hits them
// alike; each figure is the best pass and the median pass, in ms per request.
import { performance } from 'node:perf_hooks';

const PASSES = 9;

async function load(bundle) {
  const { default: Worker } = await import(new URL(bundle, `file://${process.cwd()}/`).href);
  const env = { ALLOWED_ORIGINS: '*', MODEL_R2_BINDING: '', MODEL_R2_KEY: 'model.safetensors' };
  return new Worker({ waitUntil() {}, passThroughOnException() {} }, env);
}

{
  const [bundle, requestsArg, baseline] = process.argv.slice(2);
  const requests = Number(requestsArg ?? 2000);
  const workers = { current: await load(bundle) };
  if (baseline) workers.baseline = await load(baseline);
  const worker = workers.current;
  const health = await (await worker.fetch(new Request('http://bench/health'))).json();
  const users = (await (await worker.fetch(new Request('http://bench/users?limit=200'))).json()).user_ids;
  const items = (await (await worker.fetch(new Request(`http://bench/recommend/${users[0]}?n=20`))).json()).recommendations.map((r) => r.item_id);
  const json = { 'content-type': 'application/json' };
  const seedBody = JSON.stringify({ user_id: users[0], top_n: 10, exclude_rated: true });
  // Each case: a request factory and the status it must answer.
  const cases = {
    'GET /health (trivial route)': [() => new Request('http://bench/health'), 200],
    'POST /health -> 405 (trivial POST, same body)': [() => new Request('http://bench/health', { method: 'POST', headers: json, body: seedBody }), 405],
    'POST /recommend (known user, top 10)': [(k) =>
      new Request('http://bench/recommend', { method: 'POST', headers: json, body: JSON.stringify({ user_id: users[k % users.length], top_n: 10, exclude_rated: true }) }), 200],
    'GET /recommend/{user_id}?n=10': [(k) => new Request(`http://bench/recommend/${users[k % users.length]}?n=10`), 200],
    'POST /recommend (anonymous fold-in, 5 ratings)': [(k) =>
      new Request('http://bench/recommend', {
        method: 'POST', headers: json,
        body: JSON.stringify({ interactions: items.slice(k % 10, (k % 10) + 5).map((item_id, i) => ({ item_id, rating: 5 - i })), top_n: 10 }),
      }), 200],
    'GET /items/{item_id}/similar?n=10': [(k) => new Request(`http://bench/items/${items[k % items.length]}/similar?n=10`), 200],
  };
  const times = {};
  for (const [name, [make, expected]] of Object.entries(cases)) {
    for (const [label, w] of Object.entries(workers)) {
      times[`${label}|${name}`] = [];
      for (let k = 0; k < 200; k++) {
        const res = await w.fetch(make(k));
        if (res.status !== expected) throw new Error(`${label} ${name}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
    }
  }
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, [make]] of Object.entries(cases)) {
      for (const [label, w] of Object.entries(workers)) {
        const batch = Array.from({ length: requests }, (_, k) => make(k));
        const start = performance.now();
        for (const req of batch) await (await w.fetch(req)).arrayBuffer();
        times[`${label}|${name}`].push((performance.now() - start) / requests);
      }
    }
  }
  const out = { model: { users: health.num_users, items: health.num_items, dim: health.model.dim, bytes: health.model.bytes }, requests, passes: PASSES, node: process.version, results: {} };
  for (const [key, t] of Object.entries(times)) {
    const [label, name] = key.split('|');
    t.sort((a, b) => a - b);
    (out.results[label] ??= {})[name] = { best_ms: Number(t[0].toFixed(4)), median_ms: Number(t[Math.floor(t.length / 2)].toFixed(4)) };
  }
  for (const [label, w] of Object.entries(workers)) {
    out[`wasm_memory_bytes_${label}`] = (await (await w.fetch(new Request('http://bench/health'))).json()).wasm_memory_bytes;
  }
  console.log(JSON.stringify(out, null, 1));
}
