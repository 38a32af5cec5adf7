#!/usr/bin/env bash
# Fuzzes edgerec-core's loader and every query with libFuzzer (cargo-fuzz, nightly Rust).
# Not part of CI. Usage: core/fuzz/run.sh [SECONDS]   (default 600)
#
# Needs: `rustup toolchain install nightly` and `cargo +nightly install cargo-fuzz --locked`.
# The seed corpus is real artifacts (v1, v2 plain, recency + rating head, int8, f16, v3 with an
# index), written by `cargo run -p edgerec-core --example fuzz_seeds`, and the v2 indexed
# artifact of the core's tests. Crashes land in
# core/fuzz/artifacts/load_and_query/; the run fails if there is one.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
cargo run --quiet --manifest-path ../../Cargo.toml -p edgerec-core --example fuzz_seeds -- seeds
mkdir -p corpus/load_and_query
cp seeds/*.safetensors ../tests/fixtures/*.safetensors corpus/load_and_query/
cargo +nightly fuzz run load_and_query corpus/load_and_query -- \
    -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
