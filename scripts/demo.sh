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

# The live loop: the admin token (a secret; locally in worker/.dev.vars, made once) and the
# D1 event table in the demo's local state.
STATE="$ROOT/target/wrangler-demo"
touch worker/.dev.vars
if ! grep -q '^ADMIN_TOKEN=' worker/.dev.vars; then
  printf 'ADMIN_TOKEN=demo-%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >>worker/.dev.vars
fi
ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' worker/.dev.vars | tail -1)
log "D1 migrations (local)"
(cd worker && CI=1 "$ROOT/node_modules/.bin/wrangler" d1 migrations apply DB --local --persist-to "$STATE" >/dev/null)
TRAINER="${CARGO_TARGET_DIR:-$ROOT/target}/release/trainer"

cat <<TXT

EdgeRec is starting at http://127.0.0.1:$PORT  (Ctrl-C stops it)
  demo page      http://127.0.0.1:$PORT/
  API explorer   http://127.0.0.1:$PORT/docs  (Swagger UI on /openapi.json, try it out)
Try:
  curl http://127.0.0.1:$PORT/health
  curl -X POST http://127.0.0.1:$PORT/recommend -H 'Content-Type: application/json' -d '{"user_id": "U10001", "top_n": 5}'
  curl 'http://127.0.0.1:$PORT/recommend/U10001?n=5'
  curl -X POST http://127.0.0.1:$PORT/recommend -H 'Content-Type: application/json' \\
       -d '{"interactions": [{"item_id": "TECH1005", "rating": 5}, {"item_id": "TECH1011", "rating": 4}], "top_n": 5}'
  curl 'http://127.0.0.1:$PORT/users?limit=5'

The live loop: events in at the edge, a new model out, swapped in without a redeploy
(ADMIN_TOKEN is in worker/.dev.vars; ingest needs DATABASE_URL, e.g. the MySQL this demo read):
  curl -X POST http://127.0.0.1:$PORT/events -H 'Content-Type: application/json' \\
       -d '{"events": [{"user_id": "NEW1", "item_id": "TECH1005", "behavior": "purchase"}]}'
  $TRAINER ingest --from http://127.0.0.1:$PORT --token $ADMIN_TOKEN --database-url "\$DATABASE_URL"
  $TRAINER train --database-url "\$DATABASE_URL" --out target/demo/next.safetensors
  $TRAINER publish --to http://127.0.0.1:$PORT --token $ADMIN_TOKEN --model target/demo/next.safetensors
  $TRAINER publish --to http://127.0.0.1:$PORT --token $ADMIN_TOKEN --rollback

TXT
cd worker
export EDGEREC_PREBUILT=1 CI=1
exec "$ROOT/node_modules/.bin/wrangler" dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE"
