//! Prints, for every user of a model, their top-N list with the rating head's own prediction for
//! each item (`raw`) beside the `predicted_rating` an answer reports (made non-increasing in
//! rank). The benchmark (bench/run.py) measures from it what keeping the seed's contract costs.
//!
//! `cargo run --release -p edgerec-core --example rating_order -- MODEL [TOP_N]`: one JSON line
//! per user, `{"user", "items", "raw", "reported"}`.

use std::io::Write as _;

use edgerec_core::{Model, RecommendOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: rating_order MODEL [TOP_N]")?;
    let top_n = args.get(1).map_or(Ok(10), |s| s.parse())?;
    let bytes = std::fs::read(path)?;
    let model = Model::from_bytes(&bytes)?;
    let opts = RecommendOptions { top_n, ..Default::default() };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for u in 0..model.num_users() {
        let recs = model.recommend_index(u, &opts)?;
        let items: Vec<&str> = recs.items.iter().map(|s| s.item_id).collect();
        let raw: Vec<Option<f32>> = recs.items.iter().map(|s| model.predict_index(u, s.index)).collect();
        let reported: Vec<Option<f32>> = recs.items.iter().map(|s| s.predicted_rating).collect();
        let line =
            serde_json::json!({ "user": model.user_id(u), "items": items, "raw": raw, "reported": reported });
        writeln!(out, "{line}")?;
    }
    Ok(())
}
