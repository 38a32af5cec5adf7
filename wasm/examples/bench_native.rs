//! The native half of the wasm-vs-native latency benchmark (`bench/web.sh`): top-10
//! `recommend` for a rotating set of users, timed in a loop, printed as one JSON line.
//! `tests/web/bench.mjs` runs the same queries through the wasm build in Node.
//!
//! `cargo run --release -p edgerec-wasm --example bench_native -- MODEL.safetensors [QUERIES]`
//!
//! With `--per-call` (the scale benchmark, `bench/scale/run.py`, against `bench/scale/wasm.mjs`):
//! each of the first QUERIES users once, after 50 warm-up calls, each call timed on its own;
//! prints p50 and p99 in milliseconds. `--per-call --lockstep` takes turns with `wasm.mjs
//! --lockstep` (see there): `ready` after the warm-up, then one timed call per byte on stdin,
//! answered with its time in ms on a line of its own.

use std::io::{Read, Write};
use std::time::Instant;

use edgerec_wasm::Recommender;
use edgerec_wasm::dto::RecommendRequest;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args.first().ok_or("usage: bench_native MODEL [QUERIES]")?;
    let queries: usize = args.get(1).map_or(Ok(2000), |s| s.parse())?;
    let rec = Recommender::from_bytes(std::fs::read(model)?)?;
    if args.get(2).is_some_and(|a| a == "--per-call") {
        return per_call(&rec, queries, args.get(3).is_some_and(|a| a == "--lockstep"));
    }
    let info = rec.model_info();
    let users: Vec<String> = rec.users_page(0, 200).into_iter().map(str::to_owned).collect();
    let requests: Vec<RecommendRequest> = (0..queries).map(|k| top10(&users[k % users.len()])).collect();
    let mut checksum = 0usize;
    for r in requests.iter().take(queries / 10 + 1) {
        checksum += rec.recommend_request(r)?.items.len();
    }
    // Five timed passes; report the best mean, the usual way to damp scheduler noise.
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        for r in &requests {
            checksum += rec.recommend_request(r)?.items[0].index;
        }
        best = best.min(start.elapsed().as_secs_f64() / queries as f64);
    }
    let report = json!({
        "runtime": "native",
        "items": info.num_items,
        "dim": info.dim,
        "queries": queries,
        "usPerQuery": best * 1e6,
        "checksum": checksum,
    });
    println!("{report}");
    Ok(())
}

/// What both benchmarks ask: the user's top 10, seen items excluded.
fn top10(user_id: &str) -> RecommendRequest {
    RecommendRequest {
        user_id: user_id.to_owned(),
        top_n: 10,
        exclude_rated: true,
        exclude_items: Vec::new(),
        categories: None,
        max_per_category: None,
        candidates: None,
        offset: 0,
        interactions: None,
    }
}

/// Each of the first `queries` users' whole `recommend` call (request in, answer with IDs out),
/// timed one at a time, as `bench/scale/wasm.mjs` times the wasm build; with `lockstep`, one
/// call per byte read from stdin.
fn per_call(rec: &Recommender, queries: usize, lockstep: bool) -> Result<(), Box<dyn std::error::Error>> {
    let requests: Vec<RecommendRequest> = rec.users_page(0, queries).into_iter().map(top10).collect();
    let mut checksum = 0usize;
    for r in requests.iter().take(50) {
        checksum += rec.recommend_request(r)?.items.len();
    }
    let mut ms = Vec::with_capacity(requests.len());
    let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
    if lockstep {
        writeln!(stdout, "ready")?;
    }
    for r in &requests {
        if lockstep {
            stdin.read_exact(&mut [0u8])?;
        }
        let start = Instant::now();
        checksum += rec.recommend_request(r)?.items[0].index;
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        ms.push(elapsed);
        if lockstep {
            writeln!(stdout, "{elapsed}")?;
        }
    }
    drop(stdout);
    ms.sort_by(f64::total_cmp);
    let at =
        |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    let report = json!({
        "runtime": "native",
        "queries": ms.len(),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "checksum": checksum,
    });
    println!("{report}");
    Ok(())
}
