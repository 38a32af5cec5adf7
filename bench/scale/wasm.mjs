// The wasm half of the scale benchmark (bench/scale/run.py): each of the first QUERIES users'
// top-10 `recommend` (seen items excluded) through the built browser package (web/pkg) in
// Node, timed one call at a time, JS boundary included, after a warm-up on another instance.
// Prints one JSON line: p50/p99 in ms.
//
//   node bench/scale/wasm.mjs MODEL.safetensors QUERIES [--lockstep]
//
// With --lockstep (bench/scale/run.py runs it beside `bench_native --per-call --lockstep`, the
// two taking turns call by call): prints `ready` after the warm-up, then makes the next timed
// call each time a byte arrives on stdin and answers with that call's time in ms, one line each.
import { readFileSync, readSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadWasm } from '../../tests/web/wasm-node.mjs';

const [model, queriesArg, mode] = process.argv.slice(2);
const lockstep = mode === '--lockstep';
if (!model || !queriesArg) throw new Error('usage: node bench/scale/wasm.mjs MODEL QUERIES');
const queries = Number(queriesArg);
const { Recommender } = await loadWasm();
const started = performance.now();
const rec = new Recommender(readFileSync(model));
const loadMs = performance.now() - started;
const users = rec.users(0, queries);
const request = (userId) => ({ userId, topN: 10, excludeRated: true });
// Warm-up: every query WARMUP_PASSES times on a second instance of the same model, so that the
// timed instance starts with optimized code but reads a freshly loaded model, as the native run
// does (every call makes its items' JS strings: a Recommender keeps them only for a catalogue of
// up to 65,536 items, wasm/src/answer.rs). V8 runs wasm first in its baseline code
// (Liftoff) and compiles a function with its optimizing compiler in the background once it has
// run a while. One pass was not enough: `perf record` (cpu-clock, `node --perf-basic-prof`) of
// the timed pass after one warm-up pass found the index search still in Liftoff code, and the
// compiler still at work, through the first half of it; after 8 passes, Liftoff code was all
// but gone from it (at most 3 samples a quarter, against 64-147).
const WARMUP_PASSES = 10;
const warmup = [];
{
  const warm = new Recommender(readFileSync(model));
  for (let pass = 0; pass < WARMUP_PASSES; pass++) {
    const t = performance.now();
    for (const u of users) warm.recommend(request(u));
    warmup.push(((performance.now() - t) / users.length) * 1e3);
  }
  warm.free();
}
const times = [];
let checksum = 0;
const turn = Buffer.alloc(1);
if (lockstep) writeSync(1, 'ready\n');
for (const u of users) {
  if (lockstep && readSync(0, turn, 0, 1) !== 1) throw new Error('lockstep: stdin closed early');
  const t = performance.now();
  checksum += rec.recommend(request(u)).items[0].index;
  const ms = performance.now() - t;
  times.push(ms);
  if (lockstep) writeSync(1, `${ms}\n`);
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.max(Math.ceil(times.length * q) - 1, 0)];
writeSync(1, `${JSON.stringify({
  runtime: 'wasm (node)', queries: times.length, load_ms: loadMs, p50_ms: at(0.5), p99_ms: at(0.99), checksum,
  warmup_passes: WARMUP_PASSES, warmup_mean_us: warmup.map((us) => Math.round(us * 10) / 10),
})}\n`);
