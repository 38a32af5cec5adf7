// The availability benchmark's load (bench/availability.sh runs it against
// `wrangler dev`). Prints one JSON object:
//  - cost: p50/p99 of POST /recommend for the same users with every item available, then with
//    `OFF_SHARE` of the catalogue unavailable (every k-th item), sequential requests;
//  - leaks: `DURATION` s of concurrent /recommend and /items/{id}/similar while a flipper
//    switches between two sets of unavailable items every `FLIP` s. An answer to a request
//    sent after /health showed a flip's version, and before the next flip was written, must hold
//    none of that flip's items; every answer must be a 200;
//  - visible: per flip, the time from the PUT's answer to /health showing its version.
// Env: EDGEREC_URL, EDGEREC_ADMIN_TOKEN, ITEMS (catalogue size), USERS (a file of user IDs),
// DURATION, FLIP, CONCURRENCY, OFF_SHARE.
import { readFileSync } from 'node:fs';

const BASE = process.env.EDGEREC_URL;
const AUTH = { authorization: `Bearer ${process.env.EDGEREC_ADMIN_TOKEN}` };
const ITEMS = Number(process.env.ITEMS);
const USERS = readFileSync(process.env.USERS, 'utf8').split('\n').filter(Boolean);
const DURATION = Number(process.env.DURATION ?? '60') * 1000;
const FLIP = Number(process.env.FLIP ?? '3') * 1000;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? '8');
const OFF_SHARE = Number(process.env.OFF_SHARE ?? '0.1');
const item = (i) => `i${String(i).padStart(8, '0')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function put(items) {
  for (let k = 0; k < items.length; k += 10_000) {
    const res = await fetch(`${BASE}/admin/items`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ items: items.slice(k, k + 10_000) }),
    });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`PUT /admin/items: ${res.status} ${JSON.stringify(json)}`);
    if (k + 10_000 >= items.length) return json.version;
  }
  throw new Error('nothing to put');
}

async function visible(version) {
  for (;;) {
    const h = await (await fetch(`${BASE}/health`)).json();
    if (h.availability?.version === version) return h;
    await sleep(20);
  }
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function recommend(user, extra = {}) {
  const res = await fetch(`${BASE}/recommend`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: user, top_n: 10, ...extra }),
  });
  const json = await res.json();
  return { status: res.status, items: res.status === 200 ? json.recommendations.map((r) => r.item_id) : [] };
}

async function similar(id) {
  const res = await fetch(`${BASE}/items/${id}/similar?n=10`);
  const json = await res.json();
  return { status: res.status, items: res.status === 200 ? json.similar_items.map((s) => s.item_id) : [] };
}

/** p50/p99 (ms) of sequential POST /recommend over the users, twice round. */
async function latency(extra = {}) {
  const times = [];
  for (const user of [...USERS, ...USERS]) {
    const t = performance.now();
    const r = await recommend(user, extra);
    times.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`/recommend ${user}: ${r.status}`);
  }
  return { p50_ms: quantile(times, 0.5), p99_ms: quantile(times, 0.99), requests: times.length };
}

// 1. Cost: everything available, then OFF_SHARE of the catalogue off.
const step = Math.round(1 / OFF_SHARE);
const allOn = await visible(await put([{ item_id: item(0), available: true }]));
await latency(); // warm-up
const on = await latency();
const tenth = Array.from({ length: Math.floor(ITEMS / step) }, (_, k) => ({ item_id: item(k * step), available: false }));
const putStarted = performance.now();
const offVersion = await put(tenth);
const offHealth = await visible(offVersion);
const tenthVisibleMs = performance.now() - putStarted;
const off = await latency();
await visible(await put(tenth.map((e) => ({ ...e, available: true }))));
// Visitors with 20 interactions each (the fixture's users have no stored history to explain),
// without and with "explain": true; the first request builds the item Gram matrix once.
const visitors = USERS.map((_, k) => Array.from({ length: 20 }, (_, j) => ({ item_id: item((k * 7919 + j * 104729) % ITEMS), rating: 1 + (j % 3) })));
async function visitorLatency(explain) {
  const times = [];
  for (const interactions of [...visitors, ...visitors]) {
    const t = performance.now();
    const res = await fetch(`${BASE}/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ interactions, top_n: 10, explain }),
    });
    const json = await res.json();
    times.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`/recommend visitor: ${res.status} ${JSON.stringify(json)}`);
    if (explain && !json.recommendations.some((r) => r.because.length)) throw new Error('no reasons');
  }
  return { p50_ms: quantile(times, 0.5), p99_ms: quantile(times, 0.99), requests: times.length };
}
await visitorLatency(true);
const plain = await visitorLatency(false);
const explained = await visitorLatency(true);

// 2. Leaks under load: two sets flip. Each holds the current top 3 of every user and of the
// similar queries' items, so a leak would show.
const probes = USERS.slice(0, 50);
const seeds = Array.from({ length: 20 }, (_, k) => item(k * 37 + 1));
const tops = new Set();
for (const u of probes) (await recommend(u)).items.slice(0, 3).forEach((i) => tops.add(i));
for (const s of seeds) (await similar(s)).items.slice(0, 3).forEach((i) => tops.add(i));
const topList = [...tops].filter((i) => !seeds.includes(i));
const sets = [topList.filter((_, k) => k % 2 === 0), topList.filter((_, k) => k % 2 === 1)];
const windows = []; // { from, to, off: Set }
const visibleMs = [];
let stop = false;
let requests = 0;
let errors = 0;
let leaks = 0;
const answers = [];

async function flipper() {
  const end = performance.now() + DURATION;
  for (let k = 0; performance.now() < end; k++) {
    const now = sets[k % 2];
    const was = sets[(k + 1) % 2];
    const last = windows.at(-1);
    const sent = performance.now();
    if (last) last.to = sent; // answers after this may reflect either state
    const version = await put([...now.map((i) => ({ item_id: i, available: false })),
      ...was.map((i) => ({ item_id: i, available: true }))]);
    const answered = performance.now();
    await visible(version);
    const from = performance.now();
    visibleMs.push(from - answered);
    windows.push({ from, to: Infinity, off: new Set(now) });
    await sleep(Math.max(0, FLIP - (from - sent)));
  }
  stop = true;
}

async function worker(k) {
  for (let j = 0; !stop; j++) {
    const sent = performance.now();
    const r = j % 2 === 0 ? await recommend(probes[(k * 7 + j) % probes.length]) : await similar(seeds[(k + j) % seeds.length]);
    requests++;
    if (r.status !== 200) errors++;
    answers.push({ sent, items: r.items });
  }
}

await Promise.all([flipper(), ...Array.from({ length: CONCURRENCY }, (_, k) => worker(k))]);
let checked = 0;
for (const a of answers) {
  const w = windows.find((w) => a.sent >= w.from && a.sent < w.to);
  if (!w) continue;
  checked++;
  if (a.items.some((i) => w.off.has(i))) leaks++;
}
console.log(JSON.stringify({
  items: ITEMS,
  cost: {
    off_items: tenth.length,
    on,
    off,
    ratio_p50: off.p50_ms / on.p50_ms,
    visible_ms_after_put_of_10k: tenthVisibleMs,
    wasm_memory_bytes_all_on: allOn.wasm_memory_bytes,
    wasm_memory_bytes_with_off: offHealth.wasm_memory_bytes,
  },
  explain: { plain, explained, ratio_p50: explained.p50_ms / plain.p50_ms },
  load: {
    seconds: DURATION / 1000,
    concurrency: CONCURRENCY,
    flips: windows.length,
    flipped_items: sets.map((s) => s.length),
    requests,
    checked,
    leaks,
    errors,
    visible_ms: { p50: quantile(visibleMs, 0.5), max: Math.max(...visibleMs) },
  },
}));
