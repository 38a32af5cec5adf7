// Times the Worker's own fetch handler outside workerd, where clocks are not frozen: the
// worker-build bundle (the same index.js and wasm that wrangler serves) is loaded in Node 22
// with node-hooks.mjs standing in for `cloudflare:workers` and workerd's wasm imports, and
// requests are passed to its `fetch` in a loop. Each figure covers the whole handler: Request in,
// routing, JSON parsing and validation, the core query, the JSON Response out.
//
//   node --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs BUNDLE/index.js [REQUESTS]
// (Node 22+: the bundle uses wasm exception handling that Node 20's V8 lacks.)
import { performance } from 'node:perf_hooks';

{
  const [bundle, requestsArg] = process.argv.slice(2);
  const requests = Number(requestsArg ?? 2000);
  const { default: Worker } = await import(new URL(bundle, `file://${process.cwd()}/`).href);
  const env = { ALLOWED_ORIGINS: '*', MODEL_R2_BINDING: '', MODEL_R2_KEY: 'model.safetensors' };
  const worker = new Worker({ waitUntil() {}, passThroughOnException() {} }, env);
  const health = await (await worker.fetch(new Request('http://bench/health'))).json();
  const users = (await (await worker.fetch(new Request('http://bench/users?limit=200'))).json()).user_ids;
  const items = (await (await worker.fetch(new Request(`http://bench/recommend/${users[0]}?n=20`))).json()).recommendations.map((r) => r.item_id);
  const json = { 'content-type': 'application/json' };
  const cases = {
    'GET /health (trivial route)': () => new Request('http://bench/health'),
    'POST /recommend (known user, top 10)': (k) =>
      new Request('http://bench/recommend', { method: 'POST', headers: json, body: JSON.stringify({ user_id: users[k % users.length], top_n: 10, exclude_rated: true }) }),
    'GET /recommend/{user_id}?n=10': (k) => new Request(`http://bench/recommend/${users[k % users.length]}?n=10`),
    'POST /recommend (anonymous fold-in, 5 ratings)': (k) =>
      new Request('http://bench/recommend', {
        method: 'POST', headers: json,
        body: JSON.stringify({ interactions: items.slice(k % 10, (k % 10) + 5).map((item_id, i) => ({ item_id, rating: 5 - i })), top_n: 10 }),
      }),
    'GET /items/{item_id}/similar?n=10': (k) => new Request(`http://bench/items/${items[k % items.length]}/similar?n=10`),
  };
  const out = { model: { users: health.num_users, items: health.num_items, dim: health.model.dim, bytes: health.model.bytes }, requests, node: process.version, results: {} };
  for (const [name, make] of Object.entries(cases)) {
    const reqs = Array.from({ length: requests }, (_, k) => make(k));
    for (let k = 0; k < 200; k++) await (await worker.fetch(make(k))).arrayBuffer(); // warm-up
    let best = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const batch = pass === 0 ? reqs : Array.from({ length: requests }, (_, k) => make(k));
      const start = performance.now();
      for (const req of batch) {
        const res = await worker.fetch(req);
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
      best = Math.min(best, (performance.now() - start) / requests);
    }
    out.results[name] = { ms_per_request: Number(best.toFixed(4)) };
  }
  const after = await (await worker.fetch(new Request('http://bench/health'))).json();
  out.wasm_memory_bytes = after.wasm_memory_bytes;
  console.log(JSON.stringify(out, null, 1));
}
