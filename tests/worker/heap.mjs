// Prints the Worker isolate's JS heap through wrangler dev's inspector (Runtime.getHeapUsage;
// it excludes wasm linear memory, which /health reports as wasm_memory_bytes).
//
//   node tests/worker/heap.mjs INSPECTOR_PORT                 used/total heap now
//   node tests/worker/heap.mjs INSPECTOR_PORT --watch SECONDS  sampled every 250 ms: max and median
//   node tests/worker/heap.mjs INSPECTOR_PORT --live           after a full GC: the live heap
//
// --live takes a heap snapshot (HeapProfiler.takeHeapSnapshot), which V8 precedes with a full
// garbage collection, and discards it; `HeapProfiler.collectGarbage` never replies in workerd.
// Uses the `ws` package that wrangler brings: Node's built-in WebSocket fails the inspector's
// handshake. Every wait has a timeout.
import WebSocket from '../../node_modules/ws/wrapper.mjs';

const [port = '9229', mode = '', seconds = '0'] = process.argv.slice(2);
const fail = (why) => {
  console.error(`inspector: ${why}`);
  process.exit(1);
};
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { maxPayload: 1 << 30 });
ws.on('error', (e) => fail(e.message));
ws.on('unexpected-response', (_req, res) => fail(`handshake answered ${res.statusCode}`));
const pending = new Map();
let nextId = 1;
ws.on('message', (data) => {
  const msg = JSON.parse(String(data));
  pending.get(msg.id)?.(msg);
  pending.delete(msg.id);
});
const send = (method, params = {}, timeoutMs = 15000) =>
  new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => fail(`${method}: no reply in ${timeoutMs} ms`), timeoutMs);
    pending.set(id, (msg) => {
      clearTimeout(timer);
      if (msg.error) fail(`${method}: ${msg.error.message}`);
      resolve(msg.result);
    });
    ws.send(JSON.stringify({ id, method, params }));
  });
const usage = async () => {
  const { usedSize, totalSize } = await send('Runtime.getHeapUsage');
  return { used: usedSize, total: totalSize };
};

ws.on('open', async () => {
  if (mode === '--watch') {
    const samples = [];
    const end = Date.now() + Number(seconds) * 1000;
    while (Date.now() < end) {
      samples.push(await usage());
      await new Promise((r) => setTimeout(r, 250));
    }
    const used = samples.map((s) => s.used).sort((a, b) => a - b);
    console.log(JSON.stringify({
      samples: samples.length,
      js_heap_used_max_bytes: used.at(-1),
      js_heap_used_median_bytes: used[Math.floor(used.length / 2)],
      js_heap_total_max_bytes: Math.max(...samples.map((s) => s.total)),
    }));
  } else if (mode === '--live') {
    await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 60000);
    const { used, total } = await usage();
    console.log(JSON.stringify({ after_full_gc: true, js_heap_used_bytes: used, js_heap_total_bytes: total }));
  } else {
    const { used, total } = await usage();
    console.log(JSON.stringify({ js_heap_used_bytes: used, js_heap_total_bytes: total }));
  }
  ws.close();
  process.exit(0);
});
