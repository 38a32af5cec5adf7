//! The flags of `trainer train`: the hyperparameters and the experiment settings, each declared
//! once in its own type ([`TrainParams`], [`ExperimentParams`]) and flattened here.

use crate::train::config::{TrainParams, ValidParams};
use crate::train::experiment::{Experiment, ExperimentParams};

/// The flags of `trainer train`: hyperparameters and experiment settings. Their defaults are
/// [`TrainParams::default`]'s and [`ExperimentParams::default`]'s.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The hyperparameters, as given.
    #[command(flatten)]
    pub model: TrainParams,
    /// The experiment settings, as given (their seed is the hyperparameters').
    #[command(flatten)]
    pub experiment: ExperimentParams,
}

impl TrainArgs {
    /// The hyperparameters, checked.
    pub fn params(&self) -> anyhow::Result<ValidParams> {
        self.model.clone().check()
    }

    /// The experiment settings, checked; `--seed` seeds the splits and sampling too.
    pub fn experiment(&self) -> anyhow::Result<Experiment> {
        ExperimentParams { seed: self.model.seed, ..self.experiment.clone() }.check()
    }
}
