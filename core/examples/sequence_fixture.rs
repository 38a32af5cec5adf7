//! Writes a synthetic version-4 artifact (a ranking model with a random sequence network), for
//! tests that need a sequence model without running the trainer, and prints as JSON what the
//! core computes with it, for other implementations to check against.
//!
//! `cargo run -p edgerec-core --example sequence_fixture -- OUT.safetensors [USERS] [ITEMS] [DIM] [MAX_LEN] [BLOCKS] [SEED] [none|int8|f16]`
//!
//! IDs follow the `fixture` example's scheme (user `u` is `U{10001 + 3u + u % 2}`, item `i` is
//! `{group}{1000 + 2⌊i/3⌋ + 1}` with categories), so the wasm parity requests apply to it as
//! well. User `u`'s history has `1 + 5u mod (2·MAX_LEN + 1)` random items, so some are longer
//! than `MAX_LEN` and the builder keeps their latest `MAX_LEN`. As the trainer does, each user's
//! stored vector is the network's state over their stored history.
//!
//! The JSON on stdout holds:
//!
//! - `info`: the core's `Model::info`;
//! - `histories`: each user's expected stored history (item IDs, oldest first);
//! - `states`: `sequence_state` over a few item lists (one item; `MAX_LEN`; `2·MAX_LEN + 1`);
//! - `queries`: the top 5 of `recommend_session` (a known user with interactions) and of
//!   `recommend_for_interactions` (a visitor), with their interactions.

use edgerec_core::{
    Model, ModelBuilder, ModelKind, Quantization, RecommendOptions, SequenceBlock, SequenceParts,
};
use serde_json::{Value, json};

use edgerec_core::testing::SplitMix;

/// A block with weights of about unit gain (`1/√d`) and small biases, so that attention and
/// the feed-forward both move the state.
fn block(rng: &mut SplitMix, d: usize) -> SequenceBlock {
    let w = 1.0 / (d as f32).sqrt();
    SequenceBlock {
        ln1_g: rng.vec(d, 1.0, 0.2),
        ln1_b: rng.vec(d, 0.0, 0.2),
        q_w: rng.vec(d * d, 0.0, w),
        q_b: rng.vec(d, 0.0, 0.2),
        k_w: rng.vec(d * d, 0.0, w),
        k_b: rng.vec(d, 0.0, 0.2),
        v_w: rng.vec(d * d, 0.0, w),
        v_b: rng.vec(d, 0.0, 0.2),
        o_w: rng.vec(d * d, 0.0, w),
        o_b: rng.vec(d, 0.0, 0.2),
        ln2_g: rng.vec(d, 1.0, 0.2),
        ln2_b: rng.vec(d, 0.0, 0.2),
        ff1_w: rng.vec(d * d, 0.0, w),
        ff1_b: rng.vec(d, 0.0, 0.2),
        ff2_w: rng.vec(d * d, 0.0, w),
        ff2_b: rng.vec(d, 0.0, 0.2),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or(
        "usage: sequence_fixture OUT [USERS] [ITEMS] [DIM] [MAX_LEN] [BLOCKS] [SEED] [QUANTIZATION]",
    )?;
    let num = |k: usize, default: usize| args.get(k).map_or(Ok(default), |s| s.parse());
    let (users, items, dim) = (num(1, 8)?, num(2, 30)?, num(3, 40)?);
    let (max_len, blocks, seed) = (num(4, 6)?, num(5, 2)?, num(6, 42)?);
    let quantization: Quantization = args.get(7).map_or(Ok(Quantization::F32), |s| s.parse())?;
    let mut rng = SplitMix::new(seed as u64);
    let groups = ["TECH", "FASH", "SPRT"];
    let names = ["tech", "fashion", "sports"];
    let item_id = |i: usize| format!("{}{}", groups[i % 3], 1000 + i / 3 * 2 + 1);

    let mut b = ModelBuilder::new(ModelKind::Ranking, dim);
    b.user_ids = (0..users).map(|u| format!("U{}", 10_001 + u * 3 + u % 2)).collect();
    b.item_ids = (0..items).map(item_id).collect();
    b.item_categories = Some((0..items).map(|i| names[i % 3].to_owned()).collect());
    b.item_factors = rng.vec(items * dim, 0.0, 0.5);
    // A sequence model's biases are 0; its user vectors are set below, once the network runs.
    b.user_factors = vec![0.0; users * dim];
    b.user_bias = vec![0.0; users];
    b.item_bias = vec![0.0; items];
    let history: Vec<Vec<u32>> = (0..users)
        .map(|u| (0..1 + (u * 5) % (2 * max_len + 1)).map(|_| rng.scaled_below(items) as u32).collect())
        .collect();
    for (u, row) in history.iter().enumerate() {
        let mut seen = row.clone();
        seen.sort_unstable();
        seen.dedup();
        b.seen.extend(seen.into_iter().map(|i| (u as u32, i, 1.0)));
    }
    b.sequence = Some(SequenceParts {
        max_len,
        blocks: (0..blocks).map(|_| block(&mut rng, dim)).collect(),
        positions: rng.vec(max_len * dim, 0.0, 0.5),
        final_g: rng.vec(dim, 1.0, 0.2),
        final_b: rng.vec(dim, 0.0, 0.2),
        history: history.clone(),
    });
    b.created_at = Some("2026-11-26T00:00:00Z".into());
    b.info = Some(format!(r#"{{"fixture":true,"seed":{seed}}}"#));
    b.item_quantization = quantization;

    // Each user's vector is their state over the stored history, as the trainer exports it.
    let first = b.build()?;
    let model = Model::from_bytes(&first)?;
    for (u, id) in b.user_ids.iter().enumerate() {
        let k = model.user_index(id).ok_or("a user went missing")?;
        let stored: Vec<usize> = model.sequence_history(k).iter().map(|&i| i as usize).collect();
        b.user_factors[u * dim..(u + 1) * dim].copy_from_slice(&model.sequence_state(&stored)?);
    }
    let bytes = b.build()?;
    std::fs::write(out, &bytes)?;
    let model = Model::from_bytes(&bytes)?;

    let ids = |list: &[usize]| list.iter().map(|&i| item_id(i)).collect::<Vec<_>>();
    let mut states = Vec::new();
    for n in [1, max_len, 2 * max_len + 1] {
        let list: Vec<usize> = (0..n).map(|_| rng.scaled_below(items)).collect();
        let indices: Vec<usize> = list
            .iter()
            .map(|&i| model.item_index(&item_id(i)).ok_or("an item went missing"))
            .collect::<Result<_, _>>()?;
        states.push(json!({ "items": ids(&list), "state": model.sequence_state(&indices)? }));
    }
    let opts = RecommendOptions { top_n: 5.min(items), ..RecommendOptions::default() };
    let rated = |list: &[String]| list.iter().map(|id| (id.clone(), 1.0f32)).collect::<Vec<_>>();
    let mut queries = Vec::new();
    // Sessions: the user with the longest history (cut to MAX_LEN) and the one with a single
    // item, each with a few clicks; the second's include an item the model does not know.
    let longest = (0..users).max_by_key(|&u| (history[u].len(), u)).unwrap_or(0);
    for (u, clicks) in [(longest, 2), (0, 3)] {
        let mut list = ids(&(0..clicks).map(|_| rng.scaled_below(items)).collect::<Vec<_>>());
        if u == 0 {
            list.insert(1, "NOT-AN-ITEM".to_owned());
        }
        let recs = model.recommend_session(&b.user_ids[u], &rated(&list), &opts)?;
        queries.push(json!({ "user": b.user_ids[u], "interactions": list, "answer": recs }));
    }
    for n in [3, 2 * max_len + 1] {
        let list = ids(&(0..n).map(|_| rng.scaled_below(items)).collect::<Vec<_>>());
        let recs = model.recommend_for_interactions(&rated(&list), &opts)?;
        queries.push(json!({ "user": Value::Null, "interactions": list, "answer": recs }));
    }
    let histories: serde_json::Map<String, Value> = b
        .user_ids
        .iter()
        .zip(&history)
        .map(|(id, row)| {
            let kept: Vec<usize> =
                row[row.len().saturating_sub(max_len)..].iter().map(|&i| i as usize).collect();
            (id.clone(), json!(ids(&kept)))
        })
        .collect();
    let summary =
        json!({ "info": model.info(), "histories": histories, "states": states, "queries": queries });
    println!("{summary}");
    eprintln!(
        "wrote {out}: {users} users, {items} items, d={dim}, L={max_len}, {blocks} blocks, {} bytes",
        bytes.len()
    );
    Ok(())
}
