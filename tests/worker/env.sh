#!/usr/bin/env bash
# The environment of every script that builds the Worker and serves it with `wrangler dev`
# (tests/worker/*.sh, tests/live/*.sh); source it from the repository root with ROOT set.
#  - the toolchain: scripts/setup.sh, unless a parent script (scripts/test.sh) sourced it;
#  - wrangler offline and quiet (no metrics, no cf fetch, no prompts: CI=1, the caller's CI kept
#    as EDGEREC_CI), its config under target/;
#  - EDGEREC_PREBUILT=1: the scripts build the bundles themselves, so wrangler must not rebuild
#    build/ (see worker/wrangler.toml).
if [ -z "${WASM_BINDGEN_BIN:-}" ] || [ -z "${ESBUILD_BIN:-}" ]; then
  source scripts/setup.sh
fi
# CI=1 is for wrangler; the caller's CI (CI=true: nothing may be skipped) is kept as EDGEREC_CI.
export EDGEREC_CI="${EDGEREC_CI-${CI:-}}"
export CI=1 WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false EDGEREC_PREBUILT=1
export XDG_CONFIG_HOME="${XDG_CONFIG_HOME:-$ROOT/target/xdg}"
