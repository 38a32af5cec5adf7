// The wasm half of the latency benchmark (bench/web.sh): the same top-10 `recommend`
// queries as `cargo run --release -p edgerec-wasm --example bench_native`, through the built
// browser package (web/pkg) in Node, including the JS boundary (request object in, result
// object out). Prints one JSON line per model.
//
//   node tests/web/bench.mjs MODEL.safetensors [QUERIES]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadWasm } from './wasm-node.mjs';

const [model, queriesArg] = process.argv.slice(2);
if (!model) throw new Error('usage: node tests/web/bench.mjs MODEL [QUERIES]');
const queries = Number(queriesArg ?? 2000);
const { Recommender } = await loadWasm();
const rec = new Recommender(readFileSync(model));
const info = rec.info();
const users = rec.users(0, 200);
const requests = Array.from({ length: queries }, (_, k) => ({
  userId: users[k % users.length], topN: 10, excludeRated: true,
}));
let checksum = 0;
for (const r of requests.slice(0, Math.floor(queries / 10) + 1)) checksum += rec.recommend(r).items.length;
let best = Infinity;
for (let pass = 0; pass < 5; pass++) {
  const start = performance.now();
  for (const r of requests) checksum += rec.recommend(r).items[0].index;
  best = Math.min(best, (performance.now() - start) / queries);
}
console.log(JSON.stringify({ runtime: 'wasm (node)', items: info.numItems, dim: info.dim, queries, usPerQuery: best * 1e3, checksum }));
