//! Export options for large catalogues: compact item factors and the approximate index, with
//! `nprobe` tuned through the core so index search keeps recall@10 ≥ [`TARGET_RECALL`].

use anyhow::Context;
use edgerec_core::{IndexParams, Model, ModelBuilder, Quantization, RecommendOptions, Search, build_index};

/// The recall@10 against exact search that `--index auto` tunes `nprobe` for.
pub const TARGET_RECALL: f64 = 0.95;
/// Users sampled when tuning `nprobe`.
const TUNING_QUERIES: usize = 200;

/// How item factors are stored in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantizeArg {
    /// 32-bit floats.
    None,
    /// One byte per value and one f32 scale per item.
    Int8,
    /// Half precision.
    F16,
}

/// Whether the artifact gets an approximate index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexArg {
    /// An IVF index for catalogues of 50,000 items or more (about √items lists), none below.
    Auto,
    /// Exact search only.
    None,
}

/// `--quantize` and `--index`, flattened into `trainer train`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// How to store the item factors in the artifact.
    #[arg(long, value_enum, default_value = "none")]
    pub quantize: QuantizeArg,
    /// Whether to add an approximate (IVF) index for large catalogues.
    #[arg(long, value_enum, default_value = "auto")]
    pub index: IndexArg,
}

impl ScaleArgs {
    /// Sets the builder's item storage and, when chosen, builds and tunes the index.
    pub fn apply(&self, b: &mut ModelBuilder) -> anyhow::Result<()> {
        b.item_quantization = match self.quantize {
            QuantizeArg::None => Quantization::F32,
            QuantizeArg::Int8 => Quantization::Int8,
            QuantizeArg::F16 => Quantization::F16,
        };
        let params = match self.index {
            IndexArg::None => None,
            IndexArg::Auto => IndexParams::auto(b.item_ids.len()),
        };
        if let Some(params) = params {
            add_index(b, &params)?;
        }
        Ok(())
    }
}

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
