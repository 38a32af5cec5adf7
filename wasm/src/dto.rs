//! The shapes that cross the JavaScript boundary, and their translation to and from core types.
//!
//! Requests are read by serde (serde-wasm-bindgen in the browser), strictly: unknown keys are
//! errors (checked against the fields serde declares, [`field_names`], since
//! serde-wasm-bindgen reads only the declared keys), so a typo such as `topn` is reported
//! instead of silently ignored. Responses borrow from the model and serialize with camelCase
//! keys. The TypeScript declarations in `typings.rs` describe the same shapes, and
//! `tests/typings.rs` checks that they agree with these types.

use edgerec_core::{Model, ModelInfo, RecencyInfo, RecommendOptions, Recommendations, ScoredItem, Source};
use serde::de::value::Error as ValueError;
use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub(crate) fn default_top_n() -> usize {
    RecommendOptions::default().top_n
}

pub(crate) fn default_exclude_rated() -> bool {
    RecommendOptions::default().exclude_rated
}

/// The argument of `recommend()`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendRequest {
    /// The user to recommend for. An unknown user gets the popularity fallback.
    pub user_id: String,
    /// How many items (default 10).
    #[serde(default = "default_top_n")]
    pub top_n: usize,
    /// Leave out items the user rated in training (default true).
    #[serde(default = "default_exclude_rated")]
    pub exclude_rated: bool,
    /// Item IDs to leave out.
    #[serde(default)]
    pub exclude_items: Vec<String>,
    /// Only these categories (default: all).
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// At most this many items of any one category (default: no cap).
    #[serde(default)]
    pub max_per_category: Option<usize>,
    /// Rank only these items (default: every item).
    #[serde(default)]
    pub candidates: Option<Vec<String>>,
    /// Skip this many of the best items: the next page (default 0).
    #[serde(default)]
    pub offset: usize,
    /// What the user just did, oldest first (default: nothing). When given, the user's list is
    /// shifted by these interactions and their items are left out (`excludeRated`); an unknown
    /// user is folded in like an anonymous visitor.
    #[serde(default)]
    pub interactions: Option<Vec<Interaction>>,
}

impl RecommendRequest {
    /// The session's interactions as the core takes them, when the request has any.
    pub fn interactions(&self) -> Option<Vec<(&str, f32)>> {
        self.interactions.as_ref().map(|list| list.iter().map(|i| (i.item_id.as_str(), i.rating)).collect())
    }

    /// The core options this request asks for.
    pub fn options(&self) -> RecommendOptions {
        RecommendOptions {
            top_n: self.top_n,
            exclude_rated: self.exclude_rated,
            exclude_items: self.exclude_items.clone(),
            categories: self.categories.clone(),
            unavailable: None,
            max_per_category: self.max_per_category,
            candidates: self.candidates.clone(),
            offset: self.offset,
        }
    }
}

/// One interaction: of an anonymous visitor, or of a known user in this session.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interaction {
    /// The item the visitor rated or clicked.
    pub item_id: String,
    /// The rating (rating models) or behaviour weight (ranking models).
    pub rating: f32,
}

/// The argument of `recommendFor()`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendForRequest {
    /// The visitor's interactions, folded in against the item factors.
    pub interactions: Vec<Interaction>,
    /// How many items (default 10).
    #[serde(default = "default_top_n")]
    pub top_n: usize,
    /// Leave out the items the visitor interacted with (default true).
    #[serde(default = "default_exclude_rated")]
    pub exclude_rated: bool,
    /// Item IDs to leave out.
    #[serde(default)]
    pub exclude_items: Vec<String>,
    /// Only these categories (default: all).
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// At most this many items of any one category (default: no cap).
    #[serde(default)]
    pub max_per_category: Option<usize>,
    /// Rank only these items (default: every item).
    #[serde(default)]
    pub candidates: Option<Vec<String>>,
    /// Skip this many of the best items: the next page (default 0).
    #[serde(default)]
    pub offset: usize,
}

impl RecommendForRequest {
    /// The core options this request asks for.
    pub fn options(&self) -> RecommendOptions {
        RecommendOptions {
            top_n: self.top_n,
            exclude_rated: self.exclude_rated,
            exclude_items: self.exclude_items.clone(),
            categories: self.categories.clone(),
            unavailable: None,
            max_per_category: self.max_per_category,
            candidates: self.candidates.clone(),
            offset: self.offset,
        }
    }

    /// The interactions as the core takes them.
    pub fn interactions(&self) -> Vec<(&str, f32)> {
        self.interactions.iter().map(|i| (i.item_id.as_str(), i.rating)).collect()
    }
}

/// The argument of `explain()`: the items of a list, and whom it was for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainRequest {
    /// The user the list was for; absent or `null` for a visitor.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The session's or the visitor's interactions, oldest first, as given to the list.
    #[serde(default)]
    pub interactions: Option<Vec<Interaction>>,
    /// The listed items to explain.
    pub item_ids: Vec<String>,
}

impl ExplainRequest {
    /// The interactions as the core takes them (none when absent).
    pub fn interactions(&self) -> Vec<(&str, f32)> {
        self.interactions.iter().flatten().map(|i| (i.item_id.as_str(), i.rating)).collect()
    }
}

/// One item behind a listed item (see `edgerec_core::Because`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BecauseOut<'m> {
    /// The user's (or the session's) item.
    pub item_id: &'m str,
    /// Its share of the positive contributions to the listed item's score.
    pub share: f32,
}

/// The keys of a request struct as serde reads them (renamed, in declaration order), taken
/// from its `Deserialize` impl, so they are never written down twice. Empty for a type that is
/// not a struct.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the field names a struct asks for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
        Err(ValueError::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ValueError> {
        *self.0 = fields;
        Err(ValueError::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A scored item, with its category for display.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredItemOut<'m> {
    /// Item ID.
    pub item_id: &'m str,
    /// Dense item index.
    pub index: usize,
    /// The core's score: a predicted rating, a preference score or a cosine similarity.
    pub score: f32,
    /// The predicted rating on the rating scale: the score of a rating model, the rating
    /// head's prediction of a ranking model that has one, `None` otherwise and for similar
    /// items.
    pub predicted_rating: Option<f32>,
    /// The item's category, if the model has categories.
    pub category: Option<&'m str>,
}

impl<'m> ScoredItemOut<'m> {
    /// Translates a core item, looking up its category.
    pub fn new(model: &Model<'m>, item: ScoredItem<'m>) -> Self {
        Self {
            item_id: item.item_id,
            index: item.index,
            score: item.score,
            predicted_rating: item.predicted_rating,
            category: model.item_category(item.index),
        }
    }
}

/// The answer of `recommend()` and `recommendFor()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationsOut<'m> {
    /// Best first.
    pub items: Vec<ScoredItemOut<'m>>,
    /// `"personalized"`, `"fold_in"`, `"popular"` or `"session"`.
    pub source: Source,
    /// Why the popularity fallback was used, when it was.
    pub reason: Option<String>,
    /// Interaction item IDs the model does not know.
    pub unknown_items: Vec<String>,
}

impl<'m> RecommendationsOut<'m> {
    /// Translates a core answer.
    pub fn new(model: &Model<'m>, recs: Recommendations<'m>) -> Self {
        Self {
            items: recs.items.into_iter().map(|i| ScoredItemOut::new(model, i)).collect(),
            source: recs.source,
            reason: recs.reason,
            unknown_items: recs.unknown_items,
        }
    }
}

/// An item in a page of `items()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemOut<'m> {
    /// Item ID.
    pub item_id: &'m str,
    /// Dense item index.
    pub index: usize,
    /// The item's category, if the model has categories.
    pub category: Option<&'m str>,
}

/// An item a known user rated in training, from `rated()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatedItemOut<'m> {
    /// Item ID.
    pub item_id: &'m str,
    /// Dense item index.
    pub index: usize,
    /// The stored rating (rating models) or interaction weight (ranking models).
    pub rating: f32,
    /// The item's category, if the model has categories.
    pub category: Option<&'m str>,
}

/// One point of the item map.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapPointOut<'m> {
    /// Item ID.
    pub item_id: &'m str,
    /// Dense item index.
    pub index: usize,
    /// First projection coordinate.
    pub x: f32,
    /// Second projection coordinate.
    pub y: f32,
    /// The item's category, if the model has categories.
    pub category: Option<&'m str>,
}

/// The answer of `itemMap()`: a 2-D projection of the item factors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemMapOut<'m> {
    /// All category names, in the model's order.
    pub categories: Vec<&'m str>,
    /// One point per item, in index order.
    pub points: Vec<MapPointOut<'m>>,
    /// Whether the points are the artifact's `item_projection`; false when the artifact leaves
    /// it out and they were computed from the item factors (a PCA, the same on every load).
    pub stored: bool,
}

/// The answer of `info()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoOut {
    /// Artifact format version.
    pub format_version: u32,
    /// `"rating"` or `"ranking"`.
    pub kind: edgerec_core::ModelKind,
    /// Factor dimension.
    pub dim: usize,
    /// Number of users.
    pub num_users: usize,
    /// Number of items.
    pub num_items: usize,
    /// Number of stored (user, item) interactions.
    pub num_interactions: usize,
    /// Category names (empty if the model has none).
    pub categories: Vec<String>,
    /// Creation time written by the trainer, if present.
    pub created_at: Option<String>,
    /// `[min, max]` of predicted ratings, if the model clamps them.
    pub rating_range: Option<(f32, f32)>,
    /// Whether the artifact stores the item map (`itemMap()` computes one otherwise).
    pub has_projection: bool,
    /// The recency component that shifts a known user's list by their latest items, if the
    /// model has one.
    pub recency: Option<RecencyInfo>,
    /// The factor dimension of the rating head of a ranking model, if it has one.
    pub rating_head_dim: Option<usize>,
    /// The sequence network that sessions and visitors run, if the model has one (v4).
    pub sequence: Option<SequenceOut>,
    /// Size of the artifact in bytes.
    pub model_bytes: usize,
}

/// The shape of a model's sequence network, in `info()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SequenceOut {
    /// How many of the latest items the network reads.
    pub max_len: usize,
    /// Transformer blocks.
    pub blocks: usize,
}

impl InfoOut {
    /// Translates the core's summary.
    pub fn new(info: ModelInfo, model_bytes: usize) -> Self {
        Self {
            format_version: info.format_version,
            kind: info.kind,
            dim: info.dim,
            num_users: info.num_users,
            num_items: info.num_items,
            num_interactions: info.num_interactions,
            categories: info.categories,
            created_at: info.created_at,
            rating_range: info.rating_range,
            has_projection: info.has_projection,
            recency: info.recency,
            rating_head_dim: info.rating_head_dim,
            sequence: info.sequence.map(|s| SequenceOut { max_len: s.max_len, blocks: s.blocks }),
            model_bytes,
        }
    }
}
