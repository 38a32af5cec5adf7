//! The loaded model: validated views into an artifact's bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use safetensors::{Dtype, SafeTensors};

use crate::factors::{ItemFactors, Quantization};
use crate::ids::StrTable;
use crate::ivf::{IndexInfo, Ivf, Search};
use crate::rating_head::RatingHead;
use crate::read::{check_finite, check_indices, floats, len_1d, required, str_table, typed};
use crate::recency::{Recency, RecencyInfo};
use crate::{Error, Result, names};

/// The artifact format version this build writes. It reads this version and every earlier one.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// Fold-in's ridge λ when the artifact does not set `fold_in_lambda`, relative to one interaction.
const DEFAULT_FOLD_IN_LAMBDA: f64 = 1.0;
/// Implicit fold-in's confidence per unit of value when the artifact does not set
/// `fold_in_alpha`: c = 1 + α·value.
const DEFAULT_FOLD_IN_ALPHA: f64 = 4.0;

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
}

impl<'a> Model<'a> {
    /// Loads and fully validates an artifact. Never panics on malformed input.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(e.to_string()))?;

        let meta = |key: &str| {
            metadata
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| Error::Metadata(format!("missing key `{key}`")))
        };
        if meta(names::META_FORMAT)? != names::FORMAT_NAME {
            return Err(Error::Metadata(format!("`{}` is not `{}`", names::META_FORMAT, names::FORMAT_NAME)));
        }
        let found = meta(names::META_VERSION)?;
        let version = match found.parse::<u32>() {
            Ok(v) if (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) => v,
            _ => {
                return Err(Error::UnsupportedVersion { found: found.to_owned(), supported: FORMAT_VERSION });
            }
        };
        let kind: ModelKind = meta(names::META_KIND)?.parse()?;
        let dim: usize = meta(names::META_DIM)?
            .parse()
            .ok()
            .filter(|&d| d > 0 && d <= 4096)
            .ok_or_else(|| Error::Metadata("`dim` must be an integer in 1..=4096".into()))?;
        let rating_range = match (metadata.get(names::META_RATING_MIN), metadata.get(names::META_RATING_MAX))
        {
            (Some(lo), Some(hi)) => {
                let parse = |s: &str| s.parse::<f32>().ok().filter(|v| v.is_finite());
                match (parse(lo), parse(hi)) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => return Err(Error::Metadata("bad rating range".into())),
                }
            }
            (None, None) => None,
            _ => return Err(Error::Metadata("rating_min and rating_max must come together".into())),
        };

        let num_users = len_1d(&st, names::USER_BIAS)?;
        let num_items = len_1d(&st, names::ITEM_BIAS)?;
        if num_items == 0 {
            return Err(Error::Invalid("the model has no items".into()));
        }
        let user_factors =
            required(names::USER_FACTORS, typed(&st, names::USER_FACTORS, Dtype::F32, &[num_users, dim])?)?;
        // v1 stores f32 only; v2 may store compact rows (the dtype says which).
        let item_factors = ItemFactors::load(&st, num_items, dim)?;
        if version < 2 && item_factors.quantization() != Quantization::F32 {
            return Err(Error::Invalid("format version 1 stores item factors as F32 only".into()));
        }
        let user_bias = required(names::USER_BIAS, typed(&st, names::USER_BIAS, Dtype::F32, &[num_users])?)?;
        // v2 may store the item biases as F16 (beside compact item factors).
        let item_bias =
            required(names::ITEM_BIAS, floats(&st, names::ITEM_BIAS, &[num_items], version >= 2)?)?;
        let global: Cow<'_, [f32]> =
            required(names::GLOBAL_BIAS, typed(&st, names::GLOBAL_BIAS, Dtype::F32, &[1])?)?;
        let global_bias = global[0];
        for (name, values) in [
            (names::USER_FACTORS, &user_factors),
            (names::USER_BIAS, &user_bias),
            (names::ITEM_BIAS, &item_bias),
            (names::GLOBAL_BIAS, &global),
        ] {
            check_finite(name, values)?;
        }

        let users = required(
            names::USER_IDS_BYTES,
            str_table(&st, names::USER_IDS_BYTES, names::USER_IDS_OFFSETS, Some(num_users))?,
        )?;
        let items = required(
            names::ITEM_IDS_BYTES,
            str_table(&st, names::ITEM_IDS_BYTES, names::ITEM_IDS_OFFSETS, Some(num_items))?,
        )?;

        let seen_indptr: Cow<'_, [u32]> =
            required(names::SEEN_INDPTR, typed(&st, names::SEEN_INDPTR, Dtype::U32, &[num_users + 1])?)?;
        if seen_indptr.first() != Some(&0) || seen_indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::Invalid(format!(
                "`{}` must start at 0 and never decrease",
                names::SEEN_INDPTR
            )));
        }
        let nnz = seen_indptr.last().copied().unwrap_or(0) as usize;
        let seen_indices: Cow<'_, [u32]> =
            required(names::SEEN_INDICES, typed(&st, names::SEEN_INDICES, Dtype::U32, &[nnz])?)?;
        let seen_values: Cow<'_, [f32]> =
            required(names::SEEN_VALUES, typed(&st, names::SEEN_VALUES, Dtype::F32, &[nnz])?)?;
        check_finite(names::SEEN_VALUES, &seen_values)?;
        for (u, w) in seen_indptr.windows(2).enumerate() {
            let row = &seen_indices[w[0] as usize..w[1] as usize];
            if row.windows(2).any(|p| p[0] >= p[1]) {
                return Err(Error::Invalid(format!(
                    "`{}` row {u} is not strictly increasing",
                    names::SEEN_INDICES
                )));
            }
            if row.last().is_some_and(|&i| i as usize >= num_items) {
                return Err(Error::Invalid(format!(
                    "`{}` row {u} has an item out of range",
                    names::SEEN_INDICES
                )));
            }
        }

        let popularity: Cow<'_, [u32]> =
            required(names::POPULARITY, typed(&st, names::POPULARITY, Dtype::U32, &[num_items])?)?;
        let mut hit = vec![false; num_items];
        for &i in popularity.iter() {
            match hit.get_mut(i as usize) {
                Some(h) if !*h => *h = true,
                _ => {
                    return Err(Error::Invalid(format!(
                        "`{}` is not a permutation of the items",
                        names::POPULARITY
                    )));
                }
            }
        }

        let categories = str_table(&st, names::CATEGORY_BYTES, names::CATEGORY_OFFSETS, None)?;
        let item_category = typed::<u32>(&st, names::ITEM_CATEGORY, Dtype::U32, &[num_items])?;
        match (&categories, &item_category) {
            (Some(c), Some(ic)) => check_indices(names::ITEM_CATEGORY, ic, c.len())?,
            (None, None) => {}
            _ => return Err(Error::Invalid("item categories and category names must come together".into())),
        }
        let projection = typed::<f32>(&st, names::ITEM_PROJECTION, Dtype::F32, &[num_items, 2])?;
        if let Some(p) = &projection {
            check_finite(names::ITEM_PROJECTION, p)?;
        }

        match metadata.get(names::META_USERS).map(String::as_str) {
            None => {}
            Some(crate::USERS_EXTERNAL) if version >= 2 && num_users == 0 => {}
            Some(other) => {
                return Err(Error::Metadata(format!(
                    "`{}` = `{other}`: only `{}`, in a version-2 artifact that holds no users",
                    names::META_USERS,
                    crate::USERS_EXTERNAL
                )));
            }
        }
        let (mut recency, mut rating_head, mut index) = (None, None, None);
        let (mut fold_in_alpha, mut fold_in_lambda) = (DEFAULT_FOLD_IN_ALPHA, DEFAULT_FOLD_IN_LAMBDA);
        if version >= 2 {
            recency = Recency::load(&st, &metadata, num_users, num_items)?;
            rating_head = RatingHead::load(&st, num_users, num_items)?;
            index = Ivf::load(&st, &metadata, num_items, dim)?;
            if rating_head.is_some() && kind != ModelKind::Ranking {
                return Err(Error::Invalid("only ranking models carry a rating head".into()));
            }
            let positive = |key: &str, default: f64| -> Result<f64> {
                match metadata.get(key) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| Error::Metadata(format!("`{key}` must be a positive number"))),
                }
            };
            fold_in_alpha = positive(names::META_FOLD_IN_ALPHA, fold_in_alpha)?;
            fold_in_lambda = positive(names::META_FOLD_IN_LAMBDA, fold_in_lambda)?;
        }

        Ok(Self {
            version,
            kind,
            dim,
            global_bias,
            user_factors,
            item_factors,
            user_bias,
            item_bias,
            users,
            items,
            seen_indptr,
            seen_indices,
            seen_values,
            popularity,
            item_category,
            categories,
            projection,
            rating_range,
            metadata,
            recency,
            rating_head,
            fold_in_alpha,
            fold_in_lambda,
            item_norms: OnceLock::new(),
            item_gram: OnceLock::new(),
            search: index.as_ref().map_or(Search::Exact, |ivf| Search::Index { nprobe: ivf.info().nprobe }),
            index,
            item_factors_f32: OnceLock::new(),
        })
    }

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
        }
    }
}
