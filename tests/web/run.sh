#!/usr/bin/env bash
# The web stage of scripts/test.sh: builds the browser package, then
#   1. wasm-bindgen-test tests of the bindings, in Node (wasm-bindgen-test-runner);
#   2. parity: the built wasm answers a set of requests exactly like the native core, on the
#      core's fixture (a v2 rating model) and on a v2 ranking model with a recency component and
#      a rating head (wasm/examples/fixture_v2.rs), on int8 and f16 item factors, and on a v4
#      model with a sequence network (core/examples/sequence_fixture.rs);
#   3. end to end: the page in Debian's headless Chromium (playwright-core) on a loopback server.
# Screenshots go to tests/artifacts/ (gitignored). Honours CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1;36m  -- %s\033[0m\n' "$*" >&2; }

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
WORK="$target_dir/web-test"
mkdir -p "$WORK" tests/artifacts

say "build web/pkg (cargo, wasm-bindgen, wasm-opt) and check the committed typings"
wasm/build.sh

say "wasm-bindgen-test: the bindings in Node"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p edgerec-wasm --target wasm32-unknown-unknown --locked

say "fixture model (the examples come from the suite's debug build, tests/bins.sh)"
source tests/bins.sh
debug_bins
"$BIN/examples/fixture" "$WORK/fixture.safetensors"

say "parity: wasm (web/pkg) against native"
node tests/web/parity-requests.mjs >"$WORK/requests.json"
"$BIN/examples/parity" \
  "$WORK/fixture.safetensors" "$WORK/requests.json" "$WORK/expected.json"
PARITY_MODEL="$WORK/fixture.safetensors" PARITY_REQUESTS="$WORK/requests.json" \
  PARITY_EXPECTED="$WORK/expected.json" tests/node-test.sh tests/web/parity.test.mjs

say "parity again on a v2 ranking model with a recency component and a rating head"
"$BIN/examples/fixture_v2" "$WORK/fixture-v2.safetensors"
"$BIN/examples/parity" \
  "$WORK/fixture-v2.safetensors" "$WORK/requests.json" "$WORK/expected-v2.json"
PARITY_MODEL="$WORK/fixture-v2.safetensors" PARITY_REQUESTS="$WORK/requests.json" \
  PARITY_EXPECTED="$WORK/expected-v2.json" tests/node-test.sh tests/web/parity.test.mjs

say "parity again on int8 and f16 item factors (wasm decodes int8 rows in SIMD registers; the scores must match bit for bit), the int8 one through an IVF index (lists chosen by integer pre-score)"
for q in int8 f16; do
  lists=$([ "$q" = int8 ] && echo 24 || true)
  "$BIN/examples/fixture" "$WORK/fixture-$q.safetensors" 1000 600 64 42 "$q" $lists
  "$BIN/examples/parity" \
    "$WORK/fixture-$q.safetensors" "$WORK/requests.json" "$WORK/expected-$q.json"
  PARITY_MODEL="$WORK/fixture-$q.safetensors" PARITY_REQUESTS="$WORK/requests.json" \
    PARITY_EXPECTED="$WORK/expected-$q.json" tests/node-test.sh tests/web/parity.test.mjs
done

say "parity again on a v4 sequence model (L = 50, d = 64, 2 blocks): sessions and visitors run its network in wasm and natively, and the answers must match bit for bit"
"$BIN/examples/sequence_fixture" "$WORK/fixture-v4.safetensors" 1000 600 64 50 2 42 >/dev/null
"$BIN/examples/parity" \
  "$WORK/fixture-v4.safetensors" "$WORK/requests.json" "$WORK/expected-v4.json"
PARITY_MODEL="$WORK/fixture-v4.safetensors" PARITY_REQUESTS="$WORK/requests.json" \
  PARITY_EXPECTED="$WORK/expected-v4.json" PARITY_SEQUENCE=1 tests/node-test.sh tests/web/parity.test.mjs

say "end to end: headless Chromium"
E2E_MODEL="$WORK/fixture.safetensors" ARTIFACTS="$ROOT/tests/artifacts" \
  tests/node-test.sh --test-concurrency=1 tests/web/e2e.test.mjs
say "screenshots: tests/artifacts/page-*.png"
