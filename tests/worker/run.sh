#!/usr/bin/env bash
# End-to-end tests of the Worker in the real runtime (workerd via `wrangler dev`), offline.
#
# 1. builds the Worker with worker-build, each bundle into its own folder under
#    target/worker-e2e/: with a corrupt model, the fixture model, no model, and (for the size
#    check) the demo's model;
# 2. for each mode starts `wrangler dev` on a free loopback port (setsid; its process group is
#    killed on exit) and runs `node --test tests/worker/` with EDGEREC_MODE set:
#    corrupt, open (every endpoint, the seed's examples, the bad-request table), keyed (API key
#    and an origin list in worker/.dev.vars), missing, r2 (the model in a local R2 bucket),
#    live (the event path: POST /events -> local Queue -> D1 -> GET /admin/events, with the D1
#    migrations applied to a fresh state and an ADMIN_TOKEN in worker/.dev.vars), models (the
#    model lifecycle: uploads, pointer, canary, promote, rollback, hot swap, with an ADMIN_TOKEN
#    and MODEL_REFRESH_SECONDS=2), r2key (rollback after a first publish returns to the model
#    MODEL_R2_KEY names in a local R2 bucket, not to the bundled one), catalogue (item availability, traced answers and attributed
#    events: the fixture bundled, the D1 migrations applied, a local Queue, an ADMIN_TOKEN and
#    AVAILABILITY_REFRESH_SECONDS=1), experiment (a canary experiment measured online: the fixture
#    bundled, a second fixture as a 50 % canary through local R2, D1, a local Queue) and scale (a SCALE_ITEMS-item int8 model with an IVF index
#    from local R2, its users in local KV; see docs/SCALE.md);
# 3. builds the deployable bundle with `wrangler deploy --dry-run --outdir` and prints its size;
#    with the demo's trained model (scripts/demo-model.sh) in it, serves it and runs the seed's
#    client tests against it (mode demo).
#
# EDGEREC_E2E_MODES picks the steps, e.g. "open live" (default: all of
# "corrupt open keyed missing r2 live catalogue experiment models r2key scale deploy"); only the
# bundles they need are built. An unknown mode name is an error, not a run of nothing.
#
# Idempotent; safe to rerun. Honours CARGO_TARGET_DIR. Sources scripts/setup.sh when run alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source tests/worker/env.sh

WORK="$ROOT/target/worker-e2e"
WORKER="$ROOT/worker"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
PROFILE_ARGS=(--release)
ALL_MODES="corrupt open keyed missing r2 live catalogue experiment models r2key scale deploy"
MODES=" ${EDGEREC_E2E_MODES:-$ALL_MODES} "
# A mode name this script does not know would run nothing and pass: refuse it, and an empty list.
for mode in $MODES; do
  [[ " $ALL_MODES " == *" $mode "* ]] || { echo "EDGEREC_E2E_MODES: unknown mode '$mode' (modes: $ALL_MODES)" >&2; exit 2; }
done
[ -n "${MODES// /}" ] || { echo "EDGEREC_E2E_MODES is empty: no mode would run (modes: $ALL_MODES)" >&2; exit 2; }
mkdir -p "$WORK"
want() { [[ "$MODES" == *" $1 "* ]]; }
log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
source tests/worker/serve.sh

devvars_backup=""
cleanup() {
  stop_server
  rm -f "$WORKER/.dev.vars" "$WORK/.dev.vars"
  if [ -n "$devvars_backup" ]; then mv "$devvars_backup" "$WORKER/.dev.vars"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# build NAME MODEL: worker-build with MODEL bundled, into $WORK/bundle-NAME.
build() {
  local name=$1 model=$2
  log "worker-build ${PROFILE_ARGS[*]} with $(basename "$model") -> target/worker-e2e/bundle-$name"
  (cd "$WORKER" && EDGEREC_MODEL="$model" worker-build "${PROFILE_ARGS[@]}" --out-dir "$WORK/bundle-$name" >"$WORK/build-$name.log" 2>&1) \
    || { tail -40 "$WORK/build-$name.log"; return 1; }
}

# start_server NAME: wrangler dev on the bundle NAME (config $CONFIG, state $STATE); sets PORT.
start_server() {
  log "wrangler dev (bundle $1)"
  serve_start "$1" "${CONFIG:-$WORKER/wrangler.toml}" "$WORK/bundle-$1/index.js" "${STATE:-$WORK/state}"
}

stop_server() { serve_stop; }

run_tests() {
  local mode=$1
  log "node --test tests/worker/ (mode $mode)"
  EDGEREC_URL="http://127.0.0.1:$PORT" EDGEREC_MODE=$mode tests/node-test.sh tests/worker/
}

# Models: the core's deterministic fixture, a truncated copy of it, and the demo's model.
log "fixture model"
source tests/bins.sh
debug_bins
"$BIN/examples/fixture" "$WORK/fixture.safetensors" 1000 600 64 42
head -c 4096 "$WORK/fixture.safetensors" >"$WORK/corrupt.safetensors"

if [ -f "$WORKER/.dev.vars" ]; then
  devvars_backup="$WORK/dev.vars.backup"
  mv "$WORKER/.dev.vars" "$devvars_backup"
fi

# Corrupt first, so the crate ends up built with the good model.
if want corrupt; then
  build corrupt "$WORK/corrupt.safetensors"
  start_server corrupt
  run_tests corrupt
  stop_server
fi

if want open || want keyed || want catalogue || want experiment || want models || want r2key || { want deploy && [ ! -f "$ROOT/web/models/demo.safetensors" ]; }; then
  build fixture "$WORK/fixture.safetensors"
fi
if want open; then
  start_server fixture
  run_tests open
  stop_server
fi

if want keyed; then
  api_key="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  allowed_origin="https://allowed.example"
  printf 'API_KEY=%s\nALLOWED_ORIGINS=%s, https://other.example\n' "$api_key" "$allowed_origin" >"$WORKER/.dev.vars"
  start_server fixture
  EDGEREC_API_KEY=$api_key EDGEREC_ALLOWED_ORIGIN=$allowed_origin run_tests keyed
  stop_server
  rm -f "$WORKER/.dev.vars"
fi

# No bundled model (an empty file counts as missing): /health says so; then the same bundle
# with the model in a local R2 bucket, through a config that binds it.
if want missing || want r2 || want live || want scale; then
  build empty /dev/null
fi
if want missing; then
  start_server empty
  run_tests missing
  stop_server
fi

# The event path, on the bundle without a model (events never need one): a fresh local state,
# the D1 migrations applied to it, and an admin token.
if want live; then
  live_state="$WORK/state-live"
  rm -rf "$live_state"
  log "wrangler d1 migrations apply DB --local"
  (cd "$WORKER" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$live_state" -c "$WORKER/wrangler.toml" \
    >"$WORK/d1-migrations.log" 2>&1) || { cat "$WORK/d1-migrations.log"; exit 1; }
  admin_token="e2e-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORKER/.dev.vars"
  STATE=$live_state start_server empty
  EDGEREC_ADMIN_TOKEN=$admin_token run_tests live
  stop_server
  rm -f "$WORKER/.dev.vars"
fi

if want r2; then
r2_config="$WORK/wrangler-r2.toml"
cat >"$r2_config" <<TOML
name = "edgerec-e2e-r2"
main = "$WORK/bundle-empty/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
ALLOWED_ORIGINS = "*"
MODEL_R2_BINDING = "MODELS"
MODEL_R2_KEY = "fixture.safetensors"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-e2e"
TOML
log "wrangler r2 object put (local) edgerec-e2e/fixture.safetensors"
"$WRANGLER" r2 object put edgerec-e2e/fixture.safetensors --file "$WORK/fixture.safetensors" --local \
  --persist-to "$WORK/state" -c "$r2_config" >"$WORK/r2-put.log" 2>&1 || { cat "$WORK/r2-put.log"; exit 1; }
CONFIG=$r2_config start_server empty
run_tests r2
stop_server
fi

# Item availability: the fixture bundled, D1 with the migrations applied to a fresh state, an
# admin token, and a 1-second availability refresh.
if want catalogue; then
  catalogue_state="$WORK/state-catalogue"
  rm -rf "$catalogue_state"
  catalogue_config="$WORK/wrangler-catalogue.toml"
  cat >"$catalogue_config" <<TOML
name = "edgerec-e2e-catalogue"
main = "$WORK/bundle-fixture/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
ALLOWED_ORIGINS = "*"
MODEL_R2_BINDING = ""
AVAILABILITY_REFRESH_SECONDS = "1"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-e2e-catalogue"
database_id = "00000000-0000-4000-8000-000000000003"
migrations_dir = "$WORKER/migrations"

[[queues.producers]]
binding = "EVENTS"
queue = "edgerec-e2e-catalogue-events"

[[queues.consumers]]
queue = "edgerec-e2e-catalogue-events"
max_batch_size = 100
max_batch_timeout = 1
TOML
  log "wrangler d1 migrations apply DB --local (catalogue)"
  (cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$catalogue_state" -c "$catalogue_config" \
    >"$WORK/d1-migrations-catalogue.log" 2>&1) || { cat "$WORK/d1-migrations-catalogue.log"; exit 1; }
  admin_token="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORK/.dev.vars"
  CONFIG=$catalogue_config STATE=$catalogue_state start_server fixture
  catalogue_db=$(find "$catalogue_state/v3/d1" -name '*.sqlite' ! -name metadata.sqlite | head -1)
  EDGEREC_ADMIN_TOKEN=$admin_token EDGEREC_REFRESH=1 EDGEREC_D1_SQLITE=$catalogue_db run_tests catalogue
  stop_server
  rm -f "$WORK/.dev.vars"
fi

# A canary experiment: the fixture bundled, another fixture published as a 50 % canary through a
# local R2 bucket, and D1 with a local Queue for the impressions and the attributed events.
if want experiment; then
  exp_state="$WORK/state-experiment"
  rm -rf "$exp_state"
  "$BIN/examples/fixture" "$WORK/experiment-canary.safetensors" 1000 600 64 11
  exp_config="$WORK/wrangler-experiment.toml"
  cat >"$exp_config" <<TOML
name = "edgerec-e2e-experiment"
main = "$WORK/bundle-fixture/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
ALLOWED_ORIGINS = "*"
MODEL_R2_BINDING = "MODELS"
MODEL_REFRESH_SECONDS = "1"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-e2e-experiment"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-e2e-experiment"
database_id = "00000000-0000-4000-8000-000000000005"
migrations_dir = "$WORKER/migrations"

[[queues.producers]]
binding = "EVENTS"
queue = "edgerec-e2e-experiment-events"

[[queues.consumers]]
queue = "edgerec-e2e-experiment-events"
max_batch_size = 100
max_batch_timeout = 1
TOML
  log "wrangler d1 migrations apply DB --local (experiment)"
  (cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$exp_state" -c "$exp_config" \
    >"$WORK/d1-migrations-experiment.log" 2>&1) || { cat "$WORK/d1-migrations-experiment.log"; exit 1; }
  admin_token="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORK/.dev.vars"
  CONFIG=$exp_config STATE=$exp_state start_server fixture
  EDGEREC_ADMIN_TOKEN=$admin_token EDGEREC_CANARY_MODEL="$WORK/experiment-canary.safetensors" \
    EDGEREC_TRAINER="$BIN/trainer" EDGEREC_E2E_WORK="$WORK" run_tests experiment
  stop_server
  rm -f "$WORK/.dev.vars"
fi

# The model lifecycle: the fixture bundled, two more distinct fixtures to publish, a local R2
# bucket in its own state folder (emptied first), an ADMIN_TOKEN and a 2-second refresh.
if want models; then
  fixtures="$WORK/models-fixtures"
  mkdir -p "$fixtures"
  log "fixture models 2 and 3 (seeds 7 and 11; model 2, with 4,000 users, is a 2.3 MB upload)"
  "$BIN/examples/fixture" "$fixtures/model2.safetensors" 4000 600 64 7
  "$BIN/examples/fixture" "$fixtures/model3.safetensors" 1000 600 64 11
  cp "$WORK/fixture.safetensors" "$fixtures/bundled.safetensors"
  cp "$WORK/corrupt.safetensors" "$fixtures/corrupt.safetensors"
  models_state="$WORK/state-models"
  rm -rf "$models_state"
  models_config="$WORK/wrangler-models.toml"
  cat >"$models_config" <<TOML
name = "edgerec-e2e-models"
main = "$WORK/bundle-fixture/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
ALLOWED_ORIGINS = "*"
MODEL_R2_BINDING = "MODELS"
MODEL_REFRESH_SECONDS = "2"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-e2e-models"
TOML
  # r2-put.sh KEY FILE: puts an object into that bucket (also used by the test, while it runs).
  cat >"$WORK/r2-put.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
cd "$WORKER"
"$WRANGLER" r2 object put "edgerec-e2e-models/\$1" --file "\$2" --local --persist-to "$models_state" -c "$models_config" >"$WORK/r2-put-models.log" 2>&1 \
  || { cat "$WORK/r2-put-models.log" >&2; exit 1; }
SH
  chmod +x "$WORK/r2-put.sh"
  log "wrangler r2 object put (local) big/model3.safetensors, big/corrupt.safetensors"
  "$WORK/r2-put.sh" big/model3.safetensors "$fixtures/model3.safetensors"
  "$WORK/r2-put.sh" big/corrupt.safetensors "$fixtures/corrupt.safetensors"
  admin_token="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  # wrangler reads .dev.vars from the folder of the config it is given.
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORK/.dev.vars"
  CONFIG=$models_config STATE=$models_state start_server fixture
  EDGEREC_ADMIN_TOKEN=$admin_token EDGEREC_REFRESH=2 EDGEREC_FIXTURES=$fixtures EDGEREC_R2_PUT="$WORK/r2-put.sh" \
    run_tests models
  stop_server
  rm -f "$WORK/.dev.vars"
fi

# Rollback to MODEL_R2_KEY: the fixture bundled, but MODEL_R2_KEY names another fixture in a local
# R2 bucket (fresh state), so that is the deployment's own model; a third is published and rolled
# back. An ADMIN_TOKEN and a 2-second refresh, as in models.
if want r2key; then
  r2key_fixtures="$WORK/r2key-fixtures"
  mkdir -p "$r2key_fixtures"
  log "fixture models for r2key (seed 11 under MODEL_R2_KEY, seed 7 to publish)"
  "$BIN/examples/fixture" "$r2key_fixtures/r2key.safetensors" 1000 600 64 11
  "$BIN/examples/fixture" "$r2key_fixtures/published.safetensors" 1000 600 64 7
  cp "$WORK/fixture.safetensors" "$r2key_fixtures/bundled.safetensors"
  r2key_state="$WORK/state-r2key"
  rm -rf "$r2key_state"
  r2key_config="$WORK/wrangler-r2key.toml"
  cat >"$r2key_config" <<TOML
name = "edgerec-e2e-r2key"
main = "$WORK/bundle-fixture/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
ALLOWED_ORIGINS = "*"
MODEL_R2_BINDING = "MODELS"
MODEL_R2_KEY = "base/r2key.safetensors"
MODEL_REFRESH_SECONDS = "2"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-e2e-r2key"
TOML
  log "wrangler r2 object put (local) edgerec-e2e-r2key/base/r2key.safetensors"
  (cd "$WORK" && "$WRANGLER" r2 object put edgerec-e2e-r2key/base/r2key.safetensors --file "$r2key_fixtures/r2key.safetensors" \
    --local --persist-to "$r2key_state" -c "$r2key_config" >"$WORK/r2-put-r2key.log" 2>&1) || { cat "$WORK/r2-put-r2key.log"; exit 1; }
  admin_token="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORK/.dev.vars"
  CONFIG=$r2key_config STATE=$r2key_state start_server fixture
  EDGEREC_ADMIN_TOKEN=$admin_token EDGEREC_REFRESH=2 EDGEREC_FIXTURES=$r2key_fixtures \
    EDGEREC_R2_KEY=base/r2key.safetensors run_tests r2key
  stop_server
  rm -f "$WORK/.dev.vars"
fi

# A catalogue too big to bundle: SCALE_ITEMS items (default 500,000) at d = 64, int8,
# with an IVF index, served from local R2, its users moved to local KV (`trainer export-users`).
# Checks a cold start from R2, answers equal to the trainer's from the full artifact, memory, and
# that deleting a user (D1 and an ADMIN_TOKEN too) removes their KV record.
if want scale; then
  scale="$WORK/scale"
  items=${SCALE_ITEMS:-500000}
  mkdir -p "$scale"
  log "a $items-item model (d = 64, int8, IVF), its users moved out for KV"
  cargo run -q --release --locked -p edgerec-core --example scale_fixture -- "$scale/full.safetensors" "$items" 64 300 700 int8
  trainer="$BIN/trainer"
  "$trainer" export-users --model "$scale/full.safetensors" --artifact-out "$scale/items.safetensors" \
    --kv-out "$scale/users.kv.json" --json >"$scale/export.json"
  # The oracle: the trainer's answers from the full artifact (users inside), for 25 users.
  for u in $(seq 0 12 299); do
    user=$(printf 'u%07d' "$u")
    "$trainer" recommend --model "$scale/full.safetensors" --user "$user" --json \
      | jq -c --arg u "$user" '{user: $u, source, items: [.items[].item_id]}'
  done | jq -s . >"$scale/oracle.json"
  scale_state="$WORK/state-scale"
  rm -rf "$scale_state"
  scale_config="$WORK/wrangler-scale.toml"
  cat >"$scale_config" <<TOML
name = "edgerec-e2e-scale"
main = "$WORK/bundle-empty/index.js"
compatibility_date = "$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$WORKER/wrangler.toml")"

[vars]
MODEL_R2_BINDING = "MODELS"
MODEL_R2_KEY = "items.safetensors"
USERS_KV_BINDING = "USERS"
USERS_CACHE_ENTRIES = "100"

[[r2_buckets]]
binding = "MODELS"
bucket_name = "edgerec-e2e-scale"

[[kv_namespaces]]
binding = "USERS"
id = "00000000000000000000000000000002"

[[d1_databases]]
binding = "DB"
database_name = "edgerec-e2e-scale"
database_id = "00000000-0000-4000-8000-000000000005"
migrations_dir = "$WORKER/migrations"
TOML
  (cd "$WORK" && "$WRANGLER" d1 migrations apply DB --local --persist-to "$scale_state" -c "$scale_config" \
    >"$scale/d1-migrations.log" 2>&1) || { cat "$scale/d1-migrations.log"; exit 1; }
  admin_token="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf 'ADMIN_TOKEN=%s\n' "$admin_token" >"$WORK/.dev.vars"
  log "wrangler r2 object put (local) items.safetensors ($(wc -c <"$scale/items.safetensors") bytes); wrangler kv bulk put (local)"
  (cd "$WORK" && "$WRANGLER" r2 object put edgerec-e2e-scale/items.safetensors --file "$scale/items.safetensors" --local \
    --persist-to "$scale_state" -c "$scale_config" >"$scale/put.log" 2>&1 \
    && "$WRANGLER" kv bulk put "$scale/users.kv.json" --binding USERS --local --persist-to "$scale_state" \
      -c "$scale_config" >>"$scale/put.log" 2>&1) || { cat "$scale/put.log"; exit 1; }
  CONFIG=$scale_config STATE=$scale_state SERVE_COLD=1 start_server empty
  EDGEREC_SCALE_DIR=$scale EDGEREC_SCALE_ITEMS=$items EDGEREC_INSPECTOR=$INSPECTOR EDGEREC_ADMIN_TOKEN=$admin_token \
    EDGEREC_KV_LIST="$WRANGLER kv key list --binding USERS --local --persist-to $scale_state -c $scale_config" \
    run_tests scale
  stop_server
  rm -f "$WORK/.dev.vars"
fi

if ! want deploy; then exit 0; fi

# The deployable bundle, with the demo's model when the trainer has made it.
demo="$ROOT/web/models/demo.safetensors"
if [ -f "$demo" ]; then
  build demo "$demo"
  bundle=demo
  # The seed's client against the model a new user trains: a hybrid, ranked by its ranker and
  # rated by its rating head.
  start_server demo
  run_tests demo
  stop_server
elif [ "${EDGEREC_CI:-}" = true ]; then  # env.sh set CI=1 for wrangler and kept the caller's as EDGEREC_CI
  echo "no web/models/demo.safetensors, and CI=true: scripts/demo-model.sh must run first" >&2
  exit 1
else
  log "no web/models/demo.safetensors yet: sizing the bundle with the fixture model"
  bundle=fixture
fi
log "wrangler deploy --dry-run (bundle $bundle)"
rm -rf "$WORK/deploy"
(cd "$WORKER" && "$WRANGLER" deploy -c "$WORKER/wrangler.toml" "$WORK/bundle-$bundle/index.js" --dry-run --outdir "$WORK/deploy" >"$WORK/deploy.log" 2>&1) \
  || { cat "$WORK/deploy.log"; exit 1; }
grep -E 'Total Upload' "$WORK/deploy.log" || true
raw=$(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | wc -c)
gz=$(cat "$WORK"/deploy/*.js "$WORK"/deploy/*.wasm | gzip -9 | wc -c)
log "deployable bundle ($bundle model): $raw bytes raw, $gz bytes gzipped (target <= 1 MB, free plan 3 MB)"
if [ "$gz" -gt 3145728 ]; then
  echo "the bundle is over Cloudflare's 3 MB free-plan limit" >&2
  exit 1
fi
