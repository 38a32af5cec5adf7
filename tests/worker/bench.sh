#!/usr/bin/env bash
# Benchmarks (not tests) of the Worker under `wrangler dev` on loopback, with wrk:
# throughput and latency of POST /recommend against a trivial route (GET /health), the
# isolate's memory, and the deployable bundle's size. Prints the figures and the commands.
#
# Usage: tests/worker/bench.sh [MODEL]   (default: web/models/demo.safetensors, else the fixture)
# Env: DURATION (default 15s), CONNECTIONS (default 32), THREADS (default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
if [ -z "${WASM_BINDGEN_BIN:-}" ] || [ -z "${ESBUILD_BIN:-}" ]; then
  source scripts/setup.sh
fi
export CI=1 WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false EDGEREC_PREBUILT=1
export XDG_CONFIG_HOME="${XDG_CONFIG_HOME:-$ROOT/target/xdg}"
WORK="$ROOT/target/worker-bench"
WORKER="$ROOT/worker"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
mkdir -p "$WORK"

model=${1:-$ROOT/web/models/demo.safetensors}
if [ ! -f "$model" ]; then
  model="$WORK/fixture.safetensors"
  cargo run -q --locked -p edgerec-core --example fixture -- "$model" 1000 600 64 42
fi
echo "model: $model ($(wc -c <"$model") bytes)"

(cd "$WORKER" && EDGEREC_MODEL="$model" worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
  || { tail -40 "$WORK/build.log"; exit 1; }

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(port)
INSPECTOR=$(port)
(cd "$WORKER" && exec setsid "$WRANGLER" dev -c "$WORKER/wrangler.toml" "$WORK/bundle/index.js" --ip 127.0.0.1 --port "$PORT" \
  --inspector-port "$INSPECTOR" --persist-to "$WORK/state" --log-level warn >"$WORK/wrangler.log" 2>&1) &
pgid=$!
trap 'kill -TERM -- -$pgid 2>/dev/null || true; sleep 1; kill -KILL -- -$pgid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/openapi.json" && break; sleep 0.5; done
BASE="http://127.0.0.1:$PORT"

echo "== warm-up"
wrk -t1 -c4 -d3s "$BASE/health" >/dev/null
wrk -t1 -c4 -d3s -s tests/worker/recommend.lua "$BASE/recommend" >/dev/null
curl -s -X POST "$BASE/recommend" -H 'Content-Type: application/json' -d '{"user_id": "U10001", "top_n": 10}' -o /dev/null -D - | grep -i server-timing

run() {
  echo "== $1"
  echo "\$ $2"
  eval "$2"
}
for round in 1 2; do
  run "trivial route, round $round" "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $BASE/health"
  run "POST /recommend, round $round" "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tests/worker/recommend.lua $BASE/recommend"
done
run "GET /recommend/U10001 (cacheable GET)" "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $BASE/recommend/U10001?n=10"

echo "== memory"
curl -s "$BASE/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("wasm_memory_bytes", h["wasm_memory_bytes"], "model bytes", h["model"]["bytes"])'
node --experimental-websocket tests/worker/heap.mjs "$INSPECTOR" 2>/dev/null || echo "inspector: no answer"

echo "== bundle"
rm -rf "$WORK/deploy"
(cd "$WORKER" && "$WRANGLER" deploy -c "$WORKER/wrangler.toml" "$WORK/bundle/index.js" --dry-run --outdir "$WORK/deploy" 2>&1 | grep -E 'Total Upload') || true
echo "raw $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | wc -c) bytes, gzip -9 $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | gzip -9 | wc -c) bytes"
