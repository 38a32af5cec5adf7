//! Experiment settings, separate from the model's hyperparameters: how the data is split for
//! evaluation, cross-validation, whether the exported model is retrained on all data, and how
//! many users the ranking metrics sample. Checked like the hyperparameters.

use anyhow::bail;
use serde::Serialize;

use crate::dataset::Interaction;

/// How the validation split is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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

/// Experiment settings as given, each declared once, here: the field is a `trainer train` flag
/// (its doc comment is the flag's help, its default is [`ExperimentParams::default`]'s), and
/// `display_order` places it among the hyperparameters' flags
/// ([`super::config::TrainParams`]).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct ExperimentParams {
    /// Evaluation split (`auto`: each user's latest interaction when there are timestamps).
    #[cfg_attr(
        feature = "cli",
        arg(long, value_enum, display_order = 116, default_value_t = ExperimentParams::default().split)
    )]
    pub split: SplitKind,
    /// Interactions held out per user by `--split last`.
    #[cfg_attr(feature = "cli", arg(long, display_order = 117, default_value_t = ExperimentParams::default().holdout))]
    pub holdout: usize,
    /// Fraction held out by `--split random`, `time` (per user) and `global` (overall).
    #[cfg_attr(
        feature = "cli",
        arg(long, display_order = 118, default_value_t = ExperimentParams::default().val_fraction)
    )]
    pub val_fraction: f64,
    /// K-fold cross-validation: report each metric's mean ± std over K folds, export nothing.
    #[cfg_attr(feature = "cli", arg(long, display_order = 120))]
    pub folds: Option<usize>,
    /// Export the model trained on the training part only, instead of retraining on all data
    /// with the settings chosen on the inner split (the default, as production would).
    // The field says whether to refit; the flag `--no-refit` clears it.
    #[cfg_attr(feature = "cli", arg(long = "no-refit", action = clap::ArgAction::SetFalse, display_order = 121))]
    pub refit: bool,
    /// Users sampled for ranking metrics (0: all users).
    #[cfg_attr(
        feature = "cli",
        arg(long, display_order = 123, default_value_t = ExperimentParams::default().eval_users)
    )]
    pub eval_users: usize,
    /// Seed of splits and user sampling: on the command line, the hyperparameters' `--seed`.
    #[cfg_attr(feature = "cli", arg(skip = ExperimentParams::default().seed))]
    pub seed: u64,
}

impl Default for ExperimentParams {
    fn default() -> Self {
        Self {
            split: SplitKind::Auto,
            holdout: 1,
            val_fraction: 0.2,
            folds: None,
            refit: true,
            eval_users: 2000,
            seed: 42,
        }
    }
}

/// Checked experiment settings.
#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    split: SplitKind,
    holdout: usize,
    val_fraction: f64,
    folds: Option<usize>,
    refit: bool,
    eval_users: usize,
    seed: u64,
}

impl ExperimentParams {
    /// Validates the settings; errors name the flag.
    pub fn check(self) -> anyhow::Result<Experiment> {
        if !(self.val_fraction.is_finite() && (0.0..1.0).contains(&self.val_fraction)) {
            bail!("--val-fraction must be in [0, 1), got {}", self.val_fraction);
        }
        if let Some(k) = self.folds
            && !(2..=20).contains(&k)
        {
            bail!("--folds must be in 2..=20, got {k}");
        }
        if self.holdout == 0 {
            bail!("--holdout must be at least 1");
        }
        Ok(Experiment {
            split: self.split,
            holdout: self.holdout,
            val_fraction: self.val_fraction,
            folds: self.folds,
            refit: self.refit,
            eval_users: self.eval_users,
            seed: self.seed,
        })
    }
}

impl Experiment {
    /// Resolves `auto` against the data: `last` with timestamps, `random` without, and no
    /// split at all for `--val-fraction 0`.
    pub fn resolve(&self, data: &[Interaction]) -> Self {
        let mut e = self.clone();
        if e.split == SplitKind::Auto {
            e.split = if e.val_fraction == 0.0 {
                SplitKind::None
            } else if super::split::has_timestamps(data) {
                SplitKind::Last
            } else {
                SplitKind::Random
            };
        }
        e
    }

    /// Evaluation split.
    pub fn split(&self) -> SplitKind {
        self.split
    }
    /// Interactions held out per user by `last`.
    pub fn holdout(&self) -> usize {
        self.holdout
    }
    /// Share held out by `random`, `time` and `global`.
    pub fn val_fraction(&self) -> f64 {
        self.val_fraction
    }
    /// Cross-validation folds.
    pub fn folds(&self) -> Option<usize> {
        self.folds
    }
    /// Whether the exported model is retrained on all data.
    pub fn refit(&self) -> bool {
        self.refit
    }
    /// Users sampled for ranking metrics.
    pub fn eval_users(&self) -> usize {
        self.eval_users
    }
    /// Seed of splits and sampling.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
