//! Writes a small model and prints the core's explanations of its lists as JSON, for the numpy
//! reference in `tests/python/interop.py`.
//!
//! `cargo run -p edgerec-core --example explain_fixture -- OUT.safetensors ranking|rating`
//!
//! The ranking model carries a recency component, so its explanations mix the fold-in's exact
//! split with the recency terms; the rating model's are the ridge fold-in's split.

use edgerec_core::{Model, ModelBuilder, ModelKind, RecencyInfo, RecencyParts, RecommendOptions};
use serde_json::{Value, json};

use edgerec_core::testing::SplitMix;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(kind)) = (args.first(), args.get(1)) else {
        return Err("usage: explain_fixture OUT ranking|rating".into());
    };
    let ranking = kind == "ranking";
    let (users, items, dim) = (6usize, 40usize, 8usize);
    let mut rng = SplitMix::new(7);
    let mut b = ModelBuilder::new(if ranking { ModelKind::Ranking } else { ModelKind::Rating }, dim);
    if !ranking {
        b.global_bias = 3.5;
        b.rating_range = Some((1.0, 5.0));
    }
    b.user_ids = (0..users).map(|u| format!("U{u}")).collect();
    b.item_ids = (0..items).map(|i| format!("I{:02}", (i * 7) % items)).collect();
    b.user_factors = (0..users * dim).map(|_| 0.4 * rng.normal()).collect();
    b.item_factors = (0..items * dim).map(|_| 0.4 * rng.normal()).collect();
    b.user_bias = vec![0.0; users];
    b.item_bias = (0..items).map(|_| if ranking { 0.0 } else { 0.2 * rng.normal() }).collect();
    let mut history = vec![Vec::new(); users];
    for (u, latest) in history.iter_mut().enumerate() {
        for i in 0..items {
            if rng.uniform() < 0.2 {
                let value = if ranking {
                    1.0 + (rng.uniform() * 3.0).floor()
                } else {
                    1.0 + (rng.uniform() * 5.0).floor().min(4.0)
                };
                b.seen.push((u as u32, i as u32, value));
                latest.insert(0, i as u32);
            }
        }
        latest.truncate(4);
    }
    b.fold_in = Some((2.5, 0.7));
    if ranking {
        b.recency = Some(RecencyParts { info: RecencyInfo { weight: 0.6, decay: 0.7, window: 4 }, history });
    }
    let bytes = b.build()?;
    std::fs::write(out, &bytes)?;
    let model = Model::from_bytes(&bytes)?;
    let session = [("I05", 2.0f32), ("I12", 1.0)];
    // (user, interactions): each user alone, user 0 with a session, and a visitor.
    type Case<'s> = (Option<String>, Vec<(&'s str, f32)>);
    let mut cases: Vec<Case<'_>> =
        (0..users).map(|u| (Some(model.user_id(u).to_owned()), Vec::new())).collect();
    cases.push((Some(model.user_id(0).to_owned()), session.to_vec()));
    cases.push((None, vec![("I03", 3.0), ("I17", 1.0), ("I22", 2.0)]));
    let mut printed = Vec::new();
    for (user, interactions) in cases {
        let opts = RecommendOptions { top_n: 5, ..RecommendOptions::default() };
        let recs = match &user {
            Some(u) if !interactions.is_empty() => model.recommend_session(u, &interactions, &opts)?,
            Some(u) => model.recommend(u, &opts)?,
            None => model.recommend_for_interactions(&interactions, &opts)?,
        };
        let listed: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
        let because = model.explain(user.as_deref(), &interactions, &listed)?;
        printed.push(json!({
            "user": user,
            "interactions": interactions,
            "items": recs.items.iter().map(|s| s.item_id).collect::<Vec<_>>(),
            "because": because.iter().map(|b| b.iter().map(|x| json!([x.item_id, x.contribution, x.share])).collect::<Vec<Value>>()).collect::<Vec<_>>(),
        }));
    }
    println!("{}", serde_json::to_string(&printed)?);
    Ok(())
}
