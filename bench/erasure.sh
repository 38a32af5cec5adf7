#!/usr/bin/env bash
# A benchmark (not a test) of deleting a user under wrangler dev, written to
# docs/bench/erasure.md: the time from a deletion to the user being served as unknown.
#  1. told: DELETE /admin/users/{id} to the isolate that then serves them (it applies the
#     deletion at once);
#  2. not told: the tombstone written straight into D1's SQLite file, as another isolate's DELETE
#     would leave it, so only the Worker's own check finds it (at most every REFRESH seconds,
#     AVAILABILITY_REFRESH_SECONDS).
# Each is timed from just before the write to the first GET /recommend/{id} that answers the
# popular fallback, polled every 20 ms (curl included), for N users each (default 20).
# The model is the core's fixture (1,000 users, 600 items, d = 64) with D1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/erasure-bench"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
N=${N:-20}
REFRESH=${REFRESH:-2}
source tests/worker/serve.sh
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
trap 'serve_stop; rm -f "$WORK/.dev.vars"' EXIT
mkdir -p "$WORK"
load_before=$(cut -d" " -f1-3 /proc/loadavg)

log "fixture model and worker-build --release"
cargo run -q --release --locked -p edgerec-core --example fixture -- "$WORK/fixture.safetensors" 1000 600 64 42
(cd worker && EDGEREC_MODEL="$WORK/fixture.safetensors" worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }
cat >"$WORK/wrangler.toml" <<TOML
name = "edgerec-erasure-bench"
main = "$WORK/bundle/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' worker/wrangler.toml)"

[vars]
MODEL_R2_BINDING = ""
AVAILABILITY_REFRESH_SECONDS = "$REFRESH"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-erasure-bench"
database_id = "00000000-0000-4000-8000-000000000007"
migrations_dir = "$ROOT/worker/migrations"
TOML
STATE="$WORK/state"
rm -rf "$STATE"
(cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$STATE" -c "$WORK/wrangler.toml" >"$WORK/migrations.log" 2>&1) \
  || { cat "$WORK/migrations.log"; exit 1; }
token="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf 'ADMIN_TOKEN=%s\n' "$token" >"$WORK/.dev.vars"
serve_start erasure "$WORK/wrangler.toml" "$WORK/bundle/index.js" "$STATE"
db=$(find "$STATE/v3/d1" -name '*.sqlite' ! -name metadata.sqlite | head -1)
URL="http://127.0.0.1:$PORT"
mapfile -t users < <(curl -sf "$URL/users?limit=$((2 * N))" | jq -r '.user_ids[]')

# until_unknown USER START: milliseconds from START (date +%s%N) to the first popular answer.
until_unknown() {
  local deadline=$((SECONDS + 30))
  until [ "$(curl -s "$URL/recommend/$1?n=5" | jq -r '.fallback // "none"')" = popular ]; do
    [ $SECONDS -lt $deadline ] || { echo "$1 was still served as known after 30 s" >&2; exit 1; }
    sleep 0.02
  done
  echo $(( ($(date +%s%N) - $2) / 1000000 ))
}

log "told: DELETE /admin/users/{id}, $N users"
: >"$WORK/told.txt"
for user in "${users[@]:0:N}"; do
  start=$(date +%s%N)
  curl -sf -o /dev/null -X DELETE -H "Authorization: Bearer $token" "$URL/admin/users/$user"
  until_unknown "$user" "$start" >>"$WORK/told.txt"
done
log "not told: the tombstone written straight into D1, $N users (refresh $REFRESH s)"
: >"$WORK/untold.txt"
for user in "${users[@]:N:N}"; do
  start=$(date +%s%N)
  python3 -c 'import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=10)
with con:
    con.execute("INSERT INTO deleted_users (user_id, deleted_at) VALUES (?, ?)", (sys.argv[2], int(time.time() * 1000)))' \
    "$db" "$user"
  until_unknown "$user" "$start" >>"$WORK/untold.txt"
done
serve_stop

python3 - "$WORK/told.txt" "$WORK/untold.txt" "$N" "$REFRESH" "$load_before" "$(cut -d" " -f1-3 /proc/loadavg)" "$(nproc)" \
  >"$ROOT/docs/bench/erasure.md" <<'PY'
import statistics, sys
told, untold = ([int(x) for x in open(p).read().split()] for p in sys.argv[1:3])
n, refresh, before, after, cores = sys.argv[3:8]
def row(name, xs):
    xs = sorted(xs)
    return f"| {name} | {len(xs)} | {statistics.median(xs):.0f} ms | {xs[int(0.9 * (len(xs) - 1))]:.0f} ms | {xs[-1]:.0f} ms |"
print("## Deleting a user: time to be served as unknown\n")
print(f"`bench/erasure.sh` (wrangler dev on loopback, {cores} cores, load average {before} before and {after} after; "
      f"the core's fixture model with D1, `AVAILABILITY_REFRESH_SECONDS={refresh}`). From just before the deletion is written to the "
      "first `GET /recommend/{id}` that answers the popular fallback, polled every 20 ms (curl included).\n")
print("| deletion | users | p50 | p90 | max |\n| --- | ---: | ---: | ---: | ---: |")
print(row("`DELETE /admin/users/{id}` to the isolate that serves the user (applied at once)", told))
print(row("tombstone written straight into D1 (an isolate not told: its own check finds it)", untold))
print(f"\nThe bound is the refresh interval plus one read: {refresh} s plus a D1 query.")
PY
cat "$ROOT/docs/bench/erasure.md"
