// Node module hooks that give a worker-build bundle what workerd gives it: `cloudflare:workers`
// (a WorkerEntrypoint base class) and `import wasm from "./x.wasm"` as a WebAssembly.Module.
export async function resolve(specifier, context, next) {
  if (specifier === 'cloudflare:workers') {
    return { url: 'edgerec-stub:cloudflare-workers', shortCircuit: true };
  }
  if (specifier.endsWith('.wasm')) {
    return { url: new URL(specifier, context.parentURL).href + '?module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === 'edgerec-stub:cloudflare-workers') {
    const source = 'export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }';
    return { format: 'module', source, shortCircuit: true };
  }
  if (url.endsWith('.wasm?module')) {
    const path = JSON.stringify(new URL(url).pathname);
    const source = `import { readFileSync } from 'node:fs'; export default new WebAssembly.Module(readFileSync(${path}));`;
    return { format: 'module', source, shortCircuit: true };
  }
  return next(url, context);
}
