//! Writes a synthetic format-v2 ranking model with a recency component and a rating head, with
//! the IDs and categories of the core's fixture (`cargo run -p edgerec-core --example fixture`),
//! so that the parity requests (`tests/web/parity-requests.mjs`) also check the recency and
//! rating-head arithmetic of native and wasm builds bit for bit.
//!
//! `cargo run -p edgerec-wasm --example fixture_v2 -- OUT.safetensors [SEED]`

use edgerec_core::testing::SplitMix;
use edgerec_core::{ModelBuilder, ModelKind, RatingHeadParts, RecencyInfo, RecencyParts};

const USERS: usize = 1000;
const ITEMS: usize = 600;
const DIM: usize = 32;
const HEAD_DIM: usize = 8;
const WINDOW: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or("usage: fixture_v2 OUT [SEED]")?;
    let seed: u64 = args.get(1).map_or(Ok(7), |s| s.parse())?;
    let mut rng = SplitMix::new(seed);
    let groups = ["TECH", "FASH", "SPRT"];
    let names = ["tech", "fashion", "sports"];
    let axis = |g: usize, k: usize| if k % 3 == g { 0.5 } else { 0.0 };

    let mut b = ModelBuilder::new(ModelKind::Ranking, DIM);
    b.user_ids = (0..USERS).map(|u| format!("U{}", 10_001 + u * 3 + u % 2)).collect();
    b.item_ids = (0..ITEMS).map(|i| format!("{}{}", groups[i % 3], 1000 + i / 3 * 2 + 1)).collect();
    b.item_categories = Some((0..ITEMS).map(|i| names[i % 3].to_owned()).collect());
    b.user_factors = (0..USERS * DIM).map(|x| axis((x / DIM) % 3, x % DIM) + 0.2 * rng.normal()).collect();
    b.item_factors = (0..ITEMS * DIM).map(|x| axis((x / DIM) % 3, x % DIM) + 0.2 * rng.normal()).collect();
    b.user_bias = vec![0.0; USERS];
    b.item_bias = rng.vec(ITEMS, 0.0, 0.1);
    let mut history = vec![Vec::new(); USERS];
    for (u, latest) in history.iter_mut().enumerate() {
        for i in 0..ITEMS {
            let p = if u % 3 == i % 3 { 0.1 } else { 0.015 };
            if rng.uniform() < p {
                b.seen.push((u as u32, i as u32, 1.0 + (rng.uniform() * 3.0).floor()));
                latest.push(i as u32);
            }
        }
        // Newest first: a seeded shuffle stands in for the timestamps.
        for k in (1..latest.len()).rev() {
            let j = (rng.uniform() * (k + 1) as f32) as usize % (k + 1);
            latest.swap(k, j);
        }
        latest.truncate(WINDOW);
    }
    b.recency = Some(RecencyParts { info: RecencyInfo { weight: 0.6, decay: 0.8, window: WINDOW }, history });
    b.rating_head = Some(RatingHeadParts {
        dim: HEAD_DIM,
        global_bias: 3.6,
        user_factors: rng.vec(USERS * HEAD_DIM, 0.0, 0.3),
        item_factors: rng.vec(ITEMS * HEAD_DIM, 0.0, 0.3),
        user_bias: rng.vec(USERS, 0.0, 0.2),
        item_bias: rng.vec(ITEMS, 0.0, 0.3),
    });
    b.rating_range = Some((1.0, 5.0));
    b.created_at = Some("2026-12-01T00:00:00Z".into());
    b.info = Some(format!(r#"{{"fixture":"v2","seed":{seed}}}"#));
    let bytes = b.build()?;
    std::fs::write(out, &bytes)?;
    eprintln!("wrote {out}: v2 ranking model with recency and a rating head, {} bytes", bytes.len());
    Ok(())
}
