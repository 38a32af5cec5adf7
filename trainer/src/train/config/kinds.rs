//! The choices among the hyperparameters: objective, ranker, optimiser and device.

use serde::Serialize;

/// What the model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Ranker {
    /// Implicit alternating least squares with conjugate-gradient steps.
    Als,
    /// BPR, a pairwise loss with sampled negatives, by candle and the sparse optimisers.
    Bpr,
}

/// The sparse optimiser applied to the rows a batch touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain SGD.
    Sgd,
    /// Adagrad: per-coordinate learning rates.
    Adagrad,
    /// Row-wise Adagrad: one accumulator per row, fed the row's mean squared gradient (as in
    /// FBGEMM and TorchRec for embedding tables): no per-coordinate state to stream through
    /// memory, and one square root per row. The default.
    #[cfg_attr(feature = "cli", value(name = "rowwise-adagrad"))]
    #[serde(rename = "rowwise-adagrad")]
    RowwiseAdagrad,
    /// Lazy Adam: moments and step counts kept per row, updated only when the row is touched.
    Adam,
}

/// Where the batch arithmetic runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU (always available).
    Cpu,
    /// An NVIDIA GPU (needs a build with `--features cuda`).
    Cuda,
}
