// Prints the Worker isolate's JS heap through wrangler dev's inspector (Runtime.getHeapUsage;
// it excludes wasm linear memory, which /health reports as wasm_memory_bytes).
// Usage: node tests/worker/heap.mjs INSPECTOR_PORT [--gc]
// --gc first asks for a full GC (HeapProfiler.collectGarbage never replies in workerd, so it is
// sent, given 2 s, and not awaited). Uses the `ws` package that wrangler brings: Node's built-in
// WebSocket fails the inspector's handshake. Every wait has a timeout.
import WebSocket from '../../node_modules/ws/wrapper.mjs';

const port = process.argv[2] ?? '9229';
const gc = process.argv.includes('--gc');
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
const fail = (why) => {
  console.error(`inspector: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('no reply in 15 s'), 15000);
ws.on('error', (e) => fail(e.message));
ws.on('unexpected-response', (_req, res) => fail(`handshake answered ${res.statusCode}`));
ws.on('open', () => {
  if (gc) ws.send(JSON.stringify({ id: 2, method: 'HeapProfiler.collectGarbage' }));
  setTimeout(() => ws.send(JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' })), gc ? 2000 : 0);
});
ws.on('message', (data) => {
  const msg = JSON.parse(String(data));
  if (msg.id !== 1) return;
  const { usedSize, totalSize } = msg.result ?? {};
  console.log(JSON.stringify({ after_gc: gc, js_heap_used_bytes: usedSize, js_heap_total_bytes: totalSize }));
  ws.close();
  process.exit(0);
});
