//! Fold-in: a user vector computed from interactions against the fixed item factors, for
//! visitors the model was not trained on.

use serde::Serialize;

use crate::kernel::cholesky_solve;
use crate::model::{Model, ModelKind};
use crate::query::{For, RecommendOptions, Recommendations, Source};
use crate::{Error, Result};

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

/// A known item's dense index and its interaction value.
type Known = (usize, f64);

impl<'a> Model<'a> {
    /// Computes a user vector from `(item_id, value)` interactions by regularised least
    /// squares against the fixed item factors. For rating models `value` is a rating and the
    /// user bias is fitted too; for ranking models `value` is a behaviour weight used as the
    /// confidence of an implicit-feedback fit (as in implicit ALS).
    pub fn fold_in<S: AsRef<str>>(&self, interactions: &[(S, f32)]) -> Result<FoldIn> {
        let d = self.dim;
        let (known, unknown_items) = self.resolve_interactions(interactions)?;
        let mut items: Vec<u32> = known.iter().map(|&(i, _)| i as u32).collect();
        items.sort_unstable();
        items.dedup();
        if known.is_empty() {
            return Ok(FoldIn { factors: vec![0.0; d], bias: 0.0, used: 0, unknown_items, items });
        }
        let (factors, bias) = self.fold_in_known(&known)?;
        Ok(FoldIn { factors, bias, used: known.len(), unknown_items, items })
    }

    /// Splits `(item_id, value)` interactions into `(item index, value)` pairs of known items
    /// (in the given order) and the IDs the model does not know. A non-finite value is an error.
    pub(crate) fn resolve_interactions<S: AsRef<str>>(
        &self,
        interactions: &[(S, f32)],
    ) -> Result<(Vec<Known>, Vec<String>)> {
        let mut unknown_items = Vec::new();
        let mut known: Vec<Known> = Vec::with_capacity(interactions.len());
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
        Ok((known, unknown_items))
    }

    /// Fold-in over `(item index, value)` pairs of known items.
    pub(crate) fn fold_in_known(&self, known: &[(usize, f64)]) -> Result<(Vec<f32>, f32)> {
        match self.kind {
            ModelKind::Rating => self.fold_in_explicit(known),
            ModelKind::Ranking => self.fold_in_implicit(known),
        }
        .ok_or_else(|| Error::InvalidArgument("fold-in system is singular".into()))
    }

    /// Ridge regression of residual ratings on `[item factors, 1]`.
    fn fold_in_explicit(&self, known: &[(usize, f64)]) -> Option<(Vec<f32>, f32)> {
        let (d, n) = (self.dim, self.dim + 1);
        let mut a = vec![0f64; n * n];
        let mut b = vec![0f64; n];
        let mut feature = vec![0f64; n];
        let mut buf = Vec::new();
        for &(i, value) in known {
            let row = self.item_factors.row(i, d, &mut buf)?;
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
            a[k * n + k] += self.fold_in_lambda;
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
        let mut buf = Vec::new();
        for &(i, value) in known {
            let row = self.item_factors.row(i, d, &mut buf)?;
            let c = 1.0 + self.fold_in_alpha * value.max(0.0);
            for r in 0..d {
                let vr = f64::from(row[r]);
                b[r] += c * vr;
                for k in 0..d {
                    a[r * d + k] += (c - 1.0) * vr * f64::from(row[k]);
                }
            }
        }
        for k in 0..d {
            a[k * d + k] += self.fold_in_lambda;
        }
        cholesky_solve(&mut a, &mut b, d)?;
        Some((b.iter().map(|&x| x as f32).collect(), 0.0))
    }

    pub(crate) fn gram(&self) -> &Vec<f64> {
        self.item_gram.get_or_init(|| {
            let d = self.dim;
            let mut g = vec![0f64; d * d];
            let mut buf = Vec::new();
            for i in 0..self.num_items() {
                let Some(row) = self.item_factors.row(i, d, &mut buf) else { continue };
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

    /// Recommendations for an anonymous visitor from their interactions, with no retraining:
    /// with a sequence part, the sequence network's state over the known items in the order
    /// given (the last is the newest); otherwise a fold-in. Items they interacted with are excluded when `exclude_rated` is set. With no known
    /// items it falls back to popularity and says why.
    pub fn recommend_for_interactions<S: AsRef<str>>(
        &self,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        if self.sequence.is_some() {
            return self.recommend_sequence(interactions, opts);
        }
        let folded = self.fold_in(interactions)?;
        let filter = self.filter(opts, &folded.items)?;
        if folded.used == 0 {
            let reason = "no interaction refers to a known item".to_owned();
            return self.popular(&filter, reason, folded.unknown_items);
        }
        let mut factors = folded.factors;
        if let Some(recency) = &self.recency {
            recency.add(self.newest_first(interactions).into_iter(), &self.item_factors, &mut factors);
        }
        let picked = self.rank(&factors, folded.bias, &filter)?;
        Ok(Recommendations {
            items: self.scored(picked, For::Anonymous),
            source: Source::FoldIn,
            reason: None,
            unknown_items: folded.unknown_items.into_iter().chain(filter.unknown).collect(),
        })
    }

    /// [`Model::recommend_for_interactions`] for a model with a sequence part.
    fn recommend_sequence<S: AsRef<str>>(
        &self,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        let (known, unknown_items) = self.resolve_interactions(interactions)?;
        let order: Vec<usize> = known.iter().map(|&(i, _)| i).collect();
        let mut items: Vec<u32> = order.iter().map(|&i| i as u32).collect();
        items.sort_unstable();
        items.dedup();
        let filter = self.filter(opts, &items)?;
        if order.is_empty() {
            let reason = "no interaction refers to a known item".to_owned();
            return self.popular(&filter, reason, unknown_items);
        }
        let state = self.sequence_state(&order)?;
        let picked = self.rank(&state, 0.0, &filter)?;
        Ok(Recommendations {
            items: self.scored(picked, For::Anonymous),
            source: Source::FoldIn,
            reason: None,
            unknown_items: unknown_items.into_iter().chain(filter.unknown).collect(),
        })
    }

    /// The known items of `interactions`, newest first: the interactions are listed in the
    /// order they happened, so the last one is the newest.
    pub(crate) fn newest_first<S: AsRef<str>>(&self, interactions: &[(S, f32)]) -> Vec<usize> {
        interactions.iter().rev().filter_map(|(id, _)| self.item_index(id.as_ref())).collect()
    }
}
