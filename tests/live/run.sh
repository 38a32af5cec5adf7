#!/usr/bin/env bash
# The live loop, end to end, against real components: MariaDB, and the Worker in
# workerd (`wrangler dev`) with local Queues, D1 and R2.
#
#  1. generates a shop into MariaDB, trains model A, serves the Worker (refresh every 2 s) and
#     publishes A: every answer carries A's version within the refresh interval;
#  2. posts events for a user the model has never seen (plus the same batch again: stored once);
#  3. `trainer ingest` pulls them into MariaDB (a second run finds nothing new), `trainer train`
#     makes model B, `trainer publish` serves it: the new user is now known;
#  4. `trainer items` pushes availability from a stock column of the shop's items table (twice:
#     the second push changes nothing), and a CSV puts one item back: the user's list leaves
#     out exactly the items out of stock, and is still 10 long;
#  5. runs wrk on /recommend through a rollback (B -> A): not one request fails or gets a 5xx,
#     and the rollback restores A's version; a second rollback goes past the first publish, back
#     to the bundled model.
#
# Uses $EDGEREC_TEST_DATABASE_URL when set (scripts/test.sh starts MariaDB), else starts its own.
# Idempotent; safe to rerun. Honours CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source tests/worker/env.sh
WORK="$ROOT/target/live-e2e"
REFRESH=2
source tests/worker/serve.sh
source tests/live/lib.sh
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }

rm -rf "$WORK/state"
mkdir -p "$WORK"
trap 'serve_stop; [ -n "${own_db:-}" ] && mariadb_stop' EXIT
trap 'exit 130' INT TERM

if [ -z "${EDGEREC_TEST_DATABASE_URL:-}" ]; then
  source tests/mariadb.sh
  own_db=1
  mariadb_start
fi
DB=$EDGEREC_TEST_DATABASE_URL
TABLES=(--table live_interactions --items-table live_items)

source tests/bins.sh
debug_bins
TRAINER="$BIN/trainer"

log "a shop in MariaDB, and model A trained from it"
"$TRAINER" generate --database-url "$DB" "${TABLES[@]}" --users 300 --items 120 --interactions 12000 \
  --if-exists replace >/dev/null
train_to() { "$TRAINER" train --database-url "$DB" "${TABLES[@]}" --out "$1" >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log" >&2; exit 1; }; }
train_to "$WORK/a.safetensors"

bundle_with "$WORK/a.safetensors"
live_config "$REFRESH"
serve_start live "$WORK/wrangler.toml" "$WORK/bundle/index.js" "$WORK/state"
URL="http://127.0.0.1:$PORT"

log "publish A"
version_a=$(publish --model "$WORK/a.safetensors" | jq -r .answer.version)
wait_version "$version_a" "$(recommend_path U10001)"

new_user="LIVE-NEW-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
log "events for $new_user, a user no model has seen"
expect_json "$(recommend_path "$new_user")" '.fallback == "popular"'
items=$(curl -sf "$URL$(recommend_path U10002)" | jq -c '[.recommendations[].item_id]')
batch=$(jq -c --arg u "$new_user" '{events: [to_entries[] | {user_id: $u, item_id: .value,
  behavior: (if .key % 3 == 0 then "purchase" else "click" end), event_id: "\($u)-\(.key)"}]}' <<<"$items")
count=$(jq '.events | length' <<<"$batch")
for _ in 1 2; do
  accepted=$(curl -sf -X POST "$URL/events" -H 'content-type: application/json' -d "$batch" | jq .accepted)
  check "202 accepted $count events" test "$accepted" = "$count"
done
wait_stored "$new_user" "$count"

log "trainer ingest, twice"
first=$(ingest)
check "ingest inserted the $count new events once: $first" jq -e ".inserted == $count" <<<"$first"
second=$(ingest)
check "a second ingest inserts nothing: $second" jq -e '.inserted == 0' <<<"$second"

log "model B, trained on the old rows plus the new events, published"
train_to "$WORK/b.safetensors"
check "B was trained on the ingested rows too" grep -q "rows read: $((12000 + count))," "$WORK/train.log"
version_b=$(publish --model "$WORK/b.safetensors" | jq -r .answer.version)
check "B differs from A" test "$version_b" != "$version_a"
wait_version "$version_b" "$(recommend_path "$new_user")"
expect_json "$(recommend_path "$new_user")" '.fallback == null and (.recommendations | length) == 10'

log "trainer items: stock from the items table, then a CSV"
off=$(curl -sf "$URL$(recommend_path U10001)" | jq -r '[.recommendations[:3][].item_id] | join(",")')
sql "ALTER TABLE live_items ADD COLUMN IF NOT EXISTS stock INT NOT NULL DEFAULT 5;
     UPDATE live_items SET stock = 5; UPDATE live_items SET stock = 0 WHERE FIND_IN_SET(item_id, '$off');"
push_stock() {
  "$TRAINER" items --to "$URL" --token "$ADMIN_TOKEN" --database-url "$DB" --table live_items --column stock --json
}
pushed=$(push_stock)
n_items=$(sql "SELECT COUNT(*) FROM live_items")
check "the first push stores all $n_items items: $pushed" jq -e ".items == $n_items and .changed == $n_items" <<<"$pushed"
again=$(push_stock)
check "a second push changes nothing: $again" jq -e --argjson v "$(jq .version <<<"$pushed")" '.changed == 0 and .version == $v' <<<"$again"
wait_availability "$(jq .version <<<"$pushed")"
expect_json "$(recommend_path U10001)" "(.recommendations | length) == 10 and ([.recommendations[].item_id] - (\"$off\" | split(\",\")) | length) == 10"
back=${off%%,*}
printf 'item_id,available\n%s,true\n' "$back" >"$WORK/items.csv"
csv=$("$TRAINER" items --to "$URL" --token "$ADMIN_TOKEN" --csv "$WORK/items.csv" --json)
check "the CSV puts $back back: $csv" jq -e '.changed == 1' <<<"$csv"
wait_availability "$(jq .version <<<"$csv")"
expect_json "$(recommend_path U10001)" "[.recommendations[].item_id] | index(\"$back\") != null"

log "wrk on POST /recommend through a rollback (B -> A)"
WRK_BODY='{"user_id": "U10001", "top_n": 10}' wrk -t2 -c8 -d8s --latency -s tests/worker/wrk.lua \
  "$URL/recommend" >"$WORK/wrk.txt" &
wrk_pid=$!
sleep 2
rolled=$(publish --rollback)
check "the rollback points back at A: $rolled" jq -e --arg v "$version_a" '.pointer.current.version == $v' <<<"$rolled"
wait_version "$version_a" "$(recommend_path U10001)"
wait "$wrk_pid"
cat "$WORK/wrk.txt"
check "wrk made requests" grep -qE '^ +[0-9]+ requests in' "$WORK/wrk.txt"
check "no request failed or got a non-2xx answer" bash -c "! grep -qE 'Non-2xx|Socket errors' '$WORK/wrk.txt'"
log "a second rollback goes back past the first publish, to the bundled model"
rolled=$(publish --rollback)
check "the pointer is empty again: $rolled" jq -e '.pointer == {current: null, history: [], canary: null}' <<<"$rolled"
wait_source() {
  local deadline=$(( $(date +%s) + REFRESH + 10 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    [ "$(curl -s "$URL/health" | jq -r .models.current.source)" = "$1" ] && return 0
    sleep 0.2
  done
  return 1
}
check "the bundled model serves again" wait_source bundled
log "the live loop works end to end"
