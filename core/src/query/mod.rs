//! Queries, the layer that answers requests: recommend and predict (the options and answers
//! here), the filter a request builds (`filter`), the selection every search fills (`picks`),
//! the searches that fill a page and the one place items are scored against a user vector
//! (`rank`), and the other questions: sessions, similar items, fold-in, explanations and
//! unavailable items. It imports the model, the index (for the lists to probe), the format and
//! the kernel; nothing below imports it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use crate::kernel::Scored;
use crate::model::rating_head;
use crate::model::{Model, ModelKind};
use crate::{Error, Result};

/// The largest `top_n` / `n` a query accepts.
pub const MAX_TOP_N: usize = 1000;

/// Options for [`Model::recommend`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// How many items to return (1..=[`MAX_TOP_N`]).
    pub top_n: usize,
    /// Leave out items the user interacted with in training.
    pub exclude_rated: bool,
    /// Item IDs to leave out. Unknown IDs are ignored: they cannot be recommended anyway.
    pub exclude_items: Vec<String>,
    /// Only recommend items in these categories. An unknown name is an error.
    pub categories: Option<Vec<String>>,
    /// Items that may not be served now (built for this model with [`Model::unavailable`]):
    /// skipped inside the search, like `exclude_items`, and shared between requests.
    pub unavailable: Option<Arc<Unavailable>>,
    /// At most this many items of any one category (1 or more): the best list under the cap,
    /// as a greedy pass in rank order would pick it. Needs a model with categories.
    pub max_per_category: Option<usize>,
    /// Rank only these items (for example a search's results), with every other filter still
    /// applied. IDs the model does not know are returned in `unknown_items`.
    pub candidates: Option<Vec<String>>,
    /// Skip this many of the best items: the next page of the same ranking, without repeats.
    /// `offset + top_n` is at most [`MAX_TOP_N`]. An `offset` past the end (no item left at or
    /// after it once the other options apply) is [`Error::OffsetPastEnd`].
    pub offset: usize,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        Self {
            top_n: 10,
            exclude_rated: true,
            exclude_items: Vec::new(),
            categories: None,
            unavailable: None,
            max_per_category: None,
            candidates: None,
            offset: 0,
        }
    }
}

/// Where a list of recommendations came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Scored with the user's trained factors.
    Personalized,
    /// Scored with factors folded in from the given interactions.
    FoldIn,
    /// Items in popularity order: the user is unknown or gave no known interactions.
    Popular,
    /// Scored with the user's trained factors, shifted by the request's own interactions.
    Session,
}

/// Whom a list is scored for, which decides its predicted ratings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum For<'r> {
    /// A user the model was trained on (dense index).
    User(usize),
    /// A user kept outside the artifact: their rating-head factors and bias, when the model
    /// has a head (see [`crate::UserRecord`]).
    Record(Option<(&'r [f32], f32)>),
    /// A visitor the model does not know.
    Anonymous,
}

/// One recommended or similar item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredItem<'m> {
    /// Item ID.
    pub item_id: &'m str,
    /// Dense item index.
    pub index: usize,
    /// Predicted rating (clamped to the rating scale) for rating models, preference score for
    /// ranking models, cosine similarity for similar items.
    pub score: f32,
    /// The predicted rating on the rating scale: the score itself for rating models, the rating
    /// head's prediction for ranking models that carry one, `None` otherwise and for similar
    /// items.
    pub predicted_rating: Option<f32>,
}

/// The answer to a recommendation query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendations<'m> {
    /// Best first.
    pub items: Vec<ScoredItem<'m>>,
    /// How the list was produced.
    pub source: Source,
    /// Why the popularity fallback was used, when it was.
    pub reason: Option<String>,
    /// Fold-in interactions whose item IDs the model does not know.
    pub unknown_items: Vec<String>,
}

mod explain;
mod filter;
mod fold_in;
pub(crate) mod picks;
mod rank;
pub(crate) mod session;
mod similar;
mod unavailable;

pub use explain::{Because, MAX_BECAUSE};
pub(crate) use filter::Filter;
pub use fold_in::FoldIn;
pub use rank::PAGE_DEPTH;
pub use unavailable::Unavailable;

impl<'a> Model<'a> {
    pub(crate) fn check_n(n: usize) -> Result<()> {
        if n == 0 || n > MAX_TOP_N {
            return Err(Error::InvalidArgument(format!("n must be in 1..={MAX_TOP_N}, got {n}")));
        }
        Ok(())
    }

    /// Checks a request's page (`top_n`, `offset`) and its cap.
    pub(crate) fn check_page(opts: &RecommendOptions) -> Result<()> {
        Self::check_n(opts.top_n)?;
        if opts.offset > MAX_TOP_N - opts.top_n {
            return Err(Error::InvalidArgument(format!(
                "offset + top_n must be at most {MAX_TOP_N}, got {} + {}",
                opts.offset, opts.top_n
            )));
        }
        if opts.max_per_category == Some(0) {
            return Err(Error::InvalidArgument("max_per_category must be at least 1".into()));
        }
        Ok(())
    }

    /// Clamps a raw rating-model score to the rating scale.
    pub(crate) fn report(&self, raw: f32) -> f32 {
        match (self.kind, self.rating_range) {
            (ModelKind::Rating, Some((lo, hi))) => raw.clamp(lo, hi),
            _ => raw,
        }
    }

    pub(crate) fn clamp_rating(&self, raw: f32) -> f32 {
        match self.rating_range {
            Some((lo, hi)) => raw.clamp(lo, hi),
            None => raw,
        }
    }

    /// The predicted rating of `item` for `whom`, for an item whose (clamped) score is `score`.
    pub(crate) fn rating_of(&self, whom: For<'_>, item: usize, score: f32) -> Option<f32> {
        match (self.kind, &self.rating_head) {
            (ModelKind::Rating, _) => Some(score),
            (ModelKind::Ranking, Some(head)) => {
                let raw = match whom {
                    For::User(u) => head.predict(Some(u), item),
                    For::Record(user) => head.predict_for(user, item),
                    For::Anonymous => head.predict(None, item),
                };
                Some(self.clamp_rating(raw))
            }
            (ModelKind::Ranking, None) => None,
        }
    }

    pub(crate) fn scored(&self, picked: Vec<Scored>, whom: For<'_>) -> Vec<ScoredItem<'a>> {
        let items = picked
            .into_iter()
            .map(|s| {
                let index = s.index as usize;
                let score = self.report(s.score);
                ScoredItem {
                    item_id: self.item_id(index),
                    index,
                    score,
                    predicted_rating: self.rating_of(whom, index, score),
                }
            })
            .collect();
        self.in_rank_order(items)
    }

    /// Makes the ratings of a list non-increasing in rank (see [`rating_head::non_increasing`]).
    /// A list ranked by its ratings is already in order and stays as it is; the lists whose
    /// order comes from elsewhere change: a ranker's with a rating head, and the popularity
    /// fallback's.
    pub(crate) fn in_rank_order(&self, mut items: Vec<ScoredItem<'a>>) -> Vec<ScoredItem<'a>> {
        // The common case (a list ranked by its ratings, or without ratings) allocates nothing.
        let ordered = items.windows(2).all(|w| match (w[0].predicted_rating, w[1].predicted_rating) {
            (Some(a), Some(b)) => a >= b,
            _ => true,
        });
        if ordered {
            return items;
        }
        let mut ratings: Vec<f32> = items.iter().filter_map(|s| s.predicted_rating).collect();
        if ratings.len() == items.len() {
            rating_head::non_increasing(&mut ratings);
            for (item, r) in items.iter_mut().zip(ratings) {
                item.predicted_rating = Some(r);
            }
        }
        items
    }

    /// The trained `factors` plus, when the model has a recency component, the decayed mean over
    /// `session` (newest first) and then `history` (newest first): a known user's scoring
    /// vector, wherever their factors and history are kept.
    pub(crate) fn vector_with_history<'f>(
        &self,
        factors: &'f [f32],
        history: &[u32],
        session: &[usize],
    ) -> Cow<'f, [f32]> {
        let Some(recency) = self.recency.as_ref().filter(|r| r.info.weight > 0.0) else {
            return Cow::Borrowed(factors);
        };
        let mut v = factors.to_vec();
        let history = history.iter().map(|&i| i as usize);
        recency.add(session.iter().copied().chain(history), &self.item_factors, &mut v);
        Cow::Owned(v)
    }

    /// Top-N items for a user ID. An unknown user gets the popularity fallback, and the
    /// result says so in `source` and `reason`.
    pub fn recommend(&self, user_id: &str, opts: &RecommendOptions) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        match self.user_index(user_id) {
            Some(u) => self.recommend_index(u, opts),
            None => self.popular_for(opts, format!("unknown user `{user_id}`")),
        }
    }

    /// What [`Model::recommend`] gives an unknown user, for any user: the popularity
    /// fallback, with no stored history excluded. For a caller that must not use what the
    /// model holds about a user (one who asked to be deleted, say).
    pub fn recommend_unknown(&self, opts: &RecommendOptions) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        self.popular_for(opts, "the user is served as unknown".to_owned())
    }

    fn popular_for(&self, opts: &RecommendOptions, reason: String) -> Result<Recommendations<'a>> {
        let filter = self.filter(opts, &[])?;
        self.popular(&filter, reason, Vec::new())
    }

    /// Top-N items for a user by dense index (with the recency component over the stored
    /// history, when the model has one).
    pub fn recommend_index(&self, user: usize, opts: &RecommendOptions) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        let factors = self
            .user_factors(user)
            .ok_or_else(|| Error::InvalidArgument(format!("user index {user} is out of range")))?;
        let seen = &self.seen_indices[self.seen_range(user)];
        let bias = self.user_bias.get(user).copied().unwrap_or(0.0);
        self.recommend_known(factors, bias, self.recent_items(user), seen, For::User(user), opts)
    }

    /// Top-N items for a known user given their trained `factors` and `bias`, stored latest
    /// items (`history`, newest first) and `seen` items (sorted, unique): the one path for users
    /// in the artifact and users kept outside it.
    pub(crate) fn recommend_known(
        &self,
        factors: &[f32],
        bias: f32,
        history: &[u32],
        seen: &[u32],
        whom: For<'_>,
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        let factors = self.vector_with_history(factors, history, &[]);
        let filter = self.filter(opts, seen)?;
        let picked = self.rank(&factors, bias, &filter)?;
        Ok(Recommendations {
            items: self.scored(picked, whom),
            source: Source::Personalized,
            reason: None,
            unknown_items: filter.unknown,
        })
    }

    /// The raw model score of (user, item) by dense indices, unclamped. For a model with a
    /// recency component this is the score without it (the trained factors alone).
    pub fn score(&self, user: usize, item: usize) -> Option<f32> {
        let u = self.user_factors(user)?;
        let uv = self.item_factors.dot_row(u, item, &mut Vec::new())?;
        let (bu, bi) = (*self.user_bias.get(user)?, *self.item_bias.get(item)?);
        Some(match self.kind {
            ModelKind::Rating => self.global_bias + bu + bi + uv,
            ModelKind::Ranking => bi + uv,
        })
    }

    /// Like [`Model::predict`], by dense indices.
    pub fn predict_index(&self, user: usize, item: usize) -> Option<f32> {
        if let Some(head) = &self.rating_head {
            if user >= self.num_users() || item >= self.num_items() {
                return None;
            }
            return Some(self.clamp_rating(head.predict(Some(user), item)));
        }
        self.score(user, item).map(|s| self.report(s))
    }

    /// The predicted rating (clamped to the rating scale; from the rating head when a ranking
    /// model carries one) or else the ranking score of (user, item).
    pub fn predict(&self, user_id: &str, item_id: &str) -> Result<f32> {
        let user = self.user_index(user_id).ok_or_else(|| Error::UnknownUser { id: user_id.to_owned() })?;
        let item = self.item_index(item_id).ok_or_else(|| Error::UnknownItem { id: item_id.to_owned() })?;
        Ok(self.predict_index(user, item).unwrap_or(0.0))
    }
}
