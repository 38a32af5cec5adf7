// Loads the browser build (web/pkg, `--target web`) in Node, without fetch.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function loadWasm() {
  const pkg = await import(new URL('../../web/pkg/edgerec_wasm.js', import.meta.url));
  pkg.initSync({ module: readFileSync(new URL('../../web/pkg/edgerec_wasm_bg.wasm', import.meta.url)) });
  return pkg;
}
