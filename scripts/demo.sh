#!/usr/bin/env bash
# EdgeRec's demo: generates demo data, trains the model, builds the browser wasm and the Worker,
# and serves the API and the demo page at http://127.0.0.1:8787 in workerd (`wrangler dev`).
# Set DATABASE_URL=mysql://user:pass@host:3306/db to go through MySQL instead of a file.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
PORT=${PORT:-8787}

log "demo data and model"
scripts/demo-model.sh
log "browser package (wasm)"
wasm/build.sh
log "Worker bundle with the demo model"
(cd worker && EDGEREC_MODEL="$ROOT/web/models/demo.safetensors" worker-build --release >/dev/null)

cat <<TXT

EdgeRec is starting at http://127.0.0.1:$PORT  (Ctrl-C stops it)
  demo page      http://127.0.0.1:$PORT/
  API docs       http://127.0.0.1:$PORT/docs
Try:
  curl http://127.0.0.1:$PORT/health
  curl -X POST http://127.0.0.1:$PORT/recommend -H 'Content-Type: application/json' -d '{"user_id": "U10001", "top_n": 5}'
  curl 'http://127.0.0.1:$PORT/recommend/U10001?n=5'
  curl -X POST http://127.0.0.1:$PORT/recommend -H 'Content-Type: application/json' \\
       -d '{"interactions": [{"item_id": "TECH1005", "rating": 5}, {"item_id": "TECH1011", "rating": 4}], "top_n": 5}'
  curl 'http://127.0.0.1:$PORT/users?limit=5'

TXT
cd worker
export EDGEREC_PREBUILT=1 CI=1
exec "$ROOT/node_modules/.bin/wrangler" dev --ip 127.0.0.1 --port "$PORT" --persist-to "$ROOT/target/wrangler-demo"
