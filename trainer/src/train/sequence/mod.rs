//! The sequence model: self-attention over each user's latest items, trained by candle with
//! cross-entropy of the next item (SASRec with a softmax loss, as in Klenitskiy & Vasilev,
//! RecSys 2023), exported as one vector per known user (the network's state after their whole
//! history) beside the item embeddings that the network also scores with, so a known user
//! costs the same dot product as a factorisation model.

pub mod data;
pub mod fit;
pub mod net;
pub mod norm;
pub mod ops;
pub mod output;
#[cfg(test)]
mod tests;

use candle_core::Device;
use edgerec_core::{SequenceBlock, SequenceParts};
use serde::Serialize;

pub use fit::{Holdout, SeqEpoch, SeqFit};

use crate::dataset::Interaction;

/// The largest catalogue scored whole by default: the full softmax learned faster and better
/// than 256 sampled negatives on MovieLens-100k (inner HR@10 0.187 against 0.13 after the same
/// time), and its cost grows with the catalogue.
pub const FULL_SOFTMAX_MAX_ITEMS: usize = 20_000;

/// The sequence model's settings (`trainer train --objective sequence`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct SeqArgs {
    /// Sequence model: the longest history read (the latest items).
    #[cfg_attr(feature = "cli", arg(id = "seq_len", long = "seq-len", default_value_t = DEFAULTS.max_len))]
    pub max_len: usize,
    /// Sequence model: transformer blocks.
    #[cfg_attr(feature = "cli", arg(id = "seq_blocks", long = "seq-blocks", default_value_t = DEFAULTS.blocks))]
    pub blocks: usize,
    /// Sequence model: most epochs (early stopping on the inner split may end sooner).
    #[cfg_attr(feature = "cli", arg(id = "seq_epochs", long = "seq-epochs", default_value_t = DEFAULTS.epochs))]
    pub epochs: usize,
    /// Sequence model: epochs without improvement before the learning rate is cut (twice, to
    /// 0.3 of itself) and, after that, before stopping.
    #[cfg_attr(feature = "cli", arg(id = "seq_patience", long = "seq-patience", default_value_t = DEFAULTS.patience))]
    pub patience: usize,
    /// Sequence model: Adam's learning rate.
    #[cfg_attr(feature = "cli", arg(id = "seq_lr", long = "seq-lr", default_value_t = DEFAULTS.lr))]
    pub lr: f64,
    /// Sequence model: users per batch.
    #[cfg_attr(feature = "cli", arg(id = "seq_batch", long = "seq-batch", default_value_t = DEFAULTS.batch_users))]
    pub batch_users: usize,
    /// Sequence model: negatives sampled per batch for the softmax; 0 scores the whole
    /// catalogue (the default up to 20,000 items; larger catalogues sample 1,024).
    #[cfg_attr(feature = "cli", arg(id = "seq_negatives", long = "seq-negatives"))]
    pub negatives: Option<usize>,
    /// Sequence model: dropout.
    #[cfg_attr(feature = "cli", arg(id = "seq_dropout", long = "seq-dropout", default_value_t = DEFAULTS.dropout))]
    pub dropout: f32,
    /// Sequence model: seconds of training, counted from the start of the training pipeline; no
    /// epoch starts that would end later (default: 840 under `--objective auto`, none for
    /// `--objective sequence`, whose result then depends on the seed alone).
    #[cfg_attr(feature = "cli", arg(id = "seq_time_budget", long = "seq-time-budget"))]
    pub time_budget: Option<f64>,
}

/// The sequence model's time budget under `--objective auto`: MovieLens-1M's target of 15
/// minutes for the whole command on 2 cores, less a minute for loading, the user states and
/// the export (with 900 s the command took 904 s).
pub const AUTO_TIME_BUDGET: f64 = 840.0;

/// The defaults, declared once for the flags and for [`SeqArgs::default`].
const DEFAULTS: SeqArgs = SeqArgs {
    max_len: 200,
    blocks: 2,
    epochs: 200,
    patience: 5,
    lr: 2e-3,
    batch_users: 32,
    negatives: None,
    dropout: 0.2,
    time_budget: None,
};

impl Default for SeqArgs {
    fn default() -> Self {
        DEFAULTS
    }
}

impl SeqArgs {
    /// Checks every setting; errors name the flag.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!((1..=1000).contains(&self.max_len), "--seq-len must be in 1..=1000");
        anyhow::ensure!((1..=8).contains(&self.blocks), "--seq-blocks must be in 1..=8");
        anyhow::ensure!(self.epochs >= 1, "--seq-epochs must be at least 1");
        anyhow::ensure!(self.lr.is_finite() && self.lr > 0.0, "--seq-lr must be a positive number");
        anyhow::ensure!(self.batch_users >= 1, "--seq-batch must be at least 1");
        anyhow::ensure!((0.0..0.9).contains(&self.dropout), "--seq-dropout must be in [0, 0.9)");
        anyhow::ensure!(
            self.time_budget.is_none_or(|t| t.is_finite() && t > 0.0),
            "--seq-time-budget must be a positive number of seconds"
        );
        Ok(())
    }

    /// The network's hyperparameters for a catalogue of `items`, with the model's width and seed.
    pub fn params(&self, items: usize, dim: usize, seed: u64) -> fit::SeqParams {
        fit::SeqParams {
            dim,
            max_len: self.max_len,
            blocks: self.blocks,
            epochs: self.epochs,
            patience: self.patience,
            lr: self.lr,
            batch_users: self.batch_users,
            negatives: self.negatives.unwrap_or(if items <= FULL_SOFTMAX_MAX_ITEMS { 0 } else { 1024 }),
            dropout: self.dropout,
            seed,
        }
    }
}

/// The held-out next items of `val` (one or more per user; each user's earliest is kept),
/// read after the user's `train` history.
pub fn holdout(histories: &[Vec<u32>], val: &[Interaction]) -> Holdout {
    let mut next: Vec<Option<(i64, u32)>> = vec![None; histories.len()];
    for x in val {
        if let Some(slot) = next.get_mut(x.user as usize)
            && slot.is_none_or(|(t, _)| x.timestamp < t)
        {
            *slot = Some((x.timestamp, x.item));
        }
    }
    let users = next
        .iter()
        .enumerate()
        .filter_map(|(u, n)| {
            let (_, item) = (*n)?;
            let h = &histories[u];
            let mut excluded = h.clone();
            excluded.sort_unstable();
            excluded.dedup();
            (!h.is_empty()).then(|| (h.clone(), excluded, item))
        })
        .collect();
    Holdout { users }
}

/// Each user's state after `histories` (`users × d`): what the artifact stores as user factors.
pub fn user_states(fit: &SeqFit, histories: &[Vec<u32>], dev: &Device) -> anyhow::Result<Vec<f32>> {
    let refs: Vec<&[u32]> = histories.iter().map(Vec::as_slice).collect();
    Ok(fit::states(&fit.net, &refs, dev)?)
}

/// The item embeddings (`items × d`): the artifact's item factors.
pub fn item_factors(fit: &SeqFit) -> anyhow::Result<Vec<f32>> {
    Ok(fit.net.item_table()?.flatten_all()?.to_vec1::<f32>()?)
}

fn values(v: &candle_core::Var) -> anyhow::Result<Vec<f32>> {
    Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?)
}

/// The network as the artifact's sequence part, with no histories (the builder's caller fills
/// them from the rows it exports).
pub fn network(fit: &SeqFit) -> anyhow::Result<SequenceParts> {
    let net = &fit.net;
    let blocks = net
        .blocks
        .iter()
        .map(|b| -> anyhow::Result<SequenceBlock> {
            Ok(SequenceBlock {
                ln1_g: values(&b.ln1.g)?,
                ln1_b: values(&b.ln1.b)?,
                q_w: values(&b.q.w)?,
                q_b: values(&b.q.b)?,
                k_w: values(&b.k.w)?,
                k_b: values(&b.k.b)?,
                v_w: values(&b.v.w)?,
                v_b: values(&b.v.b)?,
                o_w: values(&b.o.w)?,
                o_b: values(&b.o.b)?,
                ln2_g: values(&b.ln2.g)?,
                ln2_b: values(&b.ln2.b)?,
                ff1_w: values(&b.ff1.w)?,
                ff1_b: values(&b.ff1.b)?,
                ff2_w: values(&b.ff2.w)?,
                ff2_b: values(&b.ff2.b)?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(SequenceParts {
        max_len: net.shape.max_len,
        blocks,
        positions: values(&net.pos)?,
        final_g: values(&net.ln_f.g)?,
        final_b: values(&net.ln_f.b)?,
        history: Vec::new(),
    })
}

/// Each user's latest `max_len` items, oldest first: the history a session continues.
pub fn latest(histories: Vec<Vec<u32>>, max_len: usize) -> Vec<Vec<u32>> {
    histories.into_iter().map(|h| h[h.len().saturating_sub(max_len)..].to_vec()).collect()
}
