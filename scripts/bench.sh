#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md: EdgeRec against its peers (Surprise, implicit, the seed's
# claims, a plain-Rust SGD loop, a PyTorch SASRec), all measured in one run on this machine.
# Not part of CI.
# BENCH_QUICK=1 skips the 20M-row workload and shrinks the scale section (1M items → 200k);
# BENCH_SCALE=0 and BENCH_SHOP=0 skip the scale and shop-training sections (their last reports
# are included either way); BENCH_ALL=1
# also reruns the benchmark scripts bench/*.sh (data, web, Worker, live loop, Worker at scale,
# availability, experiment, erasure; their reports are included either way). Every entry point
# and what it writes: bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
VENV="$ROOT/target/bench-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import surprise, implicit, pyarrow, pandas, faiss, safetensors' 2>/dev/null; then
  log "benchmark virtualenv: scikit-surprise, implicit, pyarrow, pandas, faiss-cpu, safetensors"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check scikit-surprise==1.1.5 implicit==0.7.3 pyarrow pandas numpy scipy \
    faiss-cpu==1.15.1 safetensors==0.8.0
fi
# The PyTorch SASRec peer (bench/sasrec_torch.py) has a virtualenv of its own: PyPI's Linux torch
# brings about 5 GiB of CUDA libraries, and no offline wheel is at hand. If it cannot be installed,
# bench/run.py reports the peer as not run (stderr and the table) and goes on.
TORCH_VENV="$ROOT/target/torch-venv"
if [ ! -x "$TORCH_VENV/bin/python" ] || ! "$TORCH_VENV/bin/python" -c 'import torch, numpy' 2>/dev/null; then
  log "PyTorch virtualenv for the SASRec peer: torch, numpy"
  python3 -m venv "$TORCH_VENV"
  "$TORCH_VENV/bin/pip" install --quiet --disable-pip-version-check torch==2.15.0 numpy \
    || log "torch did not install: the SASRec peer will be reported as not run"
fi
cargo build --release --locked -p edgerec-trainer --bin trainer --example sgd_limit --example als_fit
cargo build --release --locked -p edgerec-core --example rating_order
if [ "${BENCH_ALL:-0}" = 1 ]; then
  bench/data.sh
  bench/web.sh
  bench/worker.sh
  bench/live.sh
  bench/scale-worker.sh
  bench/availability.sh
  ITEMS=1000000 APPEND=1 bench/availability.sh
  bench/experiment.sh
  bench/erasure.sh
fi
if [ "${BENCH_SHOP:-1}" = 1 ]; then
  "$VENV/bin/python" bench/shop.py
fi
if [ "${BENCH_SCALE:-1}" = 1 ]; then
  wasm/build.sh
  "$VENV/bin/python" bench/scale/run.py
fi
"$VENV/bin/python" bench/run.py
