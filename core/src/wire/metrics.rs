//! `GET /admin/metrics`'s answer: online metrics per model version and variant, as the Worker
//! sends them and `trainer metrics` and `trainer publish --promote` read them.

use serde::{Deserialize, Serialize};

/// Which model of a canary experiment answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The current model.
    Current,
    /// The canary, served to a share of users.
    Canary,
}

impl Variant {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Canary => "canary",
        }
    }
}

/// A rate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// The observed rate (or difference of rates).
    pub rate: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// One model version's figures in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantMetrics {
    /// The artifact version that answered.
    pub model_version: String,
    /// Whether it answered as the current model or as the canary.
    pub variant: Variant,
    /// Answers served in the period.
    pub impressions: u64,
    /// Distinct users among them (anonymous answers count as one).
    pub users: u64,
    /// Clicks attributed to those answers within the window.
    pub clicks: u64,
    /// Carts attributed.
    pub carts: u64,
    /// Purchases attributed.
    pub purchases: u64,
    /// Share of answers with at least one attributed click (Wilson 95 %); null without answers.
    pub ctr: Option<Rate>,
    /// Share of answers with at least one attributed purchase.
    pub conversion: Option<Rate>,
}

/// The canary minus the current model (Newcombe's 95 % interval for each difference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// CTR difference.
    pub ctr: Rate,
    /// Conversion difference.
    pub conversion: Rate,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Start of the period (RFC 3339).
    pub since: String,
    /// End of the period, exclusive (RFC 3339).
    pub until: String,
    /// The attribution window.
    pub window_hours: usize,
    /// One row per model version and variant that answered in the period.
    pub variants: Vec<VariantMetrics>,
    /// The canary minus the current model; `null` unless both served in the period.
    pub canary_vs_current: Option<Comparison>,
}
