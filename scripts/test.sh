#!/usr/bin/env bash
# EdgeRec's whole test suite: the README's test command and what CI runs.
# Installs what it needs (scripts/setup.sh), then runs every stage; stops at the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

# stage NAME CMD...: runs CMD under a heading, and prints how long each finished stage took, so
# the suite's time (CI allows 90 minutes; aim for under 40 on 2 cores) shows where it goes.
stage_started=""
stage() {
  [ -z "$stage_started" ] || log "  ($(( $(date +%s) - stage_started )) s)"
  stage_started=$(date +%s)
  log "$1"
  shift
  "$@"
}
started=$(date +%s)

stage "format" cargo fmt --all --check
stage "clippy (native)" cargo clippy --workspace --all-targets --locked -- -D warnings
stage "clippy (wasm32)" cargo clippy -p edgerec-core -p edgerec-wasm -p edgerec-worker --target wasm32-unknown-unknown --locked -- -D warnings
stage "docs (rustdoc, warnings denied)" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
stage "core builds for wasm32" cargo build -p edgerec-core --target wasm32-unknown-unknown --locked

# A throwaway MariaDB for the trainer's integration tests, stopped on exit.
source tests/mariadb.sh
mariadb_start
trap mariadb_stop EXIT

stage "cargo test (MariaDB tests included)" cargo test --workspace --locked -- --include-ignored
stage "python interop" .venv/bin/python tests/python/interop.py

stage "MovieLens-100k regression (leave-last-out HR@10 >= 0.12, NDCG@10 >= 0.055; 5-fold RMSE <= 0.93)" tests/movielens/run.sh
# The demo model, trained from generated data: the web and Worker stages test against it.
stage "demo model (generate + train)" env TRAINER_PROFILE=dev scripts/demo-model.sh
stage "web: wasm bindings, parity, chromium e2e" tests/web/run.sh
stage "worker e2e (workerd)" tests/worker/run.sh
stage "live loop e2e (MariaDB, workerd: events -> ingest -> train -> publish -> hot swap)" tests/live/run.sh
log "  ($(( $(date +%s) - stage_started )) s)"
log "all stages passed in $(( $(date +%s) - started )) s"
