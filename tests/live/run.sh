#!/usr/bin/env bash
# The live loop, end to end, against real components: MariaDB, and the Worker in
# workerd (`wrangler dev`) with local Queues, D1 and R2.
#
#  1. generates a shop into MariaDB, trains model A, serves the Worker (refresh every 2 s) and
#     publishes A: every answer carries A's version within the refresh interval;
#  2. posts events for a user the model has never seen (plus the same batch again: stored once);
#  3. `trainer ingest` pulls them into MariaDB (a second run finds nothing new), `trainer train`
#     makes model B, `trainer publish` serves it: the new user is now known;
#  4. deletes that user (DELETE /admin/users/{id}) and, straight in D1, a generated one: both are
#     served as unknown within the refresh interval (the times are printed), their events and
#     impressions leave D1; the user comes back with new events; `trainer ingest` erases the old
#     rows in MariaDB and keeps the new ones, `trainer train` makes model C (erased_through set,
#     the generated user nowhere in it), and C serves the returning user as known again;
#  5. `trainer items` pushes availability from a stock column of the shop's items table (twice:
#     the second push changes nothing), and a CSV puts one item back: the user's list leaves
#     out exactly the items out of stock, and is still 10 long;
#  6. runs wrk on /recommend through a rollback (C -> B): not one request fails or gets a 5xx,
#     and the rollback restores B's version; two more go back to A, then past the first publish,
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

log "delete $new_user: served as unknown, erased from D1, MariaDB and model C; a return starts anew"
auth=(-H "authorization: Bearer $ADMIN_TOKEN")
step_started=$(date +%s.%N)
started=$step_started
headers=$(curl -s -o /dev/null -D - -X DELETE "$URL/admin/users/$new_user" "${auth[@]}" | tr -d '\r')
check "DELETE /admin/users/$new_user answers 204" grep -q '^HTTP/[0-9.]* 204' <<<"$headers"
told_ms=$(wait_unknown "$new_user" "$started")
printf '  \033[32mok\033[0m DELETE -> served as unknown: %s ms (the isolate that took the DELETE)\n' "$told_ms" >&2
seq=$(sed -n 's/^x-deletion-seq: //Ip' <<<"$headers")
deleted_at=$(jq -r '.[0][0]' <<<"$(d1_sql "SELECT deleted_at FROM deleted_users WHERE seq = ?" "$seq")")
check "D1 holds none of their events" test "$(admin_events "$new_user")" = 0
check "nor their impressions served before the deletion" test "$(d1_sql "SELECT COUNT(*) FROM impressions WHERE user_id = ? AND served_at <= ?" "$new_user" "$deleted_at")" = '[[0]]'
unknown=$(curl -sf "$URL$(recommend_path NO-SUCH-USER)" | jq -c '[.recommendations[].item_id]')
expect_json "$(recommend_path "$new_user")" ".fallback == \"popular\" and [.recommendations[].item_id] == $unknown"
expect_json "/users?limit=1000" "(.user_ids | index(\"$new_user\")) == null"
# An isolate that was not told: a deletion written straight into D1's SQLite file is seen only by
# the Worker's own check (at most every $REFRESH s).
victim=$(curl -sf "$URL/users?limit=5" | jq -r '.user_ids[4]')
victim_rows=$(sql "SELECT COUNT(*) FROM live_interactions WHERE user_id = '$victim'")
expect_json "$(recommend_path "$victim")" '.fallback == null'
started=$(date +%s.%N)
d1_sql "INSERT INTO deleted_users (user_id, deleted_at) VALUES (?, ?)" "$victim" "$(date +%s%3N)" >/dev/null
untold_ms=$(wait_unknown "$victim" "$started")
printf '  \033[32mok\033[0m written straight into D1 -> served as unknown: %s ms (an isolate not told; refresh %s s)\n' "$untold_ms" "$REFRESH" >&2
victim_seq=$(jq -r '.[0][0]' <<<"$(d1_sql "SELECT seq FROM deleted_users WHERE user_id = ?" "$victim")")
sleep 1  # a return in the deletion's second would count as before it
back=$(jq -c '{events: [.events[:3][] | .event_id += "-back"]}' <<<"$batch")
check "the user comes back: 3 new events accepted" test "$(curl -sf -X POST "$URL/events" -H 'content-type: application/json' -d "$back" | jq .accepted)" = 3
wait_stored "$new_user" 3
erased=$(ingest)
check "ingest erases both users' old rows, keeps the 3 new ones: $erased" jq -e \
  ".deletions == 2 and .erased_rows == $((count + victim_rows)) and .inserted == 3 and .erasure_cursor == $victim_seq" <<<"$erased"
check "MariaDB holds the 3 new rows of $new_user" test "$(sql "SELECT COUNT(*) FROM live_interactions WHERE user_id = '$new_user'")" = 3
check "and none of $victim" test "$(sql "SELECT COUNT(*) FROM live_interactions WHERE user_id = '$victim'")" = 0
check "a second ingest applies nothing" jq -e '.deletions == 0 and .inserted == 0' <<<"$(ingest)"
train_to "$WORK/c.safetensors"
check "C was trained on what is left" grep -q "rows read: $(sql "SELECT COUNT(*) FROM live_interactions")," "$WORK/train.log"
check "C records the deletions its data had seen (erased_through $victim_seq)" jq -e ".erased_through == $victim_seq" <<<"$("$TRAINER" inspect "$WORK/c.safetensors" --json)"
check "$victim appears nowhere in C" bash -c "! grep -qF '$victim' '$WORK/c.safetensors'"
version_c=$(publish --model "$WORK/c.safetensors" | jq -r .answer.version)
wait_version "$version_c" "$(recommend_path "$new_user")"
expect_json "$(recommend_path "$new_user")" '.fallback == null'
expect_json "$(recommend_path "$victim")" '.fallback == "popular"'
awk -v s="$step_started" -v e="$(date +%s.%N)" 'BEGIN { printf "  the deletion step took %.1f s\n", e - s }' >&2

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

log "wrk on POST /recommend through a rollback (C -> B)"
WRK_BODY='{"user_id": "U10001", "top_n": 10}' wrk -t2 -c8 -d8s --latency -s tests/worker/wrk.lua \
  "$URL/recommend" >"$WORK/wrk.txt" &
wrk_pid=$!
sleep 2
rolled=$(publish --rollback)
check "the rollback points back at B: $rolled" jq -e --arg v "$version_b" '.pointer.current.version == $v' <<<"$rolled"
wait_version "$version_b" "$(recommend_path U10001)"
wait "$wrk_pid"
cat "$WORK/wrk.txt"
check "wrk made requests" grep -qE '^ +[0-9]+ requests in' "$WORK/wrk.txt"
check "no request failed or got a non-2xx answer" bash -c "! grep -qE 'Non-2xx|Socket errors' '$WORK/wrk.txt'"
rolled=$(publish --rollback)
check "a second rollback points back at A: $rolled" jq -e --arg v "$version_a" '.pointer.current.version == $v' <<<"$rolled"
log "a third rollback goes back past the first publish, to the bundled model"
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
