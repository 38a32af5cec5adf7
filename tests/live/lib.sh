#!/usr/bin/env bash
# Helpers of the live-loop scripts (tests/live/run.sh and bench.sh): source after
# tests/worker/serve.sh, with ROOT, WORK, TRAINER, DB and TABLES set (URL once serving).

ADMIN_TOKEN=${ADMIN_TOKEN:-live-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}

# check DESCRIPTION COMMAND...: runs the command; fails the script with the description if it fails.
check() {
  local what=$1
  shift
  if "$@" >/dev/null; then
    printf '  \033[32mok\033[0m %s\n' "$what" >&2
  else
    printf '  \033[31mFAILED\033[0m %s\n' "$what" >&2
    exit 1
  fi
}

# bundle_with MODEL: the Worker, built with MODEL bundled, into $WORK/bundle.
bundle_with() {
  (cd "$ROOT/worker" && EDGEREC_MODEL="$1" worker-build --release --out-dir "$WORK/bundle" >"$WORK/build.log" 2>&1) \
    || { tail -40 "$WORK/build.log" >&2; return 1; }
}

# live_config REFRESH_SECONDS: $WORK/wrangler.toml (the Worker's own config with absolute paths,
# the pointer re-read every REFRESH_SECONDS), $WORK/.dev.vars with ADMIN_TOKEN, and the D1
# migrations applied to the local state in $WORK/state.
live_config() {
  sed -e "s|^main = .*|main = \"$WORK/bundle/index.js\"|" \
    -e "s|^directory = \"../web\"|directory = \"$ROOT/web\"|" \
    -e "s|^migrations_dir = .*|migrations_dir = \"$ROOT/worker/migrations\"|" \
    -e "s|^MODEL_REFRESH_SECONDS = .*|MODEL_REFRESH_SECONDS = \"$1\"|" \
    -e "s|^AVAILABILITY_REFRESH_SECONDS = .*|AVAILABILITY_REFRESH_SECONDS = \"$1\"|" \
    "$ROOT/worker/wrangler.toml" >"$WORK/wrangler.toml"
  grep -q "^MODEL_REFRESH_SECONDS = \"$1\"" "$WORK/wrangler.toml" || { echo "wrangler.toml has no MODEL_REFRESH_SECONDS" >&2; return 1; }
  grep -q "^AVAILABILITY_REFRESH_SECONDS = \"$1\"" "$WORK/wrangler.toml" || { echo "wrangler.toml has no AVAILABILITY_REFRESH_SECONDS" >&2; return 1; }
  printf 'ADMIN_TOKEN=%s\n' "$ADMIN_TOKEN" >"$WORK/.dev.vars"
  "$ROOT/node_modules/.bin/wrangler" d1 migrations apply DB --local --persist-to "$WORK/state" \
    -c "$WORK/wrangler.toml" >"$WORK/migrations.log" 2>&1 || { cat "$WORK/migrations.log" >&2; return 1; }
}

# sql STATEMENTS: runs them on $DB (mysql://user:password@host:port/database) with the mariadb
# client.
sql() {
  [[ "$DB" =~ ^mysql://([^:@]+):([^@]*)@([^:/]+):([0-9]+)/([^?]+)$ ]] || { echo "cannot parse $DB" >&2; return 1; }
  MYSQL_PWD="${BASH_REMATCH[2]}" mariadb -u"${BASH_REMATCH[1]}" -h"${BASH_REMATCH[3]}" -P"${BASH_REMATCH[4]}" \
    "${BASH_REMATCH[5]}" -N -e "$1"
}

# wait_availability VERSION: until /health shows the availability state VERSION in use.
wait_availability() {
  local deadline=$(( $(date +%s) + ${REFRESH:-30} + 10 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    [ "$(curl -s "$URL/health" | jq .availability.version)" = "$1" ] && return 0
    sleep 0.2
  done
  echo "  FAILED: /health does not show availability version $1" >&2
  exit 1
}

# publish ARGS...: `trainer publish` against the served Worker; prints its JSON answer.
publish() {
  "$TRAINER" publish --to "$URL" --token "$ADMIN_TOKEN" --json "$@"
}

# ingest: `trainer ingest` from the served Worker into $DB; prints its JSON summary.
ingest() {
  "$TRAINER" ingest --from "$URL" --token "$ADMIN_TOKEN" --database-url "$DB" --table "${TABLES[1]}" --json "$@"
}

# recommend_path USER: the GET route of USER's list (the ID URL-encoded).
recommend_path() {
  printf '/recommend/%s?n=10' "$(jq -rn --arg u "$1" '$u | @uri')"
}

# wait_version VERSION PATH: until GET PATH answers from VERSION (X-Model-Version); fails after
# the refresh interval plus 10 s. Prints how long it took.
wait_version() {
  local want=$1 path=$2 started got=""
  started=$(date +%s.%N)
  local deadline=$(( $(date +%s) + ${REFRESH:-30} + 10 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    got=$(curl -s -o /dev/null -D - "$URL$path" | tr -d '\r' | sed -n 's/^x-model-version: //Ip')
    if [ "$got" = "$want" ]; then
      awk -v s="$started" -v e="$(date +%s.%N)" -v p="$path" -v w="$want" \
        'BEGIN { printf "  \033[32mok\033[0m %s serves %s after %.1f s\n", p, w, e - s }' >&2
      return 0
    fi
    sleep 0.2
  done
  echo "  FAILED: $path still serves '$got', not $want, after the refresh interval" >&2
  exit 1
}

# expect_json PATH JQ_FILTER: GET PATH answers 200 and the filter holds for its body.
expect_json() {
  local body
  body=$(curl -sf "$URL$1") || { echo "  FAILED: GET $1" >&2; exit 1; }
  check "GET $1: $2" jq -e "$2" <<<"$body"
}

# admin_events USER: how many stored events /admin/events holds for USER.
admin_events() {
  curl -sf "$URL/admin/events?limit=5000" -H "authorization: Bearer $ADMIN_TOKEN" \
    | jq -s --arg u "$1" '[.[] | select(.user_id == $u)] | length'
}

# wait_stored USER COUNT: the queue consumer has stored exactly COUNT events of USER in D1 (and,
# a few seconds later, still exactly COUNT: redelivered or repeated events are stored once).
wait_stored() {
  local n=0 deadline=$(( $(date +%s) + 20 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    n=$(admin_events "$1")
    [ "$n" -ge "$2" ] && break
    sleep 0.3
  done
  check "the queue stored $2 events of $1 in D1 (found $n)" test "$n" = "$2"
  sleep 3
  n=$(admin_events "$1")
  check "and no duplicates after the second batch (found $n)" test "$n" = "$2"
}

# wait_unknown USER: until GET /recommend/USER answers the popular fallback (the user is served
# as unknown); fails after the refresh interval plus 10 s. Prints the milliseconds it took since
# $1's start time in $2 (Unix seconds with a fraction), e.g. the DELETE's.
wait_unknown() {
  local deadline=$(( $(date +%s) + ${REFRESH:-30} + 10 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    if [ "$(curl -s "$URL$(recommend_path "$1")" | jq -r .fallback)" = popular ]; then
      awk -v s="$2" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f\n", (e - s) * 1000 }'
      return 0
    fi
    sleep 0.02
  done
  echo "  FAILED: $1 is not served as unknown within the refresh interval" >&2
  exit 1
}

# d1_sql SQL ARGS...: rows of SQL on the local D1 database (SQLite, python3), as JSON.
d1_sql() {
  local db
  db=$(find "$WORK/state/v3/d1" -name '*.sqlite' ! -name metadata.sqlite | head -1)
  python3 -c 'import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=10)
with con:
    print(json.dumps(con.execute(sys.argv[2], sys.argv[3:]).fetchall()))' "$db" "$@"
}
