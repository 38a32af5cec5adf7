#!/usr/bin/env bash
# Builds the browser package into web/pkg/: cargo (wasm-release profile, simd128) →
# wasm-bindgen --target web → wasm-opt -O3 (npm binaryen; Debian's is broken for this).
# The JS glue imports web/pkg/snippets/ (the bindings' inline JS), so the package ships it.
#
#   wasm/build.sh                  build, then check web/pkg's typings against wasm/pkg-types/
#   wasm/build.sh --update-types   build, then copy the fresh typings into wasm/pkg-types/
#
# Honours CARGO_TARGET_DIR, WASM_BINDGEN_BIN and WASM_OPT_BIN.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN=${WASM_BINDGEN_BIN:-wasm-bindgen}
WASM_OPT=${WASM_OPT_BIN:-$ROOT/node_modules/.bin/wasm-opt}
OUT=web/pkg
TYPES=wasm/pkg-types

# SIMD for the core's dot product. .cargo/config.toml sets it for every wasm32 build; it is
# repeated here so that this package keeps it whatever CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS
# the caller sets.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-} -C target-feature=+simd128" \
  cargo build -p edgerec-wasm --target wasm32-unknown-unknown --profile wasm-release --locked

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
wasm="$target_dir/wasm32-unknown-unknown/wasm-release/edgerec_wasm.wasm"

rm -rf "$OUT"
"$WASM_BINDGEN" --target web --out-dir "$OUT" "$wasm"
# -ocimfs 100: a function with one caller is inlined only when small. By default binaryen
# inlines every such function, which merged the index search's list choice and list scan into
# one function so large that V8's register allocator spilled in both loops: 26-27 µs per
# 1M-item top 10 in Node, against 19-22 µs with the loops in functions of their own
# (docs/notes/scale-experiments.md).
"$WASM_OPT" -O3 -ocimfs 100 \
  --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$OUT/edgerec_wasm_bg.wasm" -o "$OUT/edgerec_wasm_bg.wasm"

# The package description that goes with the typings.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cat >"$OUT/package.json" <<JSON
{
  "name": "edgerec-wasm",
  "version": "$version",
  "description": "EdgeRec in the browser: recommendations from a model artifact, computed in wasm.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "edgerec_wasm.js",
  "module": "edgerec_wasm.js",
  "types": "edgerec_wasm.d.ts",
  "files": ["edgerec_wasm.js", "edgerec_wasm.d.ts", "edgerec_wasm_bg.wasm", "edgerec_wasm_bg.wasm.d.ts", "snippets/"],
  "sideEffects": false
}
JSON
rm -f "$OUT/.gitignore"

raw=$(stat -c %s "$OUT/edgerec_wasm_bg.wasm")
gz=$(gzip -9 -c "$OUT/edgerec_wasm_bg.wasm" | wc -c)
echo "web/pkg/edgerec_wasm_bg.wasm: $raw bytes raw, $gz bytes gzipped (-9)" >&2

tracked=(edgerec_wasm.d.ts edgerec_wasm_bg.wasm.d.ts package.json)
if [ "${1:-}" = "--update-types" ]; then
  mkdir -p "$TYPES"
  for f in "${tracked[@]}"; do cp "$OUT/$f" "$TYPES/$f"; done
  echo "updated $TYPES/" >&2
else
  for f in "${tracked[@]}"; do
    if ! diff -u "$TYPES/$f" "$OUT/$f" >&2; then
      echo "error: $TYPES/$f is out of date; run wasm/build.sh --update-types and commit it" >&2
      exit 1
    fi
  done
fi
