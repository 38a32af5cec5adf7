//! The training loop: epochs of shuffled batches, validation, early stopping and the progress
//! bar. The private `step` module computes each batch's loss and gradients on gathered rows,
//! and the sparse optimisers in [`super::tables`] update only those rows.

use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::config::ValidParams;
use super::eval::Evaluator;
use super::step::{Batch, Positives, Step, device, fill, is_bpr};
use super::tables::Factors;
use crate::dataset::Interaction;

/// One epoch's figures.
#[derive(Debug, Clone, Serialize)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss per sample (squared error, or BPR loss).
    pub train_loss: f64,
    /// Mean validation loss per sample, same definition as `train_loss`.
    pub val_loss: Option<f64>,
    /// The early-stopping metric: validation RMSE (rating) or NDCG@10 (ranking).
    pub val_metric: Option<f64>,
    /// Wall time of the epoch's training pass, in seconds (validation excluded).
    pub seconds: f64,
    /// Training samples per second.
    pub samples_per_second: f64,
}

/// The result of [`fit`].
#[derive(Debug, Clone)]
pub struct Trained {
    /// The weights of the best epoch.
    pub factors: Factors,
    /// Every epoch run.
    pub history: Vec<EpochStats>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
}

/// What to train on: the matrix's shape and the training interactions.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'d> {
    /// Users (rows).
    pub users: usize,
    /// Items (columns).
    pub items: usize,
    /// Interactions to learn from.
    pub train: &'d [Interaction],
}

/// Early stopping's held-out interactions, and the evaluator that ranks them (BPR stops on
/// NDCG@10; the rating objective on RMSE and needs none).
#[derive(Clone, Copy)]
pub struct Validation<'d> {
    /// Held-out interactions.
    pub rows: &'d [Interaction],
    /// Ranking metrics through the core.
    pub evaluator: Option<&'d Evaluator<'d>>,
}

/// How chatty training is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Progress bars and per-epoch lines on stderr.
    Normal,
    /// Nothing on stderr.
    Quiet,
}

fn samples_per_row(cfg: &ValidParams) -> usize {
    if is_bpr(cfg) { cfg.negatives() } else { 1 }
}

/// Trains on `train`, validates on `val` after every epoch through `evaluator`, stops early
/// when the validation metric stops improving, and returns the best epoch's weights.
/// A non-finite or diverging loss is an error, so nothing downstream is written.
pub fn fit(
    cfg: &ValidParams,
    problem: &Problem<'_>,
    validation: Option<&Validation<'_>>,
    verbosity: Verbosity,
) -> anyhow::Result<Trained> {
    let Problem { users: num_users, items: num_items, train } = *problem;
    let (val, evaluator) = match validation {
        Some(v) => (v.rows, v.evaluator),
        None => (&[][..], None),
    };
    if train.is_empty() {
        bail!("no training interactions");
    }
    let step = Step { cfg, device: device(cfg.device())? };
    let mut f = Factors::new(num_users, num_items, cfg.dim(), cfg.init_std(), cfg.optimizer(), cfg.seed());
    f.global = if is_bpr(cfg) {
        0.0
    } else {
        (train.iter().map(|x| f64::from(x.rating)).sum::<f64>() / train.len() as f64) as f32
    };
    let positives = Positives::new(num_users, train);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed() ^ 0x5EED);
    let mut order: Vec<u32> = (0..train.len() as u32).collect();
    let val_rows: Vec<u32> = (0..val.len() as u32).collect();
    let mut batch = Batch::default();
    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<(f64, usize, Factors)> = None;
    let per_row = samples_per_row(cfg);
    let rows_per_batch = cfg.batch_size().div_ceil(per_row).max(1);
    let lower_is_better = !is_bpr(cfg);
    let mut first_loss: Option<f64> = None;

    for epoch in 1..=cfg.epochs() {
        order.shuffle(&mut rng);
        let bar = progress_bar(verbosity, order.len(), epoch, cfg.epochs());
        let started = Instant::now();
        let mut total = 0.0f64;
        for chunk in order.chunks(rows_per_batch) {
            fill(cfg, train, chunk, &positives, num_items, &mut rng, &mut batch);
            let loss = if is_bpr(cfg) {
                step.ranking(&mut f, &mut batch, true)?
            } else {
                step.rating(&mut f, &mut batch, true)?
            };
            let per_sample = loss / batch.users.len() as f64;
            let reference = *first_loss.get_or_insert(per_sample.max(1e-3));
            if !per_sample.is_finite() || per_sample > 1e4 * reference.max(1.0) {
                bail!(
                    "training diverged in epoch {epoch}: the batch loss became {per_sample:.3e}. \
                     Hint: lower --lr (now {}) or raise --reg (now {}).",
                    cfg.lr(),
                    cfg.reg()
                );
            }
            total += loss;
            bar.inc(chunk.len() as u64);
        }
        let seconds = started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let samples = (train.len() * per_row) as f64;
        let train_loss = total / samples;

        let val_loss = if val.is_empty() {
            None
        } else {
            let mut sum = 0.0;
            let mut vrng = ChaCha8Rng::seed_from_u64(cfg.seed() ^ 0xA11);
            for chunk in val_rows.chunks(rows_per_batch) {
                fill(cfg, val, chunk, &positives, num_items, &mut vrng, &mut batch);
                sum += if is_bpr(cfg) {
                    step.ranking(&mut f, &mut batch, false)?
                } else {
                    step.rating(&mut f, &mut batch, false)?
                };
            }
            Some(sum / (val.len() * per_row) as f64)
        };
        let val_metric = match (is_bpr(cfg), val_loss, evaluator) {
            (false, Some(mse), _) => Some(mse.sqrt()),
            (true, Some(_), Some(ev)) => Some(ev.metrics(&f, cfg)?.ndcg),
            _ => None,
        };
        let stats = EpochStats {
            epoch,
            train_loss,
            val_loss,
            val_metric,
            seconds,
            samples_per_second: samples / seconds.max(1e-9),
        };
        if verbosity == Verbosity::Normal {
            let metric_name = if lower_is_better { "val_rmse" } else { "val_ndcg@10" };
            eprintln!(
                "epoch {epoch:>3}/{}  loss {train_loss:.4}  val_loss {}  {metric_name} {}  {:.2}s  {:.2}M samples/s",
                cfg.epochs(),
                val_loss.map_or("-".into(), |v| format!("{v:.4}")),
                val_metric.map_or("-".into(), |v| format!("{v:.4}")),
                seconds,
                stats.samples_per_second / 1e6
            );
        }
        history.push(stats);

        let Some(metric) = val_metric else {
            best = Some((0.0, epoch, f.clone()));
            continue;
        };
        let improved = match &best {
            None => true,
            Some((b, _, _)) if lower_is_better => metric < *b - 1e-6,
            Some((b, _, _)) => metric > *b + 1e-6,
        };
        if improved {
            best = Some((metric, epoch, f.clone()));
        } else if cfg.patience() > 0 && best.as_ref().is_some_and(|(_, e, _)| epoch - e >= cfg.patience()) {
            if verbosity == Verbosity::Normal {
                eprintln!("early stopping: no improvement for {} epochs", cfg.patience());
            }
            break;
        }
    }
    let (_, best_epoch, factors) = best.context("no epoch completed")?;
    Ok(Trained { factors, history, best_epoch })
}

fn progress_bar(verbosity: Verbosity, len: usize, epoch: usize, epochs: usize) -> ProgressBar {
    if verbosity == Verbosity::Quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} rows {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("{epoch}/{epochs}"));
    bar
}
