#!/usr/bin/env bash
# Installs everything EdgeRec's demo and tests need, offline-friendly and idempotent.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7

log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }

need_apt=()
for pkg in mariadb-server chromium chromium-driver python3-venv wrk; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  log "apt: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The toolchain and wasm32 target come from rust-toolchain.toml.
(cd "$ROOT" && rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install)
(cd "$ROOT" && rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown)

# Cargo tools live in ~/.cargo/bin (outside the clone) and are installed only when the exact
# version is missing. wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock.
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  log "cargo install worker-build $WORKER_BUILD_VERSION (about 5 minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --quiet
fi

# npm packages: wrangler (workerd), binaryen (wasm-opt), playwright-core, swagger-ui-dist.
if [ ! -x "$ROOT/node_modules/.bin/wrangler" ] || [ ! -f "$ROOT/node_modules/swagger-ui-dist/package.json" ] \
  || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  log "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Swagger UI for the Worker's /docs, served as static assets from web/docs/vendor/ (gitignored,
# copied from the pinned npm package, never from a CDN). Copied only when missing or changed.
mkdir -p "$ROOT/web/docs/vendor"
for f in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cmp -s "$ROOT/node_modules/swagger-ui-dist/$f" "$ROOT/web/docs/vendor/$f" \
    || cp "$ROOT/node_modules/swagger-ui-dist/$f" "$ROOT/web/docs/vendor/$f"
done

# Python virtualenv for the interop check and benchmarks.
if [ ! -x "$ROOT/.venv/bin/python" ] || ! "$ROOT/.venv/bin/python" -c 'import safetensors, numpy, pyarrow' 2>/dev/null; then
  log "python venv: safetensors, numpy, pyarrow"
  python3 -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check safetensors numpy pyarrow
fi

# Offline tool locations for worker-build and wasm-opt (never download at run time).
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export XDG_CONFIG_HOME="$ROOT/target/xdg"
mkdir -p "$XDG_CONFIG_HOME"
