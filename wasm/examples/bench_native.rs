//! The native half of the wasm-vs-native latency benchmark (`tests/web/bench.sh`): top-10
//! `recommend` for a rotating set of users, timed in a loop, printed as one JSON line.
//! `tests/web/bench.mjs` runs the same queries through the wasm build in Node.
//!
//! `cargo run --release -p edgerec-wasm --example bench_native -- MODEL.safetensors [QUERIES]`

use std::time::Instant;

use edgerec_wasm::Recommender;
use edgerec_wasm::dto::RecommendRequest;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args.first().ok_or("usage: bench_native MODEL [QUERIES]")?;
    let queries: usize = args.get(1).map_or(Ok(2000), |s| s.parse())?;
    let rec = Recommender::from_bytes(std::fs::read(model)?)?;
    let info = rec.model_info();
    let users: Vec<String> = rec.users_page(0, 200).into_iter().map(str::to_owned).collect();
    let request = |k: usize| RecommendRequest {
        user_id: users[k % users.len()].clone(),
        top_n: 10,
        exclude_rated: true,
        exclude_items: Vec::new(),
        categories: None,
        interactions: None,
    };
    let requests: Vec<RecommendRequest> = (0..queries).map(request).collect();
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
