//! Writes a synthetic model artifact with seed-style IDs, for tests and benchmarks that need a
//! model without running the trainer.
//!
//! `cargo run -p edgerec-core --example fixture -- OUT.safetensors [USERS] [ITEMS] [DIM] [SEED] [none|int8|f16] [LISTS]`
//!
//! With LISTS, the artifact carries an IVF index of that many lists, probing two per query.

use edgerec_core::{IndexParams, ModelBuilder, ModelKind, Quantization, build_index};

use edgerec_core::testing::SplitMix;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or("usage: fixture OUT [USERS] [ITEMS] [DIM] [SEED] [QUANTIZATION] [LISTS]")?;
    let num = |k: usize, default: usize| args.get(k).map_or(Ok(default), |s| s.parse());
    let (users, items, dim, seed) = (num(1, 1000)?, num(2, 600)?, num(3, 64)?, num(4, 42)?);
    let quantization: Quantization = args.get(5).map_or(Ok(Quantization::F32), |s| s.parse())?;
    let mut rng = SplitMix::new(seed as u64);
    let groups = ["TECH", "FASH", "SPRT"];
    let names = ["tech", "fashion", "sports"];
    // Three interest groups: a user's and an item's factors lean toward their group's axis.
    let axis = |g: usize, k: usize| if k % 3 == g { 0.6 } else { 0.0 };
    let mut b = ModelBuilder::new(ModelKind::Rating, dim);
    b.global_bias = 3.6;
    b.rating_range = Some((1.0, 5.0));
    b.user_ids = (0..users).map(|u| format!("U{}", 10_001 + u * 3 + u % 2)).collect();
    b.item_ids = (0..items).map(|i| format!("{}{}", groups[i % 3], 1000 + i / 3 * 2 + 1)).collect();
    b.item_categories = Some((0..items).map(|i| names[i % 3].to_owned()).collect());
    b.user_factors = (0..users * dim).map(|x| axis((x / dim) % 3, x % dim) + 0.15 * rng.normal()).collect();
    b.item_factors = (0..items * dim).map(|x| axis((x / dim) % 3, x % dim) + 0.15 * rng.normal()).collect();
    b.user_bias = (0..users).map(|_| 0.2 * rng.normal()).collect();
    b.item_bias = (0..items).map(|i| 0.3 * rng.normal() - (i as f32 / items as f32) * 0.3).collect();
    b.item_projection = Some(
        (0..items * 2)
            .map(|x| if x % 2 == 0 { ((x / 2) % 3) as f32 + 0.2 * rng.normal() } else { rng.normal() })
            .collect(),
    );
    for u in 0..users {
        for i in 0..items {
            let p = if u % 3 == i % 3 { 0.12 } else { 0.02 };
            if rng.uniform() < p {
                b.seen.push((u as u32, i as u32, (1.0 + (rng.uniform() * 5.0).floor()).min(5.0)));
            }
        }
    }
    b.created_at = Some("2026-11-26T00:00:00Z".into());
    b.info = Some(format!(r#"{{"fixture":true,"seed":{seed}}}"#));
    b.item_quantization = quantization;
    if let Some(lists) = args.get(6) {
        let params = IndexParams { nprobe: 2, ..IndexParams::with_lists(lists.parse()?) };
        b.index = Some(build_index(&b.item_factors, &b.item_bias, dim, &params)?);
    }
    let bytes = b.build()?;
    std::fs::write(out, &bytes)?;
    eprintln!("wrote {out}: {users} users, {items} items, d={dim}, {} bytes", bytes.len());
    Ok(())
}
