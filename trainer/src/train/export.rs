//! Turning trained weights into a core artifact, and writing it atomically.

use edgerec_core::{ModelBuilder, ModelKind};

use super::config::{Objective, ValidParams};
use super::tables::Factors;
use crate::dataset::{Dataset, Interaction};

/// The core's model kind for a training objective.
pub fn kind(objective: Objective) -> ModelKind {
    match objective {
        Objective::Rating => ModelKind::Rating,
        Objective::Ranking | Objective::Hybrid | Objective::Sequence | Objective::Auto => ModelKind::Ranking,
    }
}

/// The value stored for a seen interaction: the rating, or the behaviour weight.
pub fn seen_value(cfg: &ValidParams, x: &Interaction) -> f32 {
    match cfg.objective() {
        Objective::Rating => x.rating,
        Objective::Ranking | Objective::Hybrid | Objective::Sequence | Objective::Auto => {
            cfg.weight(x.behavior)
        }
    }
}

/// A builder holding the weights, the dataset's IDs and categories, and `seen` as the
/// interactions to exclude at serving time. Duplicate (user, item) pairs keep the last value.
pub fn builder(
    f: &Factors,
    kind: ModelKind,
    data: &Dataset,
    seen: impl Iterator<Item = (u32, u32, f32)>,
    rating_range: Option<(f32, f32)>,
) -> ModelBuilder {
    let mut b = ModelBuilder::new(kind, f.user.dim);
    b.global_bias = f.global;
    b.user_ids = data.user_ids.clone();
    b.item_ids = data.item_ids.clone();
    b.user_factors = f.user.data.clone();
    b.item_factors = f.item.data.clone();
    b.user_bias = f.user_bias.data.clone();
    b.item_bias = f.item_bias.data.clone();
    let mut pairs: Vec<(u32, u32, f32)> = seen.collect();
    pairs.sort_by_key(|&(u, i, _)| (u, i));
    pairs.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0 && later.1 == earlier.1;
        if same {
            earlier.2 = later.2;
        }
        same
    });
    b.seen = pairs;
    b.item_categories = data.item_categories.clone();
    b.rating_range = rating_range;
    b
}

/// The observed rating scale of a dataset.
pub fn rating_range(data: &[Interaction]) -> Option<(f32, f32)> {
    let lo = data.iter().map(|x| x.rating).fold(f32::INFINITY, f32::min);
    let hi = data.iter().map(|x| x.rating).fold(f32::NEG_INFINITY, f32::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}
