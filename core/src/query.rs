//! Queries: recommend, fold-in, similar items and predict.

use std::borrow::Cow;

use serde::Serialize;

use crate::kernel::{Scored, TopN, cholesky_solve, dot, for_each_block};
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
}

impl Default for RecommendOptions {
    fn default() -> Self {
        Self { top_n: 10, exclude_rated: true, exclude_items: Vec::new(), categories: None }
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

/// A user representation computed by [`Model::fold_in`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldIn {
    /// The user's factor vector.
    pub factors: Vec<f32>,
    /// The user's bias (always 0 for ranking models).
    pub bias: f32,
    /// How many interactions referred to known items and were used.
    pub used: usize,
    /// Item IDs that were not found in the model.
    pub unknown_items: Vec<String>,
    /// Dense indices of the known items, sorted and unique.
    pub items: Vec<u32>,
}

/// Regularisation of fold-in's least squares, relative to one interaction.
const FOLD_IN_LAMBDA: f64 = 1.0;
/// Confidence per unit of interaction value in implicit fold-in: c = 1 + α·value.
const FOLD_IN_ALPHA: f64 = 4.0;

struct Filter<'s> {
    /// Sorted, unique item indices to skip (borrowed from the seen list when nothing is added).
    excluded: Cow<'s, [u32]>,
    /// `allowed[c]` for category index `c`; `None` means every category.
    allowed: Option<Vec<bool>>,
}

impl<'a> Model<'a> {
    fn check_n(n: usize) -> Result<()> {
        if n == 0 || n > MAX_TOP_N {
            return Err(Error::InvalidArgument(format!("n must be in 1..={MAX_TOP_N}, got {n}")));
        }
        Ok(())
    }

    /// `seen` must be sorted and unique, as the loader guarantees for seen lists.
    fn filter<'s>(&self, opts: &RecommendOptions, seen: &'s [u32]) -> Result<Filter<'s>> {
        let seen = if opts.exclude_rated { seen } else { &[] };
        let excluded = if opts.exclude_items.is_empty() {
            Cow::Borrowed(seen)
        } else {
            let mut excluded = seen.to_vec();
            excluded.extend(opts.exclude_items.iter().filter_map(|id| self.item_index(id)).map(|i| i as u32));
            excluded.sort_unstable();
            excluded.dedup();
            Cow::Owned(excluded)
        };
        let allowed = match &opts.categories {
            None => None,
            Some(wanted) => {
                let Some(names) = &self.categories else {
                    return Err(Error::InvalidArgument("this model has no item categories".into()));
                };
                let mut allowed = vec![false; names.len()];
                for name in wanted {
                    let c = names.find(name).ok_or_else(|| Error::UnknownCategory { name: name.clone() })?;
                    allowed[c] = true;
                }
                Some(allowed)
            }
        };
        Ok(Filter { excluded, allowed })
    }

    fn allowed_category(&self, filter: &Filter<'_>, item: usize) -> bool {
        match (&filter.allowed, &self.item_category) {
            (Some(allowed), Some(cats)) => {
                cats.get(item).is_some_and(|&c| allowed.get(c as usize).copied().unwrap_or(false))
            }
            _ => true,
        }
    }

    /// Clamps a raw rating-model score to the rating scale.
    fn report(&self, raw: f32) -> f32 {
        match (self.kind, self.rating_range) {
            (ModelKind::Rating, Some((lo, hi))) => raw.clamp(lo, hi),
            _ => raw,
        }
    }

    fn scored(&self, picked: Vec<Scored>, clamp: bool) -> Vec<ScoredItem<'a>> {
        picked
            .into_iter()
            .map(|s| ScoredItem {
                item_id: self.item_id(s.index as usize),
                index: s.index as usize,
                score: if clamp { self.report(s.score) } else { s.score },
            })
            .collect()
    }

    /// Scores every item for a user vector and keeps the best `top_n` that pass the filter.
    fn rank(&self, factors: &[f32], bias: f32, filter: &Filter<'_>, top_n: usize) -> Vec<Scored> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias + bias,
            ModelKind::Ranking => 0.0,
        };
        let mut top = TopN::new(top_n);
        // Sorted exclusions, consumed in step with the (increasing) candidate indices.
        let mut excluded: &[u32] = &filter.excluded;
        let item_bias: &[f32] = &self.item_bias;
        for_each_block(factors, &self.item_factors, self.dim, |first, dots| {
            let mut threshold = top.threshold();
            for (k, (&dot, &b)) in dots.iter().zip(&item_bias[first..]).enumerate() {
                let score = base + b + dot;
                if score < threshold {
                    continue;
                }
                let i = (first + k) as u32;
                while excluded.first().is_some_and(|&e| e < i) {
                    excluded = &excluded[1..];
                }
                if excluded.first() == Some(&i) || !self.allowed_category(filter, i as usize) {
                    continue;
                }
                top.push(Scored { score, index: i });
                threshold = top.threshold();
            }
        });
        top.into_sorted()
    }

    fn popular(
        &self,
        filter: &Filter<'_>,
        top_n: usize,
        reason: String,
        unknown_items: Vec<String>,
    ) -> Recommendations<'a> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias,
            ModelKind::Ranking => 0.0,
        };
        let items = self
            .popularity
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| {
                filter.excluded.binary_search(&(i as u32)).is_err() && self.allowed_category(filter, i)
            })
            .take(top_n)
            .map(|i| ScoredItem {
                item_id: self.item_id(i),
                index: i,
                score: self.report(base + self.item_bias.get(i).copied().unwrap_or(0.0)),
            })
            .collect();
        Recommendations { items, source: Source::Popular, reason: Some(reason), unknown_items }
    }

    /// Top-N items for a user ID. An unknown user gets the popularity fallback, and the
    /// result says so in `source` and `reason`.
    pub fn recommend(&self, user_id: &str, opts: &RecommendOptions) -> Result<Recommendations<'a>> {
        Self::check_n(opts.top_n)?;
        match self.user_index(user_id) {
            Some(u) => self.recommend_index(u, opts),
            None => {
                let filter = self.filter(opts, &[])?;
                Ok(self.popular(&filter, opts.top_n, format!("unknown user `{user_id}`"), Vec::new()))
            }
        }
    }

    /// Top-N items for a user by dense index.
    pub fn recommend_index(&self, user: usize, opts: &RecommendOptions) -> Result<Recommendations<'a>> {
        Self::check_n(opts.top_n)?;
        let factors = self
            .user_factors(user)
            .ok_or_else(|| Error::InvalidArgument(format!("user index {user} is out of range")))?;
        let seen = &self.seen_indices[self.seen_range(user)];
        let filter = self.filter(opts, seen)?;
        let bias = self.user_bias.get(user).copied().unwrap_or(0.0);
        let picked = self.rank(factors, bias, &filter, opts.top_n);
        Ok(Recommendations {
            items: self.scored(picked, true),
            source: Source::Personalized,
            reason: None,
            unknown_items: Vec::new(),
        })
    }

    /// Computes a user vector from `(item_id, value)` interactions by regularised least
    /// squares against the fixed item factors. For rating models `value` is a rating and the
    /// user bias is fitted too; for ranking models `value` is a behaviour weight used as the
    /// confidence of an implicit-feedback fit (as in implicit ALS).
    pub fn fold_in<S: AsRef<str>>(&self, interactions: &[(S, f32)]) -> Result<FoldIn> {
        let d = self.dim;
        let mut unknown_items = Vec::new();
        let mut known: Vec<(usize, f64)> = Vec::with_capacity(interactions.len());
        for (id, value) in interactions {
            let id = id.as_ref();
            if !value.is_finite() {
                return Err(Error::InvalidArgument(format!("interaction value for `{id}` is not finite")));
            }
            match self.item_index(id) {
                Some(i) => known.push((i, f64::from(*value))),
                None => unknown_items.push(id.to_owned()),
            }
        }
        let mut items: Vec<u32> = known.iter().map(|&(i, _)| i as u32).collect();
        items.sort_unstable();
        items.dedup();
        if known.is_empty() {
            return Ok(FoldIn { factors: vec![0.0; d], bias: 0.0, used: 0, unknown_items, items });
        }
        let (factors, bias) = match self.kind {
            ModelKind::Rating => self.fold_in_explicit(&known),
            ModelKind::Ranking => self.fold_in_implicit(&known),
        }
        .ok_or_else(|| Error::InvalidArgument("fold-in system is singular".into()))?;
        Ok(FoldIn { factors, bias, used: known.len(), unknown_items, items })
    }

    /// Ridge regression of residual ratings on `[item factors, 1]`.
    fn fold_in_explicit(&self, known: &[(usize, f64)]) -> Option<(Vec<f32>, f32)> {
        let (d, n) = (self.dim, self.dim + 1);
        let mut a = vec![0f64; n * n];
        let mut b = vec![0f64; n];
        let mut feature = vec![0f64; n];
        for &(i, value) in known {
            let row = self.item_factors(i)?;
            for (f, &v) in feature.iter_mut().zip(row) {
                *f = f64::from(v);
            }
            feature[d] = 1.0;
            let target = value - f64::from(self.global_bias) - f64::from(self.item_bias[i]);
            for r in 0..n {
                b[r] += feature[r] * target;
                for c in 0..n {
                    a[r * n + c] += feature[r] * feature[c];
                }
            }
        }
        for k in 0..n {
            a[k * n + k] += FOLD_IN_LAMBDA;
        }
        cholesky_solve(&mut a, &mut b, n)?;
        let bias = b[d] as f32;
        Some((b[..d].iter().map(|&x| x as f32).collect(), bias))
    }

    /// Implicit ALS fold-in: (VᵀV + Σ (c−1) v vᵀ + λI) u = Σ c v, with c = 1 + α·value.
    fn fold_in_implicit(&self, known: &[(usize, f64)]) -> Option<(Vec<f32>, f32)> {
        let d = self.dim;
        let mut a = self.gram().clone();
        let mut b = vec![0f64; d];
        for &(i, value) in known {
            let row = self.item_factors(i)?;
            let c = 1.0 + FOLD_IN_ALPHA * value.max(0.0);
            for r in 0..d {
                let vr = f64::from(row[r]);
                b[r] += c * vr;
                for k in 0..d {
                    a[r * d + k] += (c - 1.0) * vr * f64::from(row[k]);
                }
            }
        }
        for k in 0..d {
            a[k * d + k] += FOLD_IN_LAMBDA;
        }
        cholesky_solve(&mut a, &mut b, d)?;
        Some((b.iter().map(|&x| x as f32).collect(), 0.0))
    }

    fn gram(&self) -> &Vec<f64> {
        self.item_gram.get_or_init(|| {
            let d = self.dim;
            let mut g = vec![0f64; d * d];
            for row in self.item_factors.chunks_exact(d) {
                for r in 0..d {
                    let vr = f64::from(row[r]);
                    for k in r..d {
                        g[r * d + k] += vr * f64::from(row[k]);
                    }
                }
            }
            for r in 0..d {
                for k in 0..r {
                    g[r * d + k] = g[k * d + r];
                }
            }
            g
        })
    }

    /// Recommendations for an anonymous visitor from their interactions, with no retraining.
    /// Items they interacted with are excluded when `exclude_rated` is set. With no known
    /// items it falls back to popularity and says why.
    pub fn recommend_for_interactions<S: AsRef<str>>(
        &self,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        Self::check_n(opts.top_n)?;
        let folded = self.fold_in(interactions)?;
        let filter = self.filter(opts, &folded.items)?;
        if folded.used == 0 {
            let reason = "no interaction refers to a known item".to_owned();
            return Ok(self.popular(&filter, opts.top_n, reason, folded.unknown_items));
        }
        let picked = self.rank(&folded.factors, folded.bias, &filter, opts.top_n);
        Ok(Recommendations {
            items: self.scored(picked, true),
            source: Source::FoldIn,
            reason: None,
            unknown_items: folded.unknown_items,
        })
    }

    fn item_norms(&self) -> &[f32] {
        self.item_norms
            .get_or_init(|| self.item_factors.chunks_exact(self.dim).map(|r| dot(r, r).sqrt()).collect())
    }

    /// The `n` items nearest to `item_id` by cosine similarity of their factors.
    pub fn similar_items(&self, item_id: &str, n: usize) -> Result<Vec<ScoredItem<'a>>> {
        Self::check_n(n)?;
        let item = self.item_index(item_id).ok_or_else(|| Error::UnknownItem { id: item_id.to_owned() })?;
        let query = self.item_factors(item).unwrap_or(&[]);
        let norms = self.item_norms();
        let qn = norms.get(item).copied().unwrap_or(0.0);
        let mut top = TopN::new(n);
        for_each_block(query, &self.item_factors, self.dim, |first, dots| {
            let mut threshold = top.threshold();
            for (k, (&dot, &norm)) in dots.iter().zip(&norms[first..]).enumerate() {
                let denom = qn * norm;
                let score = if denom > 0.0 { dot / denom } else { 0.0 };
                let j = first + k;
                if score >= threshold && j != item {
                    top.push(Scored { score, index: j as u32 });
                    threshold = top.threshold();
                }
            }
        });
        Ok(self.scored(top.into_sorted(), false))
    }

    /// The raw model score of (user, item) by dense indices, unclamped.
    pub fn score(&self, user: usize, item: usize) -> Option<f32> {
        let (u, v) = (self.user_factors(user)?, self.item_factors(item)?);
        let (bu, bi) = (*self.user_bias.get(user)?, *self.item_bias.get(item)?);
        Some(match self.kind {
            ModelKind::Rating => self.global_bias + bu + bi + dot(u, v),
            ModelKind::Ranking => bi + dot(u, v),
        })
    }

    /// Like [`Model::predict`], by dense indices.
    pub fn predict_index(&self, user: usize, item: usize) -> Option<f32> {
        self.score(user, item).map(|s| self.report(s))
    }

    /// The predicted rating (clamped to the rating scale) or ranking score of (user, item).
    pub fn predict(&self, user_id: &str, item_id: &str) -> Result<f32> {
        let user = self.user_index(user_id).ok_or_else(|| Error::UnknownUser { id: user_id.to_owned() })?;
        let item = self.item_index(item_id).ok_or_else(|| Error::UnknownItem { id: item_id.to_owned() })?;
        Ok(self.report(self.score(user, item).unwrap_or(0.0)))
    }
}
