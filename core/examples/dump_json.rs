//! Prints what `edgerec-core` reads from an artifact, as JSON, so that other readers (the
//! Python interop check) can be compared against the core's own view.
//!
//! `cargo run -p edgerec-core --example dump_json -- MODEL.safetensors`

use edgerec_core::Model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: dump_json MODEL.safetensors")?;
    let bytes = std::fs::read(&path)?;
    let model = Model::from_bytes(&bytes)?;
    let (nu, ni) = (model.num_users(), model.num_items());
    let users: Vec<&str> = model.user_ids(0, nu).collect();
    let items: Vec<&str> = model.item_ids(0, ni).collect();
    let user_factors: Vec<&[f32]> = (0..nu).filter_map(|u| model.user_factors(u)).collect();
    let item_factors: Vec<&[f32]> = (0..ni).filter_map(|i| model.item_factors(i)).collect();
    let seen: Vec<Vec<(usize, f32)>> = (0..nu).map(|u| model.seen_items(u).collect()).collect();
    let categories: Vec<Option<&str>> = (0..ni).map(|i| model.item_category(i)).collect();
    let scores: Vec<Vec<f32>> =
        (0..nu).map(|u| (0..ni).filter_map(|i| model.score(u, i)).collect()).collect();
    let out = serde_json::json!({
        "info": model.info(),
        "global_bias": model.global_bias(),
        "user_ids": users,
        "item_ids": items,
        "user_factors": user_factors,
        "item_factors": item_factors,
        "seen": seen,
        "popularity": model.popular_items(),
        "categories": categories,
        "scores": scores,
    });
    println!("{out}");
    Ok(())
}
