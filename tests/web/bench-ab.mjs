// A/B of browser-package builds in one Node process (not a test; used for docs/bench/web.md):
// loads each package directory (copies of web/pkg built from different sources), then runs the
// same `recommend` loops on each in alternating passes, so every build sees the same machine
// load. Prints the best pass per build and scenario, in µs per query.
//
//   node tests/web/bench-ab.mjs MODEL.safetensors QUERIES PASSES PKG_DIR...
//
// Scenarios: a known user (scored) and an unknown user (popularity fallback: no scoring, so
// nearly all of its time is the JS boundary), each for top-10 and top-1.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [model, queriesArg, passesArg, ...dirs] = process.argv.slice(2);
if (!model || dirs.length === 0) throw new Error('usage: node tests/web/bench-ab.mjs MODEL QUERIES PASSES PKG_DIR...');
const queries = Number(queriesArg);
const bytes = readFileSync(model);
const recs = [];
for (const dir of dirs) {
  // The query string gives each build its own module instance.
  const pkg = await import(`${pathToFileURL(resolve(dir, 'edgerec_wasm.js'))}?${recs.length}`);
  pkg.initSync({ module: readFileSync(resolve(dir, 'edgerec_wasm_bg.wasm')) });
  recs.push(new pkg.Recommender(bytes));
}
const users = recs[0].users(0, 200);
const scenarios = {
  'known top10': (k) => ({ userId: users[k % users.length], topN: 10, excludeRated: true }),
  'known top1': (k) => ({ userId: users[k % users.length], topN: 1, excludeRated: true }),
  'unknown top10': (k) => ({ userId: `nobody${k % 200}`, topN: 10 }),
  'unknown top1': (k) => ({ userId: `nobody${k % 200}`, topN: 1 }),
};
const result = {};
let checksum = 0;
for (const [name, request] of Object.entries(scenarios)) {
  const requests = Array.from({ length: queries }, (_, k) => request(k));
  for (const rec of recs) for (const r of requests.slice(0, queries / 5)) checksum += rec.recommend(r).items.length;
  const best = dirs.map(() => Infinity);
  for (let pass = 0; pass < Number(passesArg); pass++) {
    recs.forEach((rec, i) => {
      const start = performance.now();
      for (const r of requests) checksum += rec.recommend(r).items[0].index;
      best[i] = Math.min(best[i], ((performance.now() - start) / queries) * 1e3);
    });
  }
  result[name] = Object.fromEntries(dirs.map((d, i) => [d, +best[i].toFixed(2)]));
}
console.log(JSON.stringify({ queries, passes: Number(passesArg), usPerQuery: result, checksum }));
