//! Export options for large catalogues: compact item factors and the approximate index, with
//! `nprobe` tuned through the core so index search keeps recall@10 ≥ [`TARGET_RECALL`].

use anyhow::Context;
use edgerec_core::{IndexParams, Model, ModelBuilder, RecommendOptions, Search, build_index};

/// The recall@10 against exact search that `--index auto` tunes `nprobe` for.
pub const TARGET_RECALL: f64 = 0.95;
/// Users sampled when tuning `nprobe`.
const TUNING_QUERIES: usize = 200;

/// Builds an index with `params` into `b`, then lowers or raises its `nprobe` to the smallest
/// value (doubling) whose recall@10 against exact search reaches [`TARGET_RECALL`].
pub fn add_index(b: &mut ModelBuilder, params: &IndexParams) -> anyhow::Result<()> {
    let index = build_index(&b.item_factors, &b.item_bias, b.dim, params).context("building the index")?;
    b.index = Some(index);
    let bytes = b.build().context("building the artifact for tuning")?;
    let mut model = Model::from_bytes(&bytes).context("loading the artifact for tuning")?;
    let users = query_users(&model, TUNING_QUERIES);
    let want = exact_top(&mut model, &users)?;
    let mut nprobe = 1;
    while nprobe < params.lists && recall_at_10(&mut model, &users, &want, nprobe)? < TARGET_RECALL {
        nprobe = (nprobe * 2).min(params.lists);
    }
    if let Some(ix) = &mut b.index {
        ix.nprobe = nprobe;
    }
    Ok(())
}

/// Users queried, spread over the model: `count` of them, cycling when there are fewer.
pub fn query_users(model: &Model<'_>, count: usize) -> Vec<usize> {
    let n = model.num_users();
    if n == 0 {
        return Vec::new();
    }
    let step = (n / count.max(1)).max(1);
    (0..count).map(|k| (k * step + k / n) % n).collect()
}

/// The exact top 10 (item indices) of each user in `users`.
pub fn exact_top(model: &mut Model<'_>, users: &[usize]) -> anyhow::Result<Vec<Vec<usize>>> {
    model.set_search(Search::Exact)?;
    let opts = RecommendOptions::default();
    let mut out = Vec::with_capacity(users.len());
    for &u in users {
        out.push(model.recommend_index(u, &opts)?.items.iter().map(|s| s.index).collect());
    }
    Ok(out)
}

/// Mean recall@10 of index search with `nprobe` against the exact lists `want` of `users`
/// (the model's search setting is left at the index with `nprobe`).
pub fn recall_at_10(
    model: &mut Model<'_>,
    users: &[usize],
    want: &[Vec<usize>],
    nprobe: usize,
) -> anyhow::Result<f64> {
    model.set_search(Search::Index { nprobe })?;
    let opts = RecommendOptions::default();
    let (mut hits, mut total) = (0usize, 0usize);
    for (&u, want) in users.iter().zip(want) {
        let got = model.recommend_index(u, &opts)?;
        hits += got.items.iter().filter(|g| want.contains(&g.index)).count();
        total += want.len();
    }
    Ok(if total == 0 { 1.0 } else { hits as f64 / total as f64 })
}
