#!/usr/bin/env bash
# Shared by the scripts that serve the Worker in workerd (`wrangler dev`) on loopback: source it.
#   free_port                  prints a free TCP port on 127.0.0.1
#   serve_start NAME CONFIG BUNDLE_JS STATE_DIR
#                              starts wrangler dev in its own process group, logs to
#                              $WORK/wrangler-NAME.log, waits until it answers, and sets PORT,
#                              INSPECTOR and SERVE_PGID (each start replaces the previous
#                              server's). It then makes a first /health request (the wasm
#                              compiles, the model loads) unless SERVE_COLD=1.
#   serve_stop                 stops the last server started (its whole process group)
# Needs ROOT and WORK set, and the offline tool env of scripts/setup.sh.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVE_PGID=""

serve_start() {
  local name=$1 config=$2 bundle=$3 state=$4
  PORT=$(free_port)
  INSPECTOR=$(free_port)
  (cd "$(dirname "$config")" && exec setsid "$ROOT/node_modules/.bin/wrangler" dev -c "$config" "$bundle" \
    --ip 127.0.0.1 --port "$PORT" --inspector-port "$INSPECTOR" --persist-to "$state" --log-level warn \
    >"$WORK/wrangler-$name.log" 2>&1) &
  SERVE_PGID=$!
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/openapi.json"; then
      # The first request compiles the wasm; make it before any timed check.
      [ "${SERVE_COLD:-0}" = 1 ] || curl -s -o /dev/null "http://127.0.0.1:$PORT/health" || true
      return 0
    fi
    kill -0 "$SERVE_PGID" 2>/dev/null || break
    sleep 0.5
  done
  cat "$WORK/wrangler-$name.log" >&2
  echo "wrangler dev ($name) did not become ready" >&2
  return 1
}

serve_stop() {
  [ -n "$SERVE_PGID" ] || return 0
  kill -TERM -- "-$SERVE_PGID" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 -- "-$SERVE_PGID" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$SERVE_PGID" 2>/dev/null || true
  wait "$SERVE_PGID" 2>/dev/null || true
  SERVE_PGID=""
}
