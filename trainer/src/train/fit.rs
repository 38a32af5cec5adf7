//! The training loop: candle computes each batch's loss and gradients on gathered rows, and
//! the sparse optimisers in [`super::tables`] update only those rows.

use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{Device, Tensor, Var};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::config::{DeviceKind, Objective, ValidParams};
use super::eval::Evaluator;
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

fn device(kind: DeviceKind) -> anyhow::Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => Device::new_cuda(0).context("opening CUDA device 0"),
    }
}

/// Per-user sorted training items, for rejecting sampled negatives.
struct Positives {
    indptr: Vec<usize>,
    items: Vec<u32>,
}

impl Positives {
    fn new(users: usize, train: &[Interaction]) -> Self {
        let mut indptr = vec![0usize; users + 1];
        for x in train {
            indptr[x.user as usize + 1] += 1;
        }
        for u in 0..users {
            indptr[u + 1] += indptr[u];
        }
        let mut fill = indptr.clone();
        let mut items = vec![0u32; train.len()];
        for x in train {
            items[fill[x.user as usize]] = x.item;
            fill[x.user as usize] += 1;
        }
        for u in 0..users {
            items[indptr[u]..indptr[u + 1]].sort_unstable();
        }
        Self { indptr, items }
    }

    fn contains(&self, user: u32, item: u32) -> bool {
        let u = user as usize;
        self.items[self.indptr[u]..self.indptr[u + 1]].binary_search(&item).is_ok()
    }
}

/// Reusable host buffers for one batch.
#[derive(Default)]
struct Batch {
    users: Vec<u32>,
    items: Vec<u32>,
    negatives: Vec<u32>,
    targets: Vec<f32>,
    gathered: [Vec<f32>; 5],
}

struct Step<'c> {
    cfg: &'c ValidParams,
    device: Device,
}

impl Step<'_> {
    /// A leaf variable holding `data` (moved, not copied, on the CPU).
    fn var(&self, data: &mut Vec<f32>, rows: usize, cols: usize) -> anyhow::Result<Var> {
        Ok(Var::from_vec(std::mem::take(data), (rows, cols), &self.device)?)
    }

    fn grad(grads: &candle_core::backprop::GradStore, v: &Var) -> anyhow::Result<Vec<f32>> {
        let g = grads.get(v).context("missing gradient")?;
        Ok(g.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Squared-error batch: returns the summed squared error, and applies the gradient
    /// of (squared error + L2 on the gathered rows) when `learn` is set.
    fn rating(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> anyhow::Result<f64> {
        let (n, d) = (b.users.len(), f.user.dim);
        f.user.gather(&b.users, &mut b.gathered[0]);
        f.item.gather(&b.items, &mut b.gathered[1]);
        f.user_bias.gather(&b.users, &mut b.gathered[2]);
        f.item_bias.gather(&b.items, &mut b.gathered[3]);
        let pu = self.var(&mut b.gathered[0], n, d)?;
        let qi = self.var(&mut b.gathered[1], n, d)?;
        let bu = self.var(&mut b.gathered[2], n, 1)?;
        let bi = self.var(&mut b.gathered[3], n, 1)?;
        let target = Tensor::from_slice(&b.targets, (n, 1), &self.device)?;
        let dot = (pu.as_tensor() * qi.as_tensor())?.sum_keepdim(1)?;
        let pred = ((dot + bu.as_tensor())? + bi.as_tensor())?.affine(1.0, f64::from(f.global))?;
        // Summed squared error: each sample's gradient lands on its own gathered rows. The L2
        // penalty's gradient is added by the sparse update, only for the rows touched.
        let sse = (pred - target)?.sqr()?.sum_all()?;
        let sse_value = f64::from(sse.to_scalar::<f32>()?);
        if !learn {
            return Ok(sse_value);
        }
        let grads = sse.backward()?;
        let (lr, reg) = (self.cfg.lr() as f32, self.cfg.reg() as f32);
        f.user.scatter(&b.users, &Self::grad(&grads, &pu)?, lr, reg);
        f.item.scatter(&b.items, &Self::grad(&grads, &qi)?, lr, reg);
        f.user_bias.scatter(&b.users, &Self::grad(&grads, &bu)?, lr, reg);
        f.item_bias.scatter(&b.items, &Self::grad(&grads, &bi)?, lr, reg);
        Ok(sse_value)
    }

    /// BPR batch over (user, positive, negative) triples weighted by `targets`: returns the
    /// summed weighted loss −log σ(x_ui − x_uj), and learns when `learn` is set.
    fn ranking(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> anyhow::Result<f64> {
        let (n, d) = (b.users.len(), f.user.dim);
        f.user.gather(&b.users, &mut b.gathered[0]);
        f.item.gather(&b.items, &mut b.gathered[1]);
        f.item.gather(&b.negatives, &mut b.gathered[2]);
        f.item_bias.gather(&b.items, &mut b.gathered[3]);
        f.item_bias.gather(&b.negatives, &mut b.gathered[4]);
        let pu = self.var(&mut b.gathered[0], n, d)?;
        let qi = self.var(&mut b.gathered[1], n, d)?;
        let qj = self.var(&mut b.gathered[2], n, d)?;
        let bi = self.var(&mut b.gathered[3], n, 1)?;
        let bj = self.var(&mut b.gathered[4], n, 1)?;
        let weight = Tensor::from_slice(&b.targets, (n, 1), &self.device)?;
        let diff = (qi.as_tensor() - qj.as_tensor())?;
        let x = ((pu.as_tensor() * diff)?.sum_keepdim(1)? + (bi.as_tensor() - bj.as_tensor())?)?;
        // −log σ(x) = softplus(−x) = relu(−x) + log(1 + e^(−|x|)), stable for any x.
        let softplus = (x.neg()?.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        let data_loss = (softplus * weight)?.sum_all()?;
        let value = f64::from(data_loss.to_scalar::<f32>()?);
        if !learn {
            return Ok(value);
        }
        let grads = data_loss.backward()?;
        let (lr, reg) = (self.cfg.lr() as f32, self.cfg.reg() as f32);
        f.user.scatter(&b.users, &Self::grad(&grads, &pu)?, lr, reg);
        f.item.scatter(&b.items, &Self::grad(&grads, &qi)?, lr, reg);
        f.item.scatter(&b.negatives, &Self::grad(&grads, &qj)?, lr, reg);
        f.item_bias.scatter(&b.items, &Self::grad(&grads, &bi)?, lr, reg);
        f.item_bias.scatter(&b.negatives, &Self::grad(&grads, &bj)?, lr, reg);
        Ok(value)
    }
}

/// Fills `b` with the batch `rows` of `data` (and sampled negatives for ranking).
fn fill(
    cfg: &ValidParams,
    data: &[Interaction],
    rows: &[u32],
    positives: &Positives,
    num_items: usize,
    rng: &mut ChaCha8Rng,
    b: &mut Batch,
) {
    b.users.clear();
    b.items.clear();
    b.negatives.clear();
    b.targets.clear();
    for &r in rows {
        let x = &data[r as usize];
        match is_bpr(cfg) {
            false => {
                b.users.push(x.user);
                b.items.push(x.item);
                b.targets.push(x.rating);
            }
            true => {
                let w = cfg.weight(x.behavior);
                for _ in 0..cfg.negatives() {
                    // Uniform negatives, rejecting the user's known positives (a few tries).
                    let mut j = rng.random_range(0..num_items as u32);
                    for _ in 0..8 {
                        if !positives.contains(x.user, j) {
                            break;
                        }
                        j = rng.random_range(0..num_items as u32);
                    }
                    b.users.push(x.user);
                    b.items.push(x.item);
                    b.negatives.push(j);
                    b.targets.push(w);
                }
            }
        }
    }
}

/// Whether the SGD loop trains BPR (the ranking objective with `--ranker bpr`); otherwise it
/// trains a rating model (the rating objective, or the rating head of a hybrid).
pub fn is_bpr(cfg: &ValidParams) -> bool {
    cfg.objective() == Objective::Ranking
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
