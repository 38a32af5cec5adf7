// `node --import ./tests/worker/node-register.mjs ...`: lets Node load a worker-build bundle
// (see node-hooks.mjs), for handler-bench.mjs.
import { register } from 'node:module';

register(new URL('./node-hooks.mjs', import.meta.url));
globalThis.addEventListener ??= () => {};
