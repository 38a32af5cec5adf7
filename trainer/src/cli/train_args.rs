//! The clap flags of `trainer train`, turned into checked hyperparameters and experiment
//! settings.

use crate::train::config::{
    DeviceKind, Objective, Optimizer, Ranker, TrainParams as P, TrainParams, ValidParams,
};
use crate::train::experiment::{Experiment, ExperimentParams as E, ExperimentParams, SplitKind};
use crate::train::sequence::SeqArgs;

/// The flags of `trainer train`: hyperparameters and experiment settings. Their defaults are
/// [`TrainParams::default`]'s and [`ExperimentParams::default`]'s.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// What to learn. `auto`: the factorisation model (`hybrid` for data whose ratings vary,
    /// else `ranking`), or the `sequence` model when the data has order and the sequence model
    /// ranks better on the inner split (trained within `--seq-time-budget`).
    #[arg(long, value_enum, default_value_t = P::default().objective)]
    pub objective: Objective,
    /// The ranking algorithm (ranking and hybrid objectives).
    #[arg(long, value_enum, default_value_t = P::default().ranker)]
    pub ranker: Ranker,
    /// iALS: alternating rounds.
    #[arg(long, default_value_t = P::default().als_iterations)]
    pub als_iterations: usize,
    /// iALS: the ridge λ.
    #[arg(long, default_value_t = P::default().als_reg)]
    pub als_reg: f64,
    /// iALS: confidence per unit of weight α (c = 1 + α·w).
    #[arg(long, default_value_t = P::default().als_alpha)]
    pub als_alpha: f64,
    /// Weight of the recency component (default: tuned on the inner validation split).
    #[arg(long)]
    pub recency_weight: Option<f32>,
    /// Decay per position of the recency component, in (0, 1] (default: tuned with the weight).
    #[arg(long)]
    pub recency_decay: Option<f32>,
    /// Factor dimension.
    #[arg(long, default_value_t = P::default().dim)]
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
    #[arg(long, default_value_t = P::default().batch_size)]
    pub batch_size: usize,
    /// Sampled negatives per positive (ranking).
    #[arg(long, default_value_t = P::default().negatives)]
    pub negatives: usize,
    /// Sparse optimiser.
    #[arg(long, value_enum)]
    pub optimizer: Option<Optimizer>,
    /// Standard deviation of the initial factors.
    #[arg(long, default_value_t = P::default().init_std)]
    pub init_std: f64,
    /// Random seed: same seed, same data, same result (on CPU).
    #[arg(long, default_value_t = P::default().seed)]
    pub seed: u64,
    /// Evaluation split (`auto`: each user's latest interaction when there are timestamps).
    #[arg(long, value_enum, default_value_t = E::default().split)]
    pub split: SplitKind,
    /// Interactions held out per user by `--split last`.
    #[arg(long, default_value_t = E::default().holdout)]
    pub holdout: usize,
    /// Fraction held out by `--split random`, `time` (per user) and `global` (overall).
    #[arg(long, default_value_t = E::default().val_fraction)]
    pub val_fraction: f64,
    /// Stop after this many epochs without improvement of the validation metric (0: never).
    #[arg(long, default_value_t = P::default().patience)]
    pub patience: usize,
    /// K-fold cross-validation: report each metric's mean ± std over K folds, export nothing.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Export the model trained on the training part only, instead of retraining on all data
    /// with the settings chosen on the inner split (the default, as production would).
    #[arg(long)]
    pub no_refit: bool,
    /// Behaviour weights for ranking, e.g. `view=1,click=2,cart=3,purchase=5`.
    #[arg(long, default_value_t = P::default().behavior_weights)]
    pub behavior_weights: String,
    /// Users sampled for ranking metrics (0: all users).
    #[arg(long, default_value_t = E::default().eval_users)]
    pub eval_users: usize,
    /// Device for the batch arithmetic.
    #[arg(long, value_enum, default_value_t = P::default().device)]
    pub device: DeviceKind,
    /// The sequence model's settings.
    #[command(flatten)]
    pub seq: SeqArgs,
}

impl TrainArgs {
    /// The hyperparameters, checked.
    pub fn params(&self) -> anyhow::Result<ValidParams> {
        TrainParams {
            objective: self.objective,
            ranker: self.ranker,
            dim: self.dim,
            epochs: self.epochs,
            lr: self.lr,
            reg: self.reg,
            batch_size: self.batch_size,
            negatives: self.negatives,
            optimizer: self.optimizer,
            init_std: self.init_std,
            seed: self.seed,
            patience: self.patience,
            behavior_weights: self.behavior_weights.clone(),
            als_iterations: self.als_iterations,
            als_reg: self.als_reg,
            als_alpha: self.als_alpha,
            recency_weight: self.recency_weight,
            recency_decay: self.recency_decay,
            device: self.device,
            seq: self.seq,
        }
        .check()
    }

    /// The experiment settings, checked.
    pub fn experiment(&self) -> anyhow::Result<Experiment> {
        ExperimentParams {
            split: self.split,
            holdout: self.holdout,
            val_fraction: self.val_fraction,
            folds: self.folds,
            refit: !self.no_refit,
            eval_users: self.eval_users,
            seed: self.seed,
        }
        .check()
    }
}
