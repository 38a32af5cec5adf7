// Time to first recommendation of the demo page in headless Chromium: loads the page RUNS
// times, each in a fresh browser context (cold HTTP cache), and reports the page's own
// measurement (performance.now() at the first rendered list, i.e. ms since navigation start).
//
//   node tests/web/ttfr.mjs MODEL.safetensors [RUNS]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { ROOT } from './wasm-node.mjs';

const [model, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);
const server = await serve(join(ROOT, 'web'), { '/bench/model.safetensors': readFileSync(model) });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const samples = [];
for (let k = 0; k < runs; k++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}?model=bench/model.safetensors`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
  samples.push(await page.evaluate(() => ({ ...window.edgerec.timings, latency: window.edgerec.lastLatencyMs })));
  await context.close();
}
await browser.close();
await server.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pick = (f) => median(samples.map(f));
console.log(JSON.stringify({
  runs,
  modelBytes: readFileSync(model).length,
  firstRecommendationMs: pick((s) => s.firstRecommendation),
  fetchedMs: pick((s) => s.fetched),
  loadMs: pick((s) => s.loaded - s.fetched),
  firstQueryMs: pick((s) => s.latency),
  allFirstRecommendationMs: samples.map((s) => Math.round(s.firstRecommendation)),
}));
