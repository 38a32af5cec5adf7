#!/usr/bin/env bash
# Benchmarks for the browser build (not a test; figures go to docs/bench/web.md):
#   - top-10 recommend latency, native against wasm (in Node and in headless Chromium), in the
#     same run, over fixture models of 600 and 100,000 items at d=64: five alternating rounds,
#     each the best of 5 timed passes; the table gives each runtime's best round and the median
#     of the per-round wasm/native ratios (this machine is shared, so single figures are noisy);
#   - the demo page's time to first recommendation in headless Chromium.
# Honours CARGO_TARGET_DIR. Takes a few minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
WORK="$target_dir/web-bench"
mkdir -p "$WORK"

wasm/build.sh
cargo build -q --release --locked -p edgerec-core --example fixture
cargo build -q --release --locked -p edgerec-wasm --example bench_native
bin="$target_dir/release/examples"
for items in 600 100000; do
  [ -s "$WORK/items-$items.safetensors" ] || "$bin/fixture" "$WORK/items-$items.safetensors" 1000 "$items" 64 42
done

results="$WORK/latency.jsonl"
: >"$results"
for items in 600 100000; do
  queries=$([ "$items" = 600 ] && echo 20000 || echo 300)
  for round in 1 2 3 4 5; do
    "$bin/bench_native" "$WORK/items-$items.safetensors" "$queries" | sed "s/}\$/,\"round\":$round}/" | tee -a "$results"
    node tests/web/bench.mjs "$WORK/items-$items.safetensors" "$queries" | sed "s/}\$/,\"round\":$round}/" | tee -a "$results"
    node tests/web/bench-chromium.mjs "$WORK/items-$items.safetensors" "$queries" | sed "s/}\$/,\"round\":$round}/" | tee -a "$results"
  done
done
echo "## top-10 recommend latency (µs per query)"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log("| items | d | runtime | best round µs/query | median round µs/query | median ratio to native (same round) |");
  console.log("| ---: | ---: | --- | ---: | ---: | ---: |");
  for (const items of [...new Set(rows.map((r) => r.items))]) {
    const of = (rt) => rows.filter((r) => r.items === items && r.runtime === rt);
    const native = new Map(of("native").map((r) => [r.round, r.usPerQuery]));
    for (const rt of ["native", "wasm (node)", "wasm (chromium)"]) {
      const us = of(rt).map((r) => r.usPerQuery);
      const ratio = median(of(rt).map((r) => r.usPerQuery / native.get(r.round)));
      console.log(`| ${items.toLocaleString("en-US")} | ${rows[0].dim} | ${rt} | ${Math.min(...us).toFixed(1)} | ${median([...us]).toFixed(1)} | ${ratio.toFixed(2)}× |`);
    }
  }' "$results"

echo "## time to first recommendation (600-item fixture, 10 cold loads)"
node tests/web/ttfr.mjs "$WORK/items-600.safetensors" 10
