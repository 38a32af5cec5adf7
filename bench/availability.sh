#!/usr/bin/env bash
# A benchmark (not a test) of item availability in the Worker under wrangler dev, written to
# docs/bench/availability.md:
#  1. cost: POST /recommend p50 with every item available, and with 10 % of the catalogue off;
#     and without and with "explain": true;
#  2. no leaks under load: DURATION s of concurrent /recommend and /items/{id}/similar while two
#     sets of items flip every FLIP s; answers sent after /health showed a flip must hold none
#     of its items (tests/worker/availability-bench.mjs);
#  3. time to every isolate: a change written straight into the local D1 database (as another
#     isolate's PUT would be, so this isolate is not told) until /health shows it, against REFRESH.
# The model: `scale_fixture` with ITEMS items (default 100,000), d = 64, int8, an IVF index,
# served from local R2; D1 with the migrations applied. APPEND=1 adds this run's table to the
# report instead of replacing it (scripts/bench.sh runs 100,000 items, then 1,000,000 for memory).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/availability-bench"
ITEMS=${ITEMS:-100000}
REFRESH=${REFRESH:-2}
WRANGLER="$ROOT/node_modules/.bin/wrangler"
source tests/worker/serve.sh
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
trap 'serve_stop; rm -f "$WORK/.dev.vars"' EXIT
mkdir -p "$WORK"
load_before=$(cut -d" " -f1-3 /proc/loadavg)

log "a $ITEMS-item model (d = 64, int8, IVF), 300 users"
cargo run -q --release --locked -p edgerec-core --example scale_fixture -- \
  "$WORK/model.safetensors" "$ITEMS" 64 300 "$(( ITEMS / 1000 > 10 ? ITEMS / 1000 : 10 ))" int8
printf 'u%07d\n' $(seq 0 299) >"$WORK/users.txt"

log "worker-build --release (no bundled model)"
(cd worker && EDGEREC_MODEL=/dev/null worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }

cat >"$WORK/wrangler.toml" <<TOML
name = "edgerec-availability-bench"
main = "$WORK/bundle/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' worker/wrangler.toml)"

[vars]
MODEL_R2_BINDING = "MODELS"
MODEL_R2_KEY = "model.safetensors"
AVAILABILITY_REFRESH_SECONDS = "$REFRESH"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-availability-bench"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-availability-bench"
database_id = "00000000-0000-4000-8000-000000000004"
migrations_dir = "$ROOT/worker/migrations"
TOML
STATE="$WORK/state"
rm -rf "$STATE"
token="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf 'ADMIN_TOKEN=%s\n' "$token" >"$WORK/.dev.vars"
(cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$STATE" -c "$WORK/wrangler.toml" >"$WORK/put.log" 2>&1 \
  && "$WRANGLER" r2 object put edgerec-availability-bench/model.safetensors --file "$WORK/model.safetensors" \
    --local --persist-to "$STATE" -c "$WORK/wrangler.toml" >>"$WORK/put.log" 2>&1) || { cat "$WORK/put.log"; exit 1; }
serve_start bench "$WORK/wrangler.toml" "$WORK/bundle/index.js" "$STATE"
URL="http://127.0.0.1:$PORT"

log "cost and leaks under load (the JS heap sampled throughout)"
node tests/worker/heap.mjs "$INSPECTOR" --watch "$(( ${DURATION:-60} + 45 ))" >"$WORK/heap.json" 2>&1 &
heap_pid=$!
EDGEREC_URL=$URL EDGEREC_ADMIN_TOKEN=$token ITEMS=$ITEMS USERS="$WORK/users.txt" \
  DURATION=${DURATION:-60} FLIP=${FLIP:-3} CONCURRENCY=${CONCURRENCY:-8} \
  node tests/worker/availability-bench.mjs >"$WORK/load.json"
cat "$WORK/load.json"
wait "$heap_pid" || true
curl -s "$URL/health" | jq -c '{wasm_memory_bytes}' >"$WORK/memory.json"
cat "$WORK/heap.json" "$WORK/memory.json"

log "time until an isolate that was not told sees a change (refresh $REFRESH s)"
# The write goes straight into the local D1 database's SQLite file (python3's sqlite3, a few ms),
# so its time is known to the millisecond; the Worker learns of it only by its own check.
db=$(find "$STATE/v3/d1" -name '*.sqlite' ! -name metadata.sqlite | head -1)
[ -n "$db" ] || { echo "no local D1 database under $STATE" >&2; exit 1; }
: >"$WORK/visible.txt"
for trial in 1 2 3 4 5 6 7 8; do
  before=$(curl -s "$URL/health" | jq .availability.version)
  written=$(python3 - "$db" "$trial" <<'PY'
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=10)
with con:
    v = con.execute("SELECT version FROM item_state WHERE id = 1").fetchone()[0] + 1
    con.execute("INSERT INTO items VALUES (?, 0, NULL, 0, ?) ON CONFLICT(item_id) DO UPDATE SET available = 1 - available, version = excluded.version", (f"bench-{sys.argv[2]}", v))
    con.execute("UPDATE item_state SET version = ?, updated_at = 0 WHERE id = 1", (v,))
print(f"{time.time():.3f}")
PY
)
  while [ "$(curl -s "$URL/health" | jq .availability.version)" = "$before" ]; do sleep 0.02; done
  awk -v s="$written" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", e - s }' >>"$WORK/visible.txt"
  sleep "0.$((RANDOM % 10))"
done
cat "$WORK/visible.txt"

python3 - "$WORK/load.json" "$WORK/visible.txt" "$REFRESH" "$load_before" "$(cut -d" " -f1-3 /proc/loadavg)" \
  "$(nproc)" "$WORK/heap.json" "$WORK/memory.json" >"$WORK/report.md" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
try:
    heap = json.load(open(sys.argv[7]))["js_heap_used_max_bytes"]
except (ValueError, KeyError):
    heap = None
wasm = json.load(open(sys.argv[8]))["wasm_memory_bytes"]
visible = [float(x) for x in open(sys.argv[2]).read().split()]
refresh, before, after, cores = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
c, l = load["cost"], load["load"]
mib = lambda b: f"{b / 2**20:.1f} MiB" if b else "n/a"
print(f"`bench/availability.sh` (wrangler dev on loopback, {cores} cores, load average {before} before and {after} after): "
      f"a {load['items']:,}-item model (`scale_fixture`, d = 64, int8, IVF) from local R2, availability in local D1.\n")
print("| what | measured |\n| --- | ---: |")
print(f"| `POST /recommend` p50 / p99, every item available | {c['on']['p50_ms']:.2f} / {c['on']['p99_ms']:.2f} ms |")
print(f"| the same with {c['off_items']:,} items ({c['off_items'] / load['items']:.0%}) unavailable | {c['off']['p50_ms']:.2f} / {c['off']['p99_ms']:.2f} ms |")
print(f"| p50 ratio (target ≤ 1.2) | **{c['ratio_p50']:.2f}** |")
print(f"| wasm memory, all available / with those items off | {mib(c['wasm_memory_bytes_all_on'])} / {mib(c['wasm_memory_bytes_with_off'])} |")
e = load["explain"]
print(f"| `POST /recommend` for visitors with 20 interactions, p50 / p99, without and with `\"explain\": true` | {e['plain']['p50_ms']:.2f} / {e['plain']['p99_ms']:.2f} ms, {e['explained']['p50_ms']:.2f} / {e['explained']['p99_ms']:.2f} ms |")
print(f"| explain p50 ratio (target ≤ 1.5) | **{e['ratio_p50']:.2f}** |")
print(f"| load: {l['seconds']:.0f} s, {l['concurrency']} connections, `/recommend` and `similar`, {l['flips']} flips of {l['flipped_items'][0]} / {l['flipped_items'][1]} items | {l['requests']:,} requests |")
print(f"| answers checked against the flip in force / leaks / errors | {l['checked']:,} / **{l['leaks']}** / **{l['errors']}** |")
print(f"| PUT answered → `/health` shows it, same isolate (the PUT marks it stale): p50 / max | {l['visible_ms']['p50']:.0f} / {l['visible_ms']['max']:.0f} ms |")
if heap is not None and wasm:
    print(f"| memory after it all (the peak: wasm memory never shrinks): wasm + the JS heap's maximum under load (limit 128 MiB) | {mib(wasm)} + {mib(heap)} = **{mib(wasm + heap)}** |")
print(f"| change written straight into D1 → an isolate that was not told shows it (refresh {refresh} s, /health polled every 20 ms), {len(visible)} trials: max / each | **{max(visible):.2f} s** / {', '.join(f'{v:.2f}' for v in visible)} s (bound: {refresh} s + one read) |")
print()
print("The bitset costs one bit per item per served model (125 KB for a million items); the IDs of "
      "the unavailable items are not kept.")
PY
if [ "${APPEND:-0}" = 1 ]; then
  { echo; cat "$WORK/report.md"; } >>"$ROOT/docs/bench/availability.md"
else
  cp "$WORK/report.md" "$ROOT/docs/bench/availability.md"
fi
cat "$ROOT/docs/bench/availability.md"
