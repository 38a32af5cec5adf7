// The timing half of bench/scale-worker.sh: against a served Worker, each user's first
// GET /recommend/USER?n=10 (for a KV user: a KV read) and then a second one (from the isolate's
// cache), one request at a time, timed from here. Then LOAD more requests, 8 at a time, over
// the same users, and the isolate's memory: wasm memory from /health plus the JS heap through
// the inspector (tests/worker/heap.mjs). Prints one JSON line.
//
//   node tests/worker/scale-bench.mjs URL INSPECTOR_PORT USERS_FILE LOAD
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [url, inspector, usersFile, load = '2000'] = process.argv.slice(2);
const users = readFileSync(usersFile, 'utf8').split('\n').filter(Boolean);
const get = async (path) => {
  const started = performance.now();
  const res = await fetch(url + path);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return { ms: performance.now() - started, json: JSON.parse(text) };
};
const summary = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q) => s[Math.max(Math.ceil(s.length * q) - 1, 0)];
  return { requests: s.length, p50_ms: at(0.5), p99_ms: at(0.99) };
};
const first = [];
const again = [];
let fallbacks = 0;
for (const u of users) {
  const a = await get(`/recommend/${encodeURIComponent(u)}?n=10`);
  if (a.json.fallback) fallbacks += 1;
  first.push(a.ms);
  again.push((await get(`/recommend/${encodeURIComponent(u)}?n=10`)).ms);
}
const started = performance.now();
for (let i = 0; i < Number(load); i += 8) {
  await Promise.all(
    Array.from({ length: 8 }, (_, k) => get(`/recommend/${encodeURIComponent(users[(i + k) * 7 % users.length])}?n=10`)),
  );
}
const loadSeconds = (performance.now() - started) / 1000;
const health = (await get('/health')).json;
const heap = JSON.parse(execFileSync('node', ['tests/worker/heap.mjs', inspector], { encoding: 'utf8', timeout: 60000 }));
console.log(JSON.stringify({
  users: users.length,
  fallbacks,
  first: summary(first),
  again: summary(again),
  load: { requests: Number(load), seconds: loadSeconds },
  wasm_memory_bytes: health.wasm_memory_bytes,
  js_heap_used_bytes: heap.js_heap_used_bytes,
  model_bytes: health.model?.bytes,
  num_items: health.num_items,
  num_users: health.num_users,
}));
