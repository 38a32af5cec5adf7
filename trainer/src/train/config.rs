//! Model hyperparameters as a checked type, in the style of linfa's `ParamGuard`: a
//! [`TrainParams`] (plain, public fields, as parsed) becomes a [`ValidParams`] only through
//! [`TrainParams::check`], and every derived configuration is built from a checked one, so
//! nothing unchecked reaches training. Experiment settings (splits, folds, refit, evaluation)
//! are a separate type: [`super::experiment::Experiment`].

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde::Serialize;

use super::sequence::SeqArgs;
use crate::dataset::{Behavior, Interaction};

/// What the model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Chosen by the data: `hybrid` when the ratings vary, else `ranking`; or `sequence` when
    /// the data has order and the sequence model ranks better on the inner split.
    Auto,
    /// A ranking model (iALS) that orders the lists, plus a rating head (the rating model)
    /// that reports `predicted_rating` on the rating scale.
    Hybrid,
    /// Explicit ratings only: squared error with L2 regularisation.
    Rating,
    /// Implicit feedback only, trained by `--ranker` (iALS by default, or BPR).
    Ranking,
    /// Next-item prediction: self-attention over each user's latest items (SASRec-class),
    /// trained with a softmax cross-entropy; `--seq-*` flags.
    Sequence,
}

impl Objective {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Hybrid => "hybrid",
            Self::Rating => "rating",
            Self::Ranking => "ranking",
            Self::Sequence => "sequence",
        }
    }
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

/// Hyperparameters as given, before validation. `None` means the objective's default.
#[derive(Debug, Clone)]
pub struct TrainParams {
    /// What to learn.
    pub objective: Objective,
    /// The ranking algorithm (ranking and hybrid objectives).
    pub ranker: Ranker,
    /// Factor dimension.
    pub dim: usize,
    /// Maximum epochs of the SGD-trained part (early stopping may end sooner).
    pub epochs: Option<usize>,
    /// Learning rate.
    pub lr: Option<f64>,
    /// L2 regularisation per sample.
    pub reg: Option<f64>,
    /// Interactions per batch.
    pub batch_size: usize,
    /// Sampled negatives per positive (BPR).
    pub negatives: usize,
    /// Sparse optimiser.
    pub optimizer: Option<Optimizer>,
    /// Standard deviation of the initial factors.
    pub init_std: f64,
    /// Seed of initialisation and sampling.
    pub seed: u64,
    /// Epochs without improvement before early stopping (0: never).
    pub patience: usize,
    /// Behaviour weights, e.g. `view=1,click=2,cart=4,purchase=6`.
    pub behavior_weights: String,
    /// iALS rounds.
    pub als_iterations: usize,
    /// iALS ridge λ.
    pub als_reg: f64,
    /// iALS confidence per unit of weight α.
    pub als_alpha: f64,
    /// A fixed recency weight (None: tuned on the inner split).
    pub recency_weight: Option<f32>,
    /// A fixed recency decay (None: tuned on the inner split).
    pub recency_decay: Option<f32>,
    /// Where the batch arithmetic runs.
    pub device: DeviceKind,
    /// The sequence model's settings.
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

/// Validated hyperparameters: only [`TrainParams::check`] and the methods below make one.
#[derive(Debug, Clone, Serialize)]
pub struct ValidParams {
    objective: Objective,
    ranker: Ranker,
    dim: usize,
    epochs: usize,
    lr: f64,
    reg: f64,
    batch_size: usize,
    negatives: usize,
    optimizer: Optimizer,
    init_std: f64,
    seed: u64,
    patience: usize,
    behavior_weights: BTreeMap<String, f32>,
    als_iterations: usize,
    als_reg: f64,
    als_alpha: f64,
    recency_weight: Option<f32>,
    recency_decay: Option<f32>,
    device: DeviceKind,
    seq: SeqArgs,
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
    pub fn check(self) -> anyhow::Result<ValidParams> {
        let d = defaults(self.objective, self.ranker);
        let p = ValidParams {
            objective: self.objective,
            ranker: self.ranker,
            dim: self.dim,
            epochs: self.epochs.unwrap_or(d.epochs),
            lr: self.lr.unwrap_or(d.lr),
            reg: self.reg.unwrap_or(d.reg),
            batch_size: self.batch_size,
            negatives: self.negatives,
            optimizer: self.optimizer.unwrap_or(d.optimizer),
            init_std: self.init_std,
            seed: self.seed,
            patience: self.patience,
            behavior_weights: parse_weights(&self.behavior_weights).context("--behavior-weights")?,
            als_iterations: self.als_iterations,
            als_reg: self.als_reg,
            als_alpha: self.als_alpha,
            recency_weight: self.recency_weight,
            recency_decay: self.recency_decay,
            device: self.device,
            seq: self.seq,
            auto: false,
        };
        p.validate()?;
        Ok(p)
    }
}

impl ValidParams {
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
        if self.objective == Objective::Ranking && self.ranker == Ranker::Bpr && self.negatives == 0 {
            bail!("--negatives must be at least 1 for the ranking objective");
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            bail!("--init-std must be a non-negative number, got {}", self.init_std);
        }
        self.seq.validate()?;
        if self.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
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
        if p.objective == Objective::Auto {
            let varies = data.first().is_some_and(|f| data.iter().any(|x| x.rating != f.rating));
            p.objective = if varies { Objective::Hybrid } else { Objective::Ranking };
            p.auto = true;
        }
        p
    }

    /// Whether the objective was `auto` (resolved by [`ValidParams::resolve`]).
    pub fn auto(&self) -> bool {
        self.auto
    }

    /// The same settings with the objective that `auto` chose.
    pub fn chosen(&self, objective: Objective) -> Self {
        Self { objective, ..self.clone() }
    }

    /// The sequence model's time budget in seconds: the flag, or under `auto` its default.
    pub fn seq_time_budget(&self) -> Option<f64> {
        self.seq.time_budget.or(self.auto.then_some(super::sequence::AUTO_TIME_BUDGET))
    }

    /// The same settings for the rating model (a hybrid's rating head): the defaults of the
    /// two coincide, so nothing needs re-checking.
    pub fn rating_head(&self) -> Self {
        Self { objective: Objective::Rating, ..self.clone() }
    }

    /// The same settings, trained for exactly `epochs` epochs (at least 1) with no early stop.
    pub fn fixed_epochs(&self, epochs: usize) -> Self {
        Self { epochs: epochs.max(1), patience: 0, ..self.clone() }
    }

    /// The same settings without early stopping.
    pub fn without_early_stopping(&self) -> Self {
        Self { patience: 0, ..self.clone() }
    }

    /// Whether the ranking part is trained by iALS.
    pub fn uses_als(&self) -> bool {
        matches!(self.objective, Objective::Hybrid | Objective::Ranking) && self.ranker == Ranker::Als
    }

    /// The weight of an interaction for the ranking objectives.
    pub fn weight(&self, behavior: Option<Behavior>) -> f32 {
        behavior.and_then(|b| self.behavior_weights.get(b.as_str()).copied()).unwrap_or(1.0)
    }

    /// What to learn.
    pub fn objective(&self) -> Objective {
        self.objective
    }
    /// Factor dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Maximum epochs.
    pub fn epochs(&self) -> usize {
        self.epochs
    }
    /// Learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }
    /// L2 regularisation.
    pub fn reg(&self) -> f64 {
        self.reg
    }
    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
    /// Negatives per positive (BPR).
    pub fn negatives(&self) -> usize {
        self.negatives
    }
    /// Sparse optimiser.
    pub fn optimizer(&self) -> Optimizer {
        self.optimizer
    }
    /// Initial factor standard deviation.
    pub fn init_std(&self) -> f64 {
        self.init_std
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Early-stopping patience.
    pub fn patience(&self) -> usize {
        self.patience
    }
    /// iALS rounds.
    pub fn als_iterations(&self) -> usize {
        self.als_iterations
    }
    /// iALS ridge.
    pub fn als_reg(&self) -> f64 {
        self.als_reg
    }
    /// iALS confidence scale.
    pub fn als_alpha(&self) -> f64 {
        self.als_alpha
    }
    /// A fixed recency weight.
    pub fn recency_weight(&self) -> Option<f32> {
        self.recency_weight
    }
    /// A fixed recency decay.
    pub fn recency_decay(&self) -> Option<f32> {
        self.recency_decay
    }
    /// Device.
    pub fn device(&self) -> DeviceKind {
        self.device
    }
    /// The sequence model's settings.
    pub fn seq(&self) -> &SeqArgs {
        &self.seq
    }
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
