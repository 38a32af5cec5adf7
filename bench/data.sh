#!/usr/bin/env bash
# Data-layer benchmarks (not tests): generate-and-load into MariaDB and stream-read back, for
# 50k and 1M rows, plus the same through a CSV file. Starts its own throwaway MariaDB (its own
# MARIADB_DIR, so the test server is untouched), builds the trainer with --release and times each
# command with /usr/bin/time -v. Prints a Markdown table; raw `time -v` output stays in $OUT.
#
#   bench/data.sh            # 50k and 1M rows
#   SIZES="50000 1000000 20000000:file" bench/data.sh   # `:file` = CSV only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/target/bench-data}
SIZES=${SIZES:-"50000 1000000"}
mkdir -p "$OUT"

cargo build --release --locked -p edgerec-trainer --bin trainer >&2
TRAINER=${CARGO_TARGET_DIR:-$ROOT/target}/release/trainer

export MARIADB_DIR="$ROOT/target/mariadb-bench"
source tests/mariadb.sh
trap mariadb_stop EXIT  # before the start: a failed start must not leave mariadbd running
mariadb_start
URL=$EDGEREC_TEST_DATABASE_URL

# Runs a command under /usr/bin/time -v and prints a table row; stops the script if it fails.
measure() {
  local name=$1 step=$2 n=$3; shift 3
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ! /usr/bin/time -v "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.time"; then
    echo "FAILED: $*" >&2; tail -5 "$OUT/$name.time" >&2; exit 1
  fi
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/$name.time" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/$name.time")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$step" "$n" "$wall" \
    "$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')" "$rss" "$load"
}

echo "| step | rows | wall s | rows/s | max RSS MiB | load avg before |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for spec in $SIZES; do
  n=${spec%%:*}
  users=$(( n / 50 > 1000 ? n / 50 : 1000 ))
  items=$(( n / 330 > 600 ? n / 330 : 600 ))
  sizes=(--users "$users" --items "$items" --interactions "$n")
  if [[ $spec != *:file ]]; then
    measure "generate-mysql-$n" "generate → MariaDB (LOAD DATA, indexes, swap)" "$n" \
      "$TRAINER" generate --database-url "$URL" --table "bench_$n" --items-table "bench_items_$n" \
      --if-exists replace "${sizes[@]}"
    measure "read-mysql-$n" "stream-read MariaDB → Dataset" "$n" \
      "$TRAINER" data-report --database-url "$URL" --table "bench_$n" --items-table "bench_items_$n"
  fi
  measure "generate-file-$n" "generate → CSV file" "$n" \
    "$TRAINER" generate --out "$OUT/demo-$n.csv" "${sizes[@]}"
  measure "read-file-$n" "read CSV file → Dataset" "$n" "$TRAINER" data-report --data "$OUT/demo-$n.csv"
  rm -f "$OUT/demo-$n.csv"
done
echo >&2 "raw /usr/bin/time -v output: $OUT"
