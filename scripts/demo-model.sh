#!/usr/bin/env bash
# Generates the demo behaviour data and trains the demo model into web/models/demo.safetensors
# (the model the Worker bundles and the web page loads).
#
# Data goes to target/demo/interactions.csv, or into MySQL when DATABASE_URL is set (training
# then reads it back from MySQL). TRAINER_PROFILE=release|dev picks the build (default release).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
profile=${TRAINER_PROFILE:-release}
if [ "$profile" = dev ]; then
  # The test suite's debug build, shared with its other stages.
  source tests/bins.sh
  debug_bins
  bin="$BIN/trainer"
else
  cargo build -q --locked -p edgerec-trainer --profile "$profile"
  bin="${CARGO_TARGET_DIR:-$ROOT/target}/$profile/trainer"
fi
mkdir -p target/demo web/models
if [ -n "${DATABASE_URL:-}" ]; then
  "$bin" generate --if-exists replace
  source_args=()
else
  "$bin" generate --out target/demo/interactions.csv
  source_args=(--data target/demo/interactions.csv)
fi
"$bin" train "${source_args[@]}" --out web/models/demo.safetensors
"$bin" analyze --model web/models/demo.safetensors --out target/demo/analysis.json
