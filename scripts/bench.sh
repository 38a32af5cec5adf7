#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md: EdgeRec against its peers (Surprise, implicit, the seed's
# claims, a plain-Rust SGD loop), all measured in one run on this machine. Not part of CI.
# BENCH_QUICK=1 skips the 20M-row workload; BENCH_ALL=1 also reruns the data, web and Worker
# benchmark scripts (their reports are included either way).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
VENV="$ROOT/target/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import surprise, implicit, pyarrow, pandas' 2>/dev/null; then
  log "benchmark virtualenv: scikit-surprise, implicit, pyarrow, pandas"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check scikit-surprise==1.1.5 implicit==0.7.3 pyarrow pandas numpy scipy
fi
cargo build --release --locked -p edgerec-trainer --bin trainer --example sgd_limit
if [ "${BENCH_ALL:-0}" = 1 ]; then
  tests/mysql/bench.sh
  tests/web/bench.sh
  tests/worker/bench.sh
fi
"$VENV/bin/python" bench/run.py
