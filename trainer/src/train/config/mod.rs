//! Model hyperparameters as a checked type, in the style of linfa's `ParamGuard`: a
//! [`TrainParams`] (plain, public fields, as parsed) becomes a [`ValidParams`] only through
//! [`TrainParams::check`], and every derived configuration is built from a checked one, so
//! nothing unchecked reaches training. Experiment settings (splits, folds, refit, evaluation)
//! are a separate type: [`super::experiment::Experiment`].

mod kinds;

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;

pub use kinds::{DeviceKind, Objective, Optimizer, Ranker};

use super::sequence::SeqArgs;
use crate::dataset::{Behavior, Interaction};

/// The hyperparameters as given, each declared once, here: the field is a `trainer train` flag
/// (its doc comment is the flag's help, its default is [`TrainParams::default`]'s),
/// [`TrainParams::check`] checks it, and a [`ValidParams`] carries it as resolved into the
/// reports' `config` and the artifact's `info`. `None` means the objective's default.
///
/// The fields are in the order of `config` and `info` (the artifact's bytes depend on it);
/// `display_order` is the flag's place in `trainer train --help`, whose order the experiment
/// settings ([`super::experiment::ExperimentParams`]) share.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct TrainParams {
    /// What to learn. `auto`: the factorisation model (`hybrid` for data whose ratings vary,
    /// else `ranking`), or the `sequence` model when the data has order and the sequence model
    /// ranks better on the inner split (trained within `--seq-time-budget`).
    #[cfg_attr(feature = "cli", arg(long, value_enum, display_order = 100, default_value_t = TrainParams::default().objective))]
    pub objective: Objective,
    /// The ranking algorithm (ranking and hybrid objectives).
    #[cfg_attr(feature = "cli", arg(long, value_enum, display_order = 101, default_value_t = TrainParams::default().ranker))]
    pub ranker: Ranker,
    /// Factor dimension.
    #[cfg_attr(feature = "cli", arg(long, display_order = 107, default_value_t = TrainParams::default().dim))]
    pub dim: usize,
    /// Maximum number of epochs (early stopping may end sooner).
    #[cfg_attr(feature = "cli", arg(long, display_order = 108))]
    pub epochs: Option<usize>,
    /// Learning rate.
    #[cfg_attr(feature = "cli", arg(long, allow_negative_numbers = true, display_order = 109))]
    pub lr: Option<f64>,
    /// L2 regularisation per sample.
    #[cfg_attr(feature = "cli", arg(long, allow_negative_numbers = true, display_order = 110))]
    pub reg: Option<f64>,
    /// Interactions per batch.
    #[cfg_attr(feature = "cli", arg(long, display_order = 111, default_value_t = TrainParams::default().batch_size))]
    pub batch_size: usize,
    /// Sampled negatives per positive (ranking).
    #[cfg_attr(feature = "cli", arg(long, display_order = 112, default_value_t = TrainParams::default().negatives))]
    pub negatives: usize,
    /// Sparse optimiser.
    #[cfg_attr(feature = "cli", arg(long, value_enum, display_order = 113))]
    pub optimizer: Option<Optimizer>,
    /// Standard deviation of the initial factors.
    #[cfg_attr(feature = "cli", arg(long, display_order = 114, default_value_t = TrainParams::default().init_std))]
    pub init_std: f64,
    /// Random seed: same seed, same data, same result (on CPU).
    #[cfg_attr(feature = "cli", arg(long, display_order = 115, default_value_t = TrainParams::default().seed))]
    pub seed: u64,
    /// Stop after this many epochs without improvement of the validation metric (0: never).
    #[cfg_attr(feature = "cli", arg(long, display_order = 119, default_value_t = TrainParams::default().patience))]
    pub patience: usize,
    /// Behaviour weights for ranking, e.g. `view=1,click=2,cart=3,purchase=5`.
    #[serde(serialize_with = "weights_as_map")]
    #[cfg_attr(feature = "cli", arg(long, display_order = 122, default_value_t = TrainParams::default().behavior_weights))]
    pub behavior_weights: String,
    /// iALS: alternating rounds.
    #[cfg_attr(feature = "cli", arg(long, display_order = 102, default_value_t = TrainParams::default().als_iterations))]
    pub als_iterations: usize,
    /// iALS: the ridge λ.
    #[cfg_attr(feature = "cli", arg(long, display_order = 103, default_value_t = TrainParams::default().als_reg))]
    pub als_reg: f64,
    /// iALS: confidence per unit of weight α (c = 1 + α·w).
    #[cfg_attr(feature = "cli", arg(long, display_order = 104, default_value_t = TrainParams::default().als_alpha))]
    pub als_alpha: f64,
    /// Weight of the recency component (default: tuned on the inner validation split).
    #[cfg_attr(feature = "cli", arg(long, display_order = 105))]
    pub recency_weight: Option<f32>,
    /// Decay per position of the recency component, in (0, 1] (default: tuned with the weight).
    #[cfg_attr(feature = "cli", arg(long, display_order = 106))]
    pub recency_decay: Option<f32>,
    /// Device for the batch arithmetic.
    #[cfg_attr(feature = "cli", arg(long, value_enum, display_order = 124, default_value_t = TrainParams::default().device))]
    pub device: DeviceKind,
    /// The sequence model's settings.
    #[cfg_attr(feature = "cli", command(flatten, next_display_order = 125))]
    pub seq: SeqArgs,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            objective: Objective::Auto,
            ranker: Ranker::Als,
            dim: 64,
            epochs: None,
            lr: None,
            reg: None,
            batch_size: 1024,
            negatives: 16,
            optimizer: None,
            init_std: 0.1,
            seed: 42,
            patience: 3,
            behavior_weights: "view=1,click=2,cart=4,purchase=6".into(),
            als_iterations: 15,
            als_reg: 20.0,
            als_alpha: 1.0,
            recency_weight: None,
            recency_decay: None,
            device: DeviceKind::Cpu,
            seq: SeqArgs::default(),
        }
    }
}

/// Validated hyperparameters: only [`TrainParams::check`] and the methods below make one. Its
/// parameters have every objective default filled in; it serialises as they do, plus `auto`.
#[derive(Debug, Clone, Serialize)]
pub struct ValidParams {
    #[serde(flatten)]
    params: TrainParams,
    /// `params.behavior_weights`, parsed.
    #[serde(skip)]
    behavior_weights: BTreeMap<String, f32>,
    /// Whether the objective was `auto`: the pipeline then also tries the sequence model.
    auto: bool,
}

/// Defaults tuned per objective. Rating (and a hybrid's rating head): 5-fold cross-validation
/// on MovieLens-100k's training folds. BPR: the validation split inside MovieLens-100k's
/// training data. iALS (`als_reg` 20, `als_alpha` 1): a grid (λ 1–100, α 1–19) scored by
/// NDCG@10 on two inner leave-last-out splits, of MovieLens-100k's time-ordered training part
/// and of the generated demo data; the pair with the best mean NDCG relative to each data set's
/// best. MovieLens alone preferred λ 5, α 19 and the demo data λ 50, α 1.
struct Defaults {
    epochs: usize,
    lr: f64,
    reg: f64,
    optimizer: Optimizer,
}

fn defaults(objective: Objective, ranker: Ranker) -> Defaults {
    match (objective, ranker) {
        (Objective::Ranking, Ranker::Bpr) => {
            Defaults { epochs: 40, lr: 0.05, reg: 0.01, optimizer: Optimizer::RowwiseAdagrad }
        }
        _ => Defaults { epochs: 20, lr: 0.05, reg: 0.1, optimizer: Optimizer::RowwiseAdagrad },
    }
}

impl TrainParams {
    /// Validates every hyperparameter (errors name the flag) and fills in the defaults.
    pub fn check(mut self) -> anyhow::Result<ValidParams> {
        let d = defaults(self.objective, self.ranker);
        self.epochs = Some(self.epochs.unwrap_or(d.epochs));
        self.lr = Some(self.lr.unwrap_or(d.lr));
        self.reg = Some(self.reg.unwrap_or(d.reg));
        self.optimizer = Some(self.optimizer.unwrap_or(d.optimizer));
        let behavior_weights = parse_weights(&self.behavior_weights).context("--behavior-weights")?;
        let p = ValidParams { params: self, behavior_weights, auto: false };
        p.validate()?;
        Ok(p)
    }
}

impl ValidParams {
    fn validate(&self) -> anyhow::Result<()> {
        let p = &self.params;
        let (epochs, lr, reg) = (self.epochs(), self.lr(), self.reg());
        if p.dim == 0 || p.dim > 4096 {
            bail!("--dim must be in 1..=4096, got {}", p.dim);
        }
        if epochs == 0 {
            bail!("--epochs must be at least 1");
        }
        if !(lr.is_finite() && lr > 0.0) {
            bail!("--lr must be a positive number, got {}", lr);
        }
        if !(reg.is_finite() && reg >= 0.0) {
            bail!("--reg must be a non-negative number, got {}", reg);
        }
        if p.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        if p.als_iterations == 0 {
            bail!("--als-iterations must be at least 1");
        }
        if !(p.als_reg.is_finite() && p.als_reg > 0.0) {
            bail!("--als-reg must be a positive number, got {}", p.als_reg);
        }
        if !(p.als_alpha.is_finite() && p.als_alpha >= 0.0) {
            bail!("--als-alpha must be a non-negative number, got {}", p.als_alpha);
        }
        if let Some(w) = p.recency_weight
            && !(w.is_finite() && w >= 0.0)
        {
            bail!("--recency-weight must be a non-negative number, got {w}");
        }
        if let Some(g) = p.recency_decay
            && !(g.is_finite() && g > 0.0 && g <= 1.0)
        {
            bail!("--recency-decay must be in (0, 1], got {g}");
        }
        if p.objective == Objective::Ranking && p.ranker == Ranker::Bpr && p.negatives == 0 {
            bail!("--negatives must be at least 1 for the ranking objective");
        }
        if !(p.init_std.is_finite() && p.init_std >= 0.0) {
            bail!("--init-std must be a non-negative number, got {}", p.init_std);
        }
        p.seq.validate()?;
        if p.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
            bail!(
                "--device cuda was requested, but this trainer was built without CUDA support; \
                 rebuild with `cargo build --release -p edgerec-trainer --features cuda`"
            );
        }
        Ok(())
    }

    /// Resolves `auto` against the data: `hybrid` when the ratings vary, else `ranking`; the
    /// pipeline then compares that with the sequence model on the inner split
    /// ([`ValidParams::auto`]).
    pub fn resolve(&self, data: &[Interaction]) -> Self {
        let mut p = self.clone();
        if p.params.objective == Objective::Auto {
            let varies = data.first().is_some_and(|f| data.iter().any(|x| x.rating != f.rating));
            p.params.objective = if varies { Objective::Hybrid } else { Objective::Ranking };
            p.auto = true;
        }
        p
    }

    /// Whether the objective was `auto` (resolved by [`ValidParams::resolve`]).
    pub fn auto(&self) -> bool {
        self.auto
    }

    /// The parameters, every objective default filled in: a hyperparameter without a getter
    /// below is read here.
    pub fn params(&self) -> &TrainParams {
        &self.params
    }

    /// The same settings with the objective that `auto` chose.
    pub fn chosen(&self, objective: Objective) -> Self {
        let mut p = self.clone();
        p.params.objective = objective;
        p
    }

    /// The sequence model's time budget in seconds: the flag, or under `auto` its default.
    pub fn seq_time_budget(&self) -> Option<f64> {
        self.params.seq.time_budget.or(self.auto.then_some(super::sequence::AUTO_TIME_BUDGET))
    }

    /// The same settings for the rating model (a hybrid's rating head): the defaults of the
    /// two coincide, so nothing needs re-checking.
    pub fn rating_head(&self) -> Self {
        self.chosen(Objective::Rating)
    }

    /// The same settings, trained for exactly `epochs` epochs (at least 1) with no early stop.
    pub fn fixed_epochs(&self, epochs: usize) -> Self {
        let mut p = self.without_early_stopping();
        p.params.epochs = Some(epochs.max(1));
        p
    }

    /// The same settings without early stopping.
    pub fn without_early_stopping(&self) -> Self {
        let mut p = self.clone();
        p.params.patience = 0;
        p
    }

    /// Whether the ranking part is trained by iALS.
    pub fn uses_als(&self) -> bool {
        matches!(self.params.objective, Objective::Hybrid | Objective::Ranking)
            && self.params.ranker == Ranker::Als
    }

    /// The weight of an interaction for the ranking objectives.
    pub fn weight(&self, behavior: Option<Behavior>) -> f32 {
        behavior.and_then(|b| self.behavior_weights.get(b.as_str()).copied()).unwrap_or(1.0)
    }

    /// The objective's defaults, for the parameters [`TrainParams::check`] filled in.
    fn defaults(&self) -> Defaults {
        defaults(self.params.objective, self.params.ranker)
    }
    /// Maximum epochs.
    pub fn epochs(&self) -> usize {
        self.params.epochs.unwrap_or_else(|| self.defaults().epochs)
    }
    /// Learning rate.
    pub fn lr(&self) -> f64 {
        self.params.lr.unwrap_or_else(|| self.defaults().lr)
    }
    /// L2 regularisation.
    pub fn reg(&self) -> f64 {
        self.params.reg.unwrap_or_else(|| self.defaults().reg)
    }
    /// Sparse optimiser.
    pub fn optimizer(&self) -> Optimizer {
        self.params.optimizer.unwrap_or_else(|| self.defaults().optimizer)
    }
    /// What to learn.
    pub fn objective(&self) -> Objective {
        self.params.objective
    }
    /// Factor dimension.
    pub fn dim(&self) -> usize {
        self.params.dim
    }
    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.params.batch_size
    }
    /// Negatives per positive (BPR).
    pub fn negatives(&self) -> usize {
        self.params.negatives
    }
    /// Initial factor standard deviation.
    pub fn init_std(&self) -> f64 {
        self.params.init_std
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }
    /// Early-stopping patience.
    pub fn patience(&self) -> usize {
        self.params.patience
    }
    /// iALS rounds.
    pub fn als_iterations(&self) -> usize {
        self.params.als_iterations
    }
    /// iALS ridge.
    pub fn als_reg(&self) -> f64 {
        self.params.als_reg
    }
    /// iALS confidence scale.
    pub fn als_alpha(&self) -> f64 {
        self.params.als_alpha
    }
    /// A fixed recency weight.
    pub fn recency_weight(&self) -> Option<f32> {
        self.params.recency_weight
    }
    /// A fixed recency decay.
    pub fn recency_decay(&self) -> Option<f32> {
        self.params.recency_decay
    }
    /// Device.
    pub fn device(&self) -> DeviceKind {
        self.params.device
    }
    /// The sequence model's settings.
    pub fn seq(&self) -> &SeqArgs {
        &self.params.seq
    }
}

/// Serialises the weights as checked: a map from behaviour to weight (the form `config` has
/// always had), not the flag's text.
fn weights_as_map<S: serde::Serializer>(spec: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let weights = parse_weights(spec).map_err(serde::ser::Error::custom)?;
    weights.serialize(serializer)
}

fn parse_weights(spec: &str) -> anyhow::Result<BTreeMap<String, f32>> {
    let mut out = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').with_context(|| format!("`{part}` is not name=weight"))?;
        let behavior = crate::dataset::parse_behavior_name(name)
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
