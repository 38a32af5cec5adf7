// The wasm half of the latency benchmark, in headless Chromium: loads the demo page with the
// given model, then runs the same top-10 `recommend` loop as tests/web/bench.mjs through the
// page's own Recommender (window.edgerec.rec). Prints one JSON line.
//
//   node tests/web/bench-chromium.mjs MODEL.safetensors [QUERIES]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { ROOT } from './wasm-node.mjs';

const [model, queriesArg] = process.argv.slice(2);
const queries = Number(queriesArg ?? 2000);
const server = await serve(join(ROOT, 'web'), { '/bench/model.safetensors': readFileSync(model) });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}?model=bench/model.safetensors`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
  const result = await page.evaluate((queries) => {
    const { rec } = window.edgerec;
    const info = rec.info();
    const users = rec.users(0, 200);
    const requests = Array.from({ length: queries }, (_, k) => ({ userId: users[k % users.length], topN: 10, excludeRated: true }));
    let checksum = 0;
    for (const r of requests.slice(0, Math.floor(queries / 10) + 1)) checksum += rec.recommend(r).items.length;
    let best = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const start = performance.now();
      for (const r of requests) checksum += rec.recommend(r).items[0].index;
      best = Math.min(best, (performance.now() - start) / queries);
    }
    return { runtime: 'wasm (chromium)', items: info.numItems, dim: info.dim, queries, usPerQuery: best * 1e3, checksum };
  }, queries);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  await server.close();
}
