#!/usr/bin/env bash
# A benchmark (not a test) of a million-item model in the Worker under wrangler dev,
# written to docs/bench/scale-worker.md:
#  1. cold start: wrangler dev started cold; the first /health loads the artifact from local R2;
#  2. the KV path: /recommend/USER p50 and p99 for users whose vectors live in local KV (each
#     user's first request reads KV; the second comes from the isolate's cache), against the same
#     users inside the artifact (the full artifact, users included, from R2), same requests;
#  3. memory under load: wasm memory (/health) plus the JS heap (inspector) after LOAD more
#     requests over the users, for both.
# The model: `scale_fixture` (items and users drawn around 1,000 centres), d = 64, int8, an IVF
# index; `trainer export-users` moves its users out for KV.
# Env: SCALE_ITEMS (1000000), SCALE_USERS (1000), SCALE_LISTS (1000), LOAD (2000).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/scale-worker"
ITEMS=${SCALE_ITEMS:-1000000}
USERS=${SCALE_USERS:-1000}
LISTS=${SCALE_LISTS:-1000}
LOAD=${LOAD:-2000}
WRANGLER="$ROOT/node_modules/.bin/wrangler"
source tests/worker/serve.sh
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
trap serve_stop EXIT
mkdir -p "$WORK"
load_before=$(cut -d" " -f1-3 /proc/loadavg)

log "a $ITEMS-item model (d = 64, int8, IVF with $LISTS lists, $USERS users)"
cargo run -q --release --locked -p edgerec-core --example scale_fixture -- \
  "$WORK/full.safetensors" "$ITEMS" 64 "$USERS" "$LISTS" int8
cargo build -q --release --locked -p edgerec-trainer --bin trainer
TRAINER="${CARGO_TARGET_DIR:-$ROOT/target}/release/trainer"
"$TRAINER" export-users --model "$WORK/full.safetensors" --artifact-out "$WORK/items.safetensors" \
  --kv-out "$WORK/users.kv.json" --json >"$WORK/export.json"
jq -r '.[:300][].key | sub("^[^/]*/"; "")' "$WORK/users.kv.json" >"$WORK/users.txt"

log "worker-build --release (no bundled model)"
(cd worker && EDGEREC_MODEL=/dev/null worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }

# config NAME KEY: a wrangler config serving KEY from the local bucket, with the users' KV.
config() {
  cat >"$WORK/wrangler-$1.toml" <<TOML
name = "edgerec-scale-bench"
main = "$WORK/bundle/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' worker/wrangler.toml)"

[vars]
MODEL_R2_BINDING = "MODELS"
MODEL_R2_KEY = "$2"
USERS_KV_BINDING = "USERS"
USERS_CACHE_ENTRIES = "$USERS"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-scale-bench"

[[kv_namespaces]]
binding = "USERS"
id = "00000000000000000000000000000003"
TOML
}
config kv items.safetensors
config bundled full.safetensors
rm -rf "$WORK/state"
log "wrangler r2 object put (local): both artifacts; wrangler kv bulk put (local): $USERS users"
for key in items full; do
  "$WRANGLER" r2 object put "edgerec-scale-bench/$key.safetensors" --file "$WORK/$key.safetensors" --local \
    --persist-to "$WORK/state" -c "$WORK/wrangler-kv.toml" >"$WORK/put-$key.log" 2>&1 || { cat "$WORK/put-$key.log"; exit 1; }
done
"$WRANGLER" kv bulk put "$WORK/users.kv.json" --binding USERS --local --persist-to "$WORK/state" \
  -c "$WORK/wrangler-kv.toml" >"$WORK/put-kv.log" 2>&1 || { cat "$WORK/put-kv.log"; exit 1; }

for name in kv bundled; do
  log "wrangler dev, cold ($name): first /health, then the requests"
  SERVE_COLD=1 serve_start "$name" "$WORK/wrangler-$name.toml" "$WORK/bundle/index.js" "$WORK/state"
  curl -s -o "$WORK/health-$name.json" -w '%{time_total}\n' "http://127.0.0.1:$PORT/health" >"$WORK/cold-$name.txt"
  jq -e '.model_loaded == true' "$WORK/health-$name.json" >/dev/null || { cat "$WORK/health-$name.json"; exit 1; }
  node tests/worker/scale-bench.mjs "http://127.0.0.1:$PORT" "$INSPECTOR" "$WORK/users.txt" "$LOAD" >"$WORK/result-$name.json"
  serve_stop
done

python3 - "$WORK" "$ITEMS" "$USERS" "$LISTS" "$LOAD" "$load_before" "$(cut -d" " -f1-3 /proc/loadavg)" \
  >"$ROOT/docs/bench/scale-worker.md" <<'PY'
import json, os, sys
work, items, users, lists, load, before, after = sys.argv[1:]
r = {n: json.load(open(f"{work}/result-{n}.json")) for n in ("kv", "bundled")}
cold = {n: float(open(f"{work}/cold-{n}.txt").read()) for n in ("kv", "bundled")}
size = {n: os.path.getsize(f"{work}/{f}.safetensors") for n, f in (("kv", "items"), ("bundled", "full"))}
mb = lambda b: f"{b / 1e6:.1f} MB"
print("# A million items in the Worker\n")
print(f"`bench/scale-worker.sh` (wrangler dev on loopback; local R2 and KV). Load average {before} before, "
      f"{after} after. The model: `scale_fixture`, {int(items):,} items and {int(users):,} users drawn around 1,000 "
      f"centres, d = 64, int8 item factors, an IVF index of {lists} lists; `trainer export-users` moves the users "
      f"out for KV. The same bundle (no model inside) serves either artifact from local R2. Each of "
      f"{r['kv']['users']} users asks `GET /recommend/USER?n=10` twice, one request at a time, timed by the client; "
      f"then {int(load):,} more requests, 8 at a time, and the isolate's memory is read (wasm memory from `/health`, "
      f"the JS heap through the inspector).\n")
print("| users' vectors | artifact | cold start (first `/health`) | first request p50 / p99 | second request p50 / p99 | memory after load |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for n, label in (("kv", "in KV (cache of " + users + " entries)"), ("bundled", "inside the artifact")):
    x = r[n]
    mem = x["wasm_memory_bytes"] + x["js_heap_used_bytes"]
    print(f"| {label} | {mb(size[n])} | {cold[n]:.2f} s | {x['first']['p50_ms']:.2f} / {x['first']['p99_ms']:.2f} ms | "
          f"{x['again']['p50_ms']:.2f} / {x['again']['p99_ms']:.2f} ms | {mb(mem)} (wasm {mb(x['wasm_memory_bytes'])} + JS {mb(x['js_heap_used_bytes'])}) |")
print(f"\nEvery answer was personalised (fallbacks: KV {r['kv']['fallbacks']}, bundled {r['bundled']['fallbacks']}). "
      f"Targets: memory under load ≤ 115 MB (the isolate's limit is 128 MB); the artifact without users ≤ 90 MB. "
      f"A first request for a KV user costs the KV read on top of the search: "
      f"{r['kv']['first']['p50_ms'] - r['bundled']['first']['p50_ms']:+.2f} ms at p50 against the bundled user; "
      f"once cached, {r['kv']['again']['p50_ms'] - r['bundled']['again']['p50_ms']:+.2f} ms.\n")
PY
cat "$ROOT/docs/bench/scale-worker.md"
