#!/usr/bin/env bash
# A benchmark (not a test) of online experiments in the Worker under wrangler dev, written to
# docs/bench/experiment.md:
#  1. what counting impressions costs: wrk on POST /recommend (one known user, top 10) against
#     the same Worker with IMPRESSIONS=on and =off, ROUNDS rounds each, alternating;
#  2. GET /admin/metrics over EVENTS stored events (default 1,000,000) and IMPRESSIONS_N answers
#     (default 200,000), written straight into the local D1 database: the answer time.
# The model is the core's fixture (1,000 users, 600 items, d = 64); D1 and a local Queue.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/experiment-bench"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
EVENTS=${EVENTS:-1000000}
IMPRESSIONS_N=${IMPRESSIONS_N:-200000}
source tests/worker/serve.sh
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
trap 'serve_stop; rm -f "$WORK/.dev.vars"' EXIT
mkdir -p "$WORK"
load_before=$(cut -d" " -f1-3 /proc/loadavg)

log "fixture model and worker-build --release"
cargo run -q --release --locked -p edgerec-core --example fixture -- "$WORK/fixture.safetensors" 1000 600 64 42
(cd worker && EDGEREC_MODEL="$WORK/fixture.safetensors" worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }

# config ON|OFF: a wrangler config with D1, the queue and IMPRESSIONS set.
config() {
  cat >"$WORK/wrangler-$1.toml" <<TOML
name = "edgerec-experiment-bench"
main = "$WORK/bundle/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' worker/wrangler.toml)"

[vars]
MODEL_R2_BINDING = ""
IMPRESSIONS = "$1"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-experiment-bench"
database_id = "00000000-0000-4000-8000-000000000006"
migrations_dir = "$ROOT/worker/migrations"

[[queues.producers]]
binding = "EVENTS"
queue = "edgerec-experiment-bench-events"

[[queues.consumers]]
queue = "edgerec-experiment-bench-events"
max_batch_size = 100
max_batch_timeout = 1
TOML
}
config on
config off
STATE="$WORK/state"
rm -rf "$STATE"
(cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$STATE" -c "$WORK/wrangler-on.toml" >"$WORK/migrations.log" 2>&1) \
  || { cat "$WORK/migrations.log"; exit 1; }
token="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf 'ADMIN_TOKEN=%s\n' "$token" >"$WORK/.dev.vars"

log "impression counting: wrk on POST /recommend, $ROUNDS rounds of $DURATION each, on and off"
: >"$WORK/wrk.jsonl"
for round in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    serve_start "bench-$mode" "$WORK/wrangler-$mode.toml" "$WORK/bundle/index.js" "$STATE"
    WRK_BODY='{"user_id": "U10001", "top_n": 10}' wrk -t2 -c8 -d3s -s tests/worker/wrk.lua "http://127.0.0.1:$PORT/recommend" >/dev/null
    line=$(WRK_BODY='{"user_id": "U10001", "top_n": 10}' wrk -t2 -c8 -d"$DURATION" --latency -s tests/worker/wrk.lua \
      "http://127.0.0.1:$PORT/recommend" | sed -n 's/^WRK_JSON //p')
    echo "{\"round\": $round, \"impressions\": \"$mode\", \"wrk\": $line}" | tee -a "$WORK/wrk.jsonl"
    serve_stop
  done
done

log "metrics over $EVENTS stored events and $IMPRESSIONS_N answers, written straight into local D1"
db=$(find "$STATE/v3/d1" -name '*.sqlite' ! -name metadata.sqlite | head -1)
python3 - "$db" "$EVENTS" "$IMPRESSIONS_N" <<'PY'
import random, sqlite3, sys, time
db, events, shown = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
now = int(time.time() * 1000)
con = sqlite3.connect(db)
with con:
    con.executemany(
        "INSERT INTO impressions VALUES (?, ?, 'fixture', ?, 'recommend', ?)",
        ((f"rec-{k:032x}", f"U{k % 50000}", "canary" if k % 2 else "current", now - 3_600_000 + k) for k in range(shown)),
    )
    behaviours = ["view", "click", "click", "cart", "purchase"]
    def rows():
        for k in range(events):
            attributed = rng.random() < 0.3
            rid = f"rec-{rng.randrange(shown):032x}" if attributed else None
            behaviour = rng.choice(behaviours[1:] if attributed else behaviours)
            yield (f"bench-{k}", f"U{k % 50000}", f"I{k % 600}", behaviour, None, now // 1000, now - 1_800_000, now, rid, 1 if rid else None)
    con.executemany(
        "INSERT INTO events (event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at, recommendation_id, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
print(con.execute("SELECT count(*) FROM events").fetchone()[0], "events,", con.execute("SELECT count(*) FROM impressions").fetchone()[0], "impressions")
PY
# A port just freed by the last server can still be taken: one more try.
serve_start bench-metrics "$WORK/wrangler-off.toml" "$WORK/bundle/index.js" "$STATE" \
  || { serve_stop; sleep 2; serve_start bench-metrics "$WORK/wrangler-off.toml" "$WORK/bundle/index.js" "$STATE"; }
: >"$WORK/metrics-times.txt"
for _ in 1 2 3 4 5; do
  curl -s -o "$WORK/metrics.json" -w '%{time_total}\n' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$PORT/admin/metrics?since=0" >>"$WORK/metrics-times.txt"
done
serve_stop
jq -c '.variants[] | {variant, impressions, clicks, ctr}' "$WORK/metrics.json"

python3 - "$WORK/wrk.jsonl" "$WORK/metrics-times.txt" "$WORK/metrics.json" "$EVENTS" "$IMPRESSIONS_N" "$DURATION" \
  "$load_before" "$(cut -d" " -f1-3 /proc/loadavg)" "$(nproc)" >"$ROOT/docs/bench/experiment.md" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
times = [float(x) * 1000 for x in open(sys.argv[2]).read().split()]
metrics = json.load(open(sys.argv[3]))
events, shown, duration, before, after, cores = sys.argv[4:10]
rps = {m: [r["wrk"]["rps"] for r in runs if r["impressions"] == m] for m in ("on", "off")}
p50 = {m: [r["wrk"]["p50_ms"] for r in runs if r["impressions"] == m] for m in ("on", "off")}
errors = sum(r["wrk"]["socket_errors"] + r["wrk"]["non_2xx"] for r in runs)
on, off = statistics.median(rps["on"]), statistics.median(rps["off"])
print(f"`bench/experiment.sh` (wrangler dev on loopback, {cores} cores, load average {before} before and {after} after; the core's fixture model, D1 and a local Queue).\n")
print("| what | measured |\n| --- | ---: |")
print(f"| `POST /recommend` (one known user, top 10), wrk 2 threads, 8 connections, {len(rps['on'])} rounds of {duration} each way, alternating: requests/s with impressions counted / not counted | {', '.join(f'{x:.0f}' for x in rps['on'])} / {', '.join(f'{x:.0f}' for x in rps['off'])} |")
print(f"| median throughput with counting ÷ without (target ≥ 0.90) | **{on / off:.2f}** |")
print(f"| p50 latency with / without (median of rounds) | {statistics.median(p50['on']):.2f} / {statistics.median(p50['off']):.2f} ms |")
print(f"| socket errors and non-2xx answers, all runs | {errors} |")
print(f"| `GET /admin/metrics` over {int(events):,} stored events and {int(shown):,} answers: 5 requests (target ≤ 1 s) | {', '.join(f'{t:.0f}' for t in times)} ms |")
rows = ", ".join(f"{v['variant']} {v['impressions']:,} impressions, {v['clicks']:,} clicks" for v in metrics["variants"])
print(f"\nThe metrics answered: {rows}. The events and answers were written straight into the local D1 database's SQLite file, as if the Worker had stored them.")
PY
cat "$ROOT/docs/bench/experiment.md"
