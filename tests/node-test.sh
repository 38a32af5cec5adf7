#!/usr/bin/env bash
# node-test ARGS...: `node --test ARGS...`, failing when no test ran (a wrong mode or a skip
# condition that is always true would otherwise pass). Output as usual (spec reporter); the TAP
# summary goes to a temporary file and is checked.
set -euo pipefail
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "$@"
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
if [ "${passed:-0}" -eq 0 ]; then
  echo "node --test $*: no test ran (EDGEREC_MODE=${EDGEREC_MODE:-unset}); failing instead of passing" >&2
  exit 1
fi
