// Prints the Worker isolate's JS heap through wrangler dev's inspector (Runtime.getHeapUsage;
// it excludes wasm linear memory, which /health reports as wasm_memory_bytes).
// Usage: node --experimental-websocket tests/worker/heap.mjs INSPECTOR_PORT
const port = process.argv[2] ?? '9229';
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no reply in ${ms} ms`)), ms))]);

let url = `ws://127.0.0.1:${port}/ws`;
try {
  const targets = await withTimeout(fetch(`http://127.0.0.1:${port}/json`).then((r) => r.json()), 3000, '/json');
  if (targets[0]?.webSocketDebuggerUrl) url = targets[0].webSocketDebuggerUrl;
} catch {
  // fall back to /ws
}
const ws = new WebSocket(url);
await withTimeout(new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; }), 5000, 'connect');
let id = 0;
const pending = new Map();
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg);
};
const send = (method, params = {}) =>
  withTimeout(new Promise((resolve) => { const i = ++id; pending.set(i, resolve); ws.send(JSON.stringify({ id: i, method, params })); }), 5000, method);
const heap = await send('Runtime.getHeapUsage');
console.log(JSON.stringify({ inspector: url, ...heap.result }));
ws.close();
process.exit(0);
