//! The model layer: the loaded [`Model`], validated views into an artifact's bytes, and its
//! parts, each of which reads and checks its own tensors (the item factors, the recency
//! component, the rating head, the sequence network), plus loading (`load`) and the 2-D map
//! (`projection`). It imports the format, the kernel and the index (a part of the model); the
//! queries are built on it, and it never imports them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use self::factors::ItemFactors;
use self::rating_head::RatingHead;
use self::recency::Recency;
use self::sequence::Sequence;
use crate::format::strings::StrTable;
use crate::index::{IndexInfo, Ivf, Search};
use crate::{Error, Result, names};

pub(crate) mod factors;
mod load;
mod owned;
mod projection;
pub(crate) mod rating_head;
pub(crate) mod recency;
pub(crate) mod sequence;

pub use factors::Quantization;
pub use owned::OwnedModel;
pub use projection::{ITEM_MAP_SAMPLE, pca2};
pub use recency::{MAX_RECENCY_WINDOW, RecencyInfo};
pub use sequence::{MAX_SEQUENCE_BLOCKS, MAX_SEQUENCE_LEN, SequenceInfo};

/// The newest artifact format version, which this build writes for a model with compact item
/// tables ([`crate::ModelBuilder::compact_item_tables`]); a model without them is written as
/// version 4 with a sequence part, else 3 with an index (items numbered list by list), else 2.
/// It reads every version from [`OLDEST_FORMAT_VERSION`] on.
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// What the model was trained for, which decides what its scores mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Explicit ratings (MSE). Scores are predicted ratings.
    Rating,
    /// Implicit feedback (pairwise ranking). Scores are relative preferences.
    Ranking,
}

impl ModelKind {
    /// The name stored in the artifact's metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rating => "rating",
            Self::Ranking => "ranking",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rating" => Ok(Self::Rating),
            "ranking" => Ok(Self::Ranking),
            other => Err(Error::Metadata(format!("unknown model_kind `{other}`"))),
        }
    }
}

/// A matrix-factorisation model loaded from an artifact.
///
/// Factor matrices borrow the artifact's bytes when they are 4-byte aligned (the normal case:
/// safetensors aligns its data section) and are copied only otherwise.
#[derive(Debug)]
pub struct Model<'a> {
    pub(crate) version: u32,
    pub(crate) kind: ModelKind,
    pub(crate) dim: usize,
    pub(crate) global_bias: f32,
    pub(crate) user_factors: Cow<'a, [f32]>,
    pub(crate) item_factors: ItemFactors<'a>,
    pub(crate) user_bias: Cow<'a, [f32]>,
    pub(crate) item_bias: Cow<'a, [f32]>,
    pub(crate) users: StrTable<'a>,
    pub(crate) items: StrTable<'a>,
    pub(crate) seen_indptr: Cow<'a, [u32]>,
    pub(crate) seen_indices: Cow<'a, [u32]>,
    pub(crate) seen_values: Cow<'a, [f32]>,
    pub(crate) popularity: Cow<'a, [u32]>,
    pub(crate) item_category: Option<Cow<'a, [u32]>>,
    pub(crate) categories: Option<StrTable<'a>>,
    pub(crate) projection: Option<Cow<'a, [f32]>>,
    pub(crate) rating_range: Option<(f32, f32)>,
    pub(crate) metadata: HashMap<String, String>,
    /// v2: each user's latest items and the recency settings.
    pub(crate) recency: Option<Recency<'a>>,
    /// v2: a rating model beside a ranking model, for predicted ratings.
    pub(crate) rating_head: Option<RatingHead<'a>>,
    /// Implicit fold-in's confidence per unit of value.
    pub(crate) fold_in_alpha: f64,
    /// Fold-in's ridge λ.
    pub(crate) fold_in_lambda: f64,
    /// v4: the sequence network and each user's history for it.
    pub(crate) sequence: Option<Sequence<'a>>,
    /// v2: the approximate index, when the artifact has one.
    pub(crate) index: Option<Ivf<'a>>,
    /// Exact or index search for recommend, session and fold-in queries.
    pub(crate) search: Search,
    /// Lazily dequantised item factors, only for [`Model::item_factors`] on a compact model.
    pub(crate) item_factors_f32: OnceLock<Vec<f32>>,
    /// Lazily computed L2 norms of item factors (for cosine similarity).
    pub(crate) item_norms: OnceLock<Vec<f32>>,
    /// Lazily computed Gram matrix `VᵀV` of item factors (for implicit fold-in).
    pub(crate) item_gram: OnceLock<Vec<f64>>,
}

/// Summary facts about a model, for `/health`, `info()` and `trainer inspect`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// Artifact format version.
    pub format_version: u32,
    /// Rating or ranking.
    pub kind: ModelKind,
    /// Factor dimension.
    pub dim: usize,
    /// Number of users.
    pub num_users: usize,
    /// Number of items.
    pub num_items: usize,
    /// Number of stored (user, item) interactions.
    pub num_interactions: usize,
    /// Category names, if the model has categories.
    pub categories: Vec<String>,
    /// Creation time written by the trainer (RFC 3339), if present.
    pub created_at: Option<String>,
    /// The clamp range for predicted ratings, if any.
    pub rating_range: Option<(f32, f32)>,
    /// Whether the model carries a 2-D item projection.
    pub has_projection: bool,
    /// The recency settings, when the model has a recency component (v2).
    pub recency: Option<RecencyInfo>,
    /// The rating head's factor dimension, when a ranking model carries one (v2).
    pub rating_head_dim: Option<usize>,
    /// How the item factors are stored (v2: `int8` or `f16` when compact).
    pub item_factors: Quantization,
    /// The approximate index, when the artifact has one (v2).
    pub index: Option<IndexInfo>,
    /// How queries find their candidates now.
    pub search: Search,
    /// The sequence network's shape, when the model has one (v4; left out of the JSON
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceInfo>,
}

impl<'a> Model<'a> {
    /// Rating or ranking.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Factor dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of users.
    pub fn num_users(&self) -> usize {
        self.users.len()
    }

    /// Number of items.
    pub fn num_items(&self) -> usize {
        self.items.len()
    }

    /// The global bias (mean rating for rating models).
    pub fn global_bias(&self) -> f32 {
        self.global_bias
    }

    /// Dense index of a user ID.
    pub fn user_index(&self, id: &str) -> Option<usize> {
        self.users.find(id)
    }

    /// Dense index of an item ID.
    pub fn item_index(&self, id: &str) -> Option<usize> {
        self.items.find(id)
    }

    /// User ID at a dense index (`""` when out of range).
    pub fn user_id(&self, index: usize) -> &'a str {
        self.users.get(index)
    }

    /// Item ID at a dense index (`""` when out of range).
    pub fn item_id(&self, index: usize) -> &'a str {
        self.items.get(index)
    }

    /// Up to `limit` user IDs starting at `offset`, in ID order.
    pub fn user_ids(&self, offset: usize, limit: usize) -> impl Iterator<Item = &'a str> + '_ {
        (offset.min(self.num_users())..offset.saturating_add(limit).min(self.num_users()))
            .map(|i| self.users.get(i))
    }

    /// Up to `limit` item IDs starting at `offset`, in ID order.
    pub fn item_ids(&self, offset: usize, limit: usize) -> impl Iterator<Item = &'a str> + '_ {
        (offset.min(self.num_items())..offset.saturating_add(limit).min(self.num_items()))
            .map(|i| self.items.get(i))
    }

    /// The position of the first user ID strictly after `cursor`, for cursor pagination.
    pub fn user_position_after(&self, cursor: &str) -> usize {
        match self.users.search(cursor) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Category name of an item, if the model has categories.
    pub fn item_category(&self, item: usize) -> Option<&'a str> {
        let (names, cats) = (self.categories.as_ref()?, self.item_category.as_ref()?);
        cats.get(item).map(|&c| names.get(c as usize))
    }

    /// All category names (empty if the model has none).
    pub fn categories(&self) -> Vec<&'a str> {
        self.categories.as_ref().map_or_else(Vec::new, |c| (0..c.len()).map(|i| c.get(i)).collect())
    }

    /// The 2-D projection of an item's factors, if the artifact has one.
    pub fn item_projection(&self, item: usize) -> Option<[f32; 2]> {
        let p = self.projection.as_ref()?;
        Some([*p.get(2 * item)?, *p.get(2 * item + 1)?])
    }

    /// Items the user interacted with in training, with their values (rating or weight).
    pub fn seen_items(&self, user: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = self.seen_range(user);
        self.seen_indices[range.clone()].iter().zip(&self.seen_values[range]).map(|(&i, &v)| (i as usize, v))
    }

    pub(crate) fn seen_range(&self, user: usize) -> std::ops::Range<usize> {
        match (self.seen_indptr.get(user), self.seen_indptr.get(user + 1)) {
            (Some(&s), Some(&e)) => s as usize..e as usize,
            _ => 0..0,
        }
    }

    /// Items in popularity order, most popular first.
    pub fn popular_items(&self) -> &[u32] {
        &self.popularity
    }

    /// A metadata value, for example `created_at` or `info` (a JSON blob).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The `seq` of the last user deletion applied to the training data, when the trainer
    /// recorded it ([`names::META_ERASED_THROUGH`]; `None` also when the value is not an integer).
    pub fn erased_through(&self) -> Option<u64> {
        self.metadata(names::META_ERASED_THROUGH)?.parse().ok()
    }

    /// The factor row of a user.
    pub fn user_factors(&self, user: usize) -> Option<&[f32]> {
        self.user_factors.get(user * self.dim..(user + 1) * self.dim)
    }

    /// The factor row of an item (dequantised for a compact model: the first call then
    /// dequantises the whole matrix once and keeps it; queries never do).
    pub fn item_factors(&self, item: usize) -> Option<&[f32]> {
        let all: &[f32] = match &self.item_factors {
            ItemFactors::F32(v) => v,
            compact => self.item_factors_f32.get_or_init(|| compact.to_f32(self.dim).into_owned()),
        };
        all.get(item * self.dim..(item + 1) * self.dim)
    }

    /// Changes the recency settings (for tuning them, or for scoring without them). The model
    /// must have a recency component; the stored history is unchanged, and the window may not
    /// grow past what was stored.
    pub fn set_recency(&mut self, info: RecencyInfo) -> Result<()> {
        info.validate()?;
        let Some(r) = &mut self.recency else {
            return Err(Error::InvalidArgument("this model has no recency component".into()));
        };
        if info.window > r.stored_window {
            return Err(Error::InvalidArgument(format!(
                "recency window {} is larger than the stored {}",
                info.window, r.stored_window
            )));
        }
        r.info = info;
        Ok(())
    }

    /// How queries find their candidates: [`Search::Index`] with the stored `nprobe` when the
    /// artifact has an index, [`Search::Exact`] otherwise, until [`Model::set_search`] changes it.
    pub fn search(&self) -> Search {
        self.search
    }

    /// Chooses exact search or index search (with `nprobe` in `1..=lists`) for every later
    /// recommend, session and fold-in query. Similar items are always exact.
    pub fn set_search(&mut self, search: Search) -> Result<()> {
        if let Search::Index { nprobe } = search {
            let Some(ivf) = &self.index else {
                return Err(Error::InvalidArgument("this model has no index".into()));
            };
            if nprobe == 0 || nprobe > ivf.lists() {
                return Err(Error::InvalidArgument(format!(
                    "nprobe must be in 1..={}, got {nprobe}",
                    ivf.lists()
                )));
            }
        }
        self.search = search;
        Ok(())
    }

    /// A user's stored latest items (newest first), when the model has a recency component.
    pub fn recent_items(&self, user: usize) -> &[u32] {
        self.recency.as_ref().map_or(&[], |r| r.history(user))
    }

    /// A summary of the model.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            format_version: self.version,
            kind: self.kind,
            dim: self.dim,
            num_users: self.num_users(),
            num_items: self.num_items(),
            num_interactions: self.seen_indices.len(),
            categories: self.categories().into_iter().map(str::to_owned).collect(),
            created_at: self.metadata(names::META_CREATED_AT).map(str::to_owned),
            rating_range: self.rating_range,
            has_projection: self.projection.is_some(),
            recency: self.recency.as_ref().map(|r| r.info),
            rating_head_dim: self.rating_head.as_ref().map(|h| h.dim),
            item_factors: self.item_factors.quantization(),
            index: self.index.as_ref().map(Ivf::info),
            search: self.search,
            sequence: self.sequence.as_ref().map(|s| s.info),
        }
    }
}
