//! Training configuration: parsed CLI flags become one validated [`TrainConfig`].

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::data::{Behavior, Interaction};

/// What the model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Chosen by the data: `hybrid` when the ratings vary, else `ranking`.
    Auto,
    /// A ranking model (iALS) that orders the lists, plus a rating head (the rating model)
    /// that reports `predicted_rating` on the rating scale.
    Hybrid,
    /// Explicit ratings only: squared error with L2 regularisation.
    Rating,
    /// Implicit feedback only, trained by `--ranker` (iALS by default, or BPR).
    Ranking,
}

/// The algorithm of the ranking part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ranker {
    /// Implicit alternating least squares with conjugate-gradient steps.
    Als,
    /// BPR, a pairwise loss with sampled negatives, by candle and the sparse optimisers.
    Bpr,
}

/// How the validation split is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// `last` when the data has timestamps, else `random`.
    Auto,
    /// Each user's latest `--holdout` interactions (ties: the larger item ID is later).
    Last,
    /// A global time cut: the latest `--val-fraction` of all interactions.
    Global,
    /// A random fraction of each user's interactions.
    Random,
    /// The latest fraction of each user's interactions by timestamp.
    Time,
    /// No evaluation split: train on everything (no validation table).
    None,
}

/// The sparse optimiser applied to the rows a batch touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain SGD.
    Sgd,
    /// Adagrad: per-coordinate learning rates.
    Adagrad,
    /// Row-wise Adagrad: one accumulator per row, fed the row's mean squared gradient (as in
    /// FBGEMM and TorchRec for embedding tables): no per-coordinate state to stream through
    /// memory, and one square root per row. The default.
    #[value(name = "rowwise-adagrad")]
    #[serde(rename = "rowwise-adagrad")]
    RowwiseAdagrad,
    /// Lazy Adam: moments and step counts kept per row, updated only when the row is touched.
    Adam,
}

/// Where the batch arithmetic runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU (always available).
    Cpu,
    /// An NVIDIA GPU (needs a build with `--features cuda`).
    Cuda,
}

/// Hyperparameters and run settings for `trainer train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// What to learn: `auto` picks `hybrid` for data whose ratings vary, else `ranking`.
    #[arg(long, value_enum, default_value_t = Objective::Auto)]
    pub objective: Objective,
    /// The ranking algorithm (ranking and hybrid objectives).
    #[arg(long, value_enum, default_value_t = Ranker::Als)]
    pub ranker: Ranker,
    /// iALS: alternating rounds.
    #[arg(long, default_value_t = 15)]
    pub als_iterations: usize,
    /// iALS: the ridge λ.
    #[arg(long, default_value_t = 50.0)]
    pub als_reg: f64,
    /// iALS: confidence per unit of weight α (c = 1 + α·w).
    #[arg(long, default_value_t = 9.0)]
    pub als_alpha: f64,
    /// Weight of the recency component (default: tuned on the inner validation split).
    #[arg(long)]
    pub recency_weight: Option<f32>,
    /// Decay per position of the recency component, in (0, 1] (default: tuned with the weight).
    #[arg(long)]
    pub recency_decay: Option<f32>,
    /// Factor dimension.
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// Maximum number of epochs (early stopping may end sooner).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate.
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// L2 regularisation per sample.
    #[arg(long, allow_negative_numbers = true)]
    pub reg: Option<f64>,
    /// Interactions per batch.
    #[arg(long, default_value_t = 1024)]
    pub batch_size: usize,
    /// Sampled negatives per positive (ranking).
    #[arg(long, default_value_t = 16)]
    pub negatives: usize,
    /// Sparse optimiser.
    #[arg(long, value_enum)]
    pub optimizer: Option<Optimizer>,
    /// Standard deviation of the initial factors.
    #[arg(long, default_value_t = 0.1)]
    pub init_std: f64,
    /// Random seed: same seed, same data, same result (on CPU).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Evaluation split (`auto`: each user's latest interaction when there are timestamps).
    #[arg(long, value_enum, default_value_t = SplitKind::Auto)]
    pub split: SplitKind,
    /// Interactions held out per user by `--split last`.
    #[arg(long, default_value_t = 1)]
    pub holdout: usize,
    /// Fraction held out by `--split random`, `time` (per user) and `global` (overall).
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Stop after this many epochs without improvement of the validation metric (0: never).
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// K-fold cross-validation: report each metric's mean ± std over K folds, export nothing.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Export the model trained on the training part only, instead of retraining on all data
    /// with the settings chosen on the inner split (the default, as production would).
    #[arg(long)]
    pub no_refit: bool,
    /// Behaviour weights for ranking, e.g. `view=1,click=2,cart=3,purchase=5`.
    #[arg(long, default_value = "view=1,click=2,cart=4,purchase=6")]
    pub behavior_weights: String,
    /// Users sampled for ranking metrics (0: all users).
    #[arg(long, default_value_t = 2000)]
    pub eval_users: usize,
    /// Device for the batch arithmetic.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// A validated training configuration.
#[derive(Debug, Clone, Serialize)]
pub struct TrainConfig {
    /// Objective.
    pub objective: Objective,
    /// Ranking algorithm.
    pub ranker: Ranker,
    /// iALS settings.
    pub als_iterations: usize,
    /// iALS ridge.
    pub als_reg: f64,
    /// iALS confidence scale.
    pub als_alpha: f64,
    /// Fixed recency weight (None: tuned).
    pub recency_weight: Option<f32>,
    /// Fixed recency decay (None: tuned).
    pub recency_decay: Option<f32>,
    /// Held-out interactions per user for `--split last`.
    pub holdout: usize,
    /// Factor dimension.
    pub dim: usize,
    /// Maximum epochs.
    pub epochs: usize,
    /// Learning rate.
    pub lr: f64,
    /// L2 regularisation.
    pub reg: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Negatives per positive.
    pub negatives: usize,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Initial factor standard deviation.
    pub init_std: f64,
    /// Seed.
    pub seed: u64,
    /// Split kind.
    pub split: SplitKind,
    /// Validation fraction.
    pub val_fraction: f64,
    /// Early-stopping patience.
    pub patience: usize,
    /// Cross-validation folds.
    pub folds: Option<usize>,
    /// Retrain on all data before export.
    pub refit: bool,
    /// Behaviour weights.
    pub behavior_weights: BTreeMap<String, f32>,
    /// Users sampled for ranking metrics.
    pub eval_users: usize,
    /// Device.
    pub device: DeviceKind,
}

/// Defaults tuned per objective. Rating: 5-fold cross-validation on MovieLens-100k's training
/// folds. Ranking: the validation split inside MovieLens-100k's training data (never its test
/// split), checked to stay ≥ 2× most-popular on the generated demo data.
struct Defaults {
    epochs: usize,
    lr: f64,
    reg: f64,
    optimizer: Optimizer,
}

fn defaults(objective: Objective) -> Defaults {
    match objective {
        Objective::Rating => {
            Defaults { epochs: 20, lr: 0.05, reg: 0.1, optimizer: Optimizer::RowwiseAdagrad }
        }
        Objective::Ranking => {
            Defaults { epochs: 40, lr: 0.05, reg: 0.01, optimizer: Optimizer::RowwiseAdagrad }
        }
        // The SGD-trained part of a hybrid (and of an `auto` model that becomes one) is its
        // rating head: the rating defaults.
        Objective::Hybrid | Objective::Auto => defaults(Objective::Rating),
    }
}

impl TrainConfig {
    /// Validates the flags before any work starts; errors name the flag.
    pub fn from_args(a: &TrainArgs) -> anyhow::Result<Self> {
        let d = match (a.objective, a.ranker) {
            (Objective::Ranking, Ranker::Bpr) => defaults(Objective::Ranking),
            (objective, _) => defaults(objective),
        };
        let cfg = Self {
            objective: a.objective,
            ranker: a.ranker,
            als_iterations: a.als_iterations,
            als_reg: a.als_reg,
            als_alpha: a.als_alpha,
            recency_weight: a.recency_weight,
            recency_decay: a.recency_decay,
            holdout: a.holdout,
            dim: a.dim,
            epochs: a.epochs.unwrap_or(d.epochs),
            lr: a.lr.unwrap_or(d.lr),
            reg: a.reg.unwrap_or(d.reg),
            batch_size: a.batch_size,
            negatives: a.negatives,
            optimizer: a.optimizer.unwrap_or(d.optimizer),
            init_std: a.init_std,
            seed: a.seed,
            split: a.split,
            val_fraction: a.val_fraction,
            patience: a.patience,
            folds: a.folds,
            refit: !a.no_refit,
            behavior_weights: parse_weights(&a.behavior_weights).context("--behavior-weights")?,
            eval_users: a.eval_users,
            device: a.device,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.dim == 0 || self.dim > 4096 {
            bail!("--dim must be in 1..=4096, got {}", self.dim);
        }
        if self.epochs == 0 {
            bail!("--epochs must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be a positive number, got {}", self.lr);
        }
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            bail!("--reg must be a non-negative number, got {}", self.reg);
        }
        if self.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        if self.als_iterations == 0 {
            bail!("--als-iterations must be at least 1");
        }
        if !(self.als_reg.is_finite() && self.als_reg > 0.0) {
            bail!("--als-reg must be a positive number, got {}", self.als_reg);
        }
        if !(self.als_alpha.is_finite() && self.als_alpha >= 0.0) {
            bail!("--als-alpha must be a non-negative number, got {}", self.als_alpha);
        }
        if let Some(w) = self.recency_weight
            && !(w.is_finite() && w >= 0.0)
        {
            bail!("--recency-weight must be a non-negative number, got {w}");
        }
        if let Some(g) = self.recency_decay
            && !(g.is_finite() && g > 0.0 && g <= 1.0)
        {
            bail!("--recency-decay must be in (0, 1], got {g}");
        }
        if self.holdout == 0 {
            bail!("--holdout must be at least 1");
        }
        if self.objective == Objective::Ranking && self.ranker == Ranker::Bpr && self.negatives == 0 {
            bail!("--negatives must be at least 1 for the ranking objective");
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            bail!("--init-std must be a non-negative number, got {}", self.init_std);
        }
        if !(self.val_fraction.is_finite() && (0.0..1.0).contains(&self.val_fraction)) {
            bail!("--val-fraction must be in [0, 1), got {}", self.val_fraction);
        }
        if let Some(k) = self.folds
            && !(2..=20).contains(&k)
        {
            bail!("--folds must be in 2..=20, got {k}");
        }
        if self.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
            bail!(
                "--device cuda was requested, but this trainer was built without CUDA support; \
                 rebuild with `cargo build --release -p edgerec-trainer --features cuda`"
            );
        }
        Ok(())
    }

    /// Resolves `auto` choices against the data: the objective (`hybrid` when ratings vary,
    /// else `ranking`) and the split (`last` when there are timestamps, else `random`).
    pub fn resolve(&self, data: &[Interaction]) -> Self {
        let mut cfg = self.clone();
        if cfg.objective == Objective::Auto {
            let varies = data.first().is_some_and(|f| data.iter().any(|x| x.rating != f.rating));
            cfg.objective = if varies { Objective::Hybrid } else { Objective::Ranking };
        }
        if cfg.split == SplitKind::Auto {
            cfg.split = if cfg.val_fraction == 0.0 {
                SplitKind::None
            } else if super::split::has_timestamps(data) {
                SplitKind::Last
            } else {
                SplitKind::Random
            };
        }
        cfg
    }

    /// Whether the ranking part is trained by iALS.
    pub fn uses_als(&self) -> bool {
        matches!(self.objective, Objective::Hybrid | Objective::Ranking) && self.ranker == Ranker::Als
    }

    /// The weight of an interaction for the ranking objective.
    pub fn weight(&self, behavior: Option<Behavior>) -> f32 {
        behavior.and_then(|b| self.behavior_weights.get(b.as_str()).copied()).unwrap_or(1.0)
    }
}

fn parse_weights(spec: &str) -> anyhow::Result<BTreeMap<String, f32>> {
    let mut out = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').with_context(|| format!("`{part}` is not name=weight"))?;
        let behavior = Behavior::parse(name)
            .with_context(|| format!("unknown behaviour `{name}` (view, click, cart, purchase)"))?;
        let weight: f32 =
            value.trim().parse().with_context(|| format!("weight `{value}` is not a number"))?;
        if !(weight.is_finite() && weight > 0.0) {
            bail!("weight for `{name}` must be positive, got {weight}");
        }
        out.insert(behavior.as_str().to_owned(), weight);
    }
    Ok(out)
}
