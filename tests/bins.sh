# Sourced by the test scripts (needs ROOT). `debug_bins` sets BIN to the folder of the
# workspace's debug executables (`$BIN/trainer`, `$BIN/examples/NAME`), built by the same cargo
# invocation as the suite's test stage, `cargo test --workspace`. Same invocation, same features:
# after that stage this is a no-op, where a `cargo run -p …` would resolve other features and
# rebuild the dependencies (minutes on 2 cores).
debug_bins() {
  cargo test --workspace --locked --no-run --quiet >&2
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
}
