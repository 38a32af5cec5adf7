//! Explanations: which of a user's own items made a recommended item score as it does.
//!
//! - **Linear models** (implicit ALS, and the rating model's ridge fold-in): the user vector
//!   folded in from the history `H` is `x = A⁻¹ Σⱼ tⱼ fⱼ`, so an item's score from it splits
//!   exactly into one term per history item, `tⱼ · (A⁻¹ fᵢ)·fⱼ`, as implicit's `explain` does
//!   for ALS (implicit: `fⱼ = yⱼ`, `tⱼ = cⱼ = 1 + α·value`, `A = YᵀY + Σ (cⱼ−1) yⱼyⱼᵀ + λI`;
//!   ratings: `fⱼ = [yⱼ, 1]`, `tⱼ` the residual rating). The recency component adds
//!   `wⱼ · yⱼ·yᵢ` for each recent item, also exactly. A trained user is explained through the
//!   fold-in of their stored items, which the trained factors equal at convergence.
//! - **Sequence models**: leave one out. Each item of the window is removed in turn (all its
//!   occurrences), the network is run again, and the item's contribution is what the score
//!   loses.
//!
//! Each recommended item gets up to [`MAX_BECAUSE`] items with a positive contribution,
//! largest first, each with its share of the positive contributions.

use serde::Serialize;

use crate::kernel::{cholesky_factor, cholesky_substitute, dot};
use crate::model::{Model, ModelKind};
use crate::{Error, Result};

/// Most history items named for one recommended item.
pub const MAX_BECAUSE: usize = 3;

/// One history item behind a recommended item's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Because<'m> {
    /// The history (or session) item.
    pub item_id: &'m str,
    /// Its dense index.
    pub index: usize,
    /// Its exact part of the score (linear models), or what the score loses without it
    /// (sequence models).
    pub contribution: f32,
    /// `contribution` over the sum of the positive contributions, in (0, 1].
    pub share: f32,
}

/// What a user context holds: `(item, value)` pairs for the fold-in, oldest first, and the
/// same items newest first for the recency component.
struct History {
    values: Vec<(usize, f64)>,
    newest_first: Vec<usize>,
}

impl<'a> Model<'a> {
    /// Explains `items` recommended for `user_id` (a user the model knows, or `None` / unknown
    /// for a visitor) with the request's `interactions` (oldest first): for each item, up to
    /// [`MAX_BECAUSE`] items from the user's stored history or the interactions.
    pub fn explain<S: AsRef<str>>(
        &self,
        user_id: Option<&str>,
        interactions: &[(S, f32)],
        items: &[usize],
    ) -> Result<Vec<Vec<Because<'a>>>> {
        if let Some(&bad) = items.iter().find(|&&i| i >= self.num_items()) {
            return Err(Error::InvalidArgument(format!("item index {bad} is out of range")));
        }
        let (session, _) = self.resolve_interactions(interactions)?;
        let user = user_id.and_then(|id| self.user_index(id));
        if self.sequence.is_some() {
            let mut order: Vec<usize> =
                user.map_or(&[][..], |u| self.sequence_history(u)).iter().map(|&i| i as usize).collect();
            order.extend(session.iter().map(|&(i, _)| i));
            return self.explain_by_removal(&order, items);
        }
        let mut values: Vec<(usize, f64)> =
            user.map(|u| self.seen_items(u).map(|(i, v)| (i, f64::from(v))).collect()).unwrap_or_default();
        values.extend_from_slice(&session);
        let mut newest_first: Vec<usize> = session.iter().rev().map(|&(i, _)| i).collect();
        if let Some(u) = user {
            newest_first.extend(self.recent_items(u).iter().map(|&i| i as usize));
        }
        self.explain_linear(&History { values, newest_first }, items)
    }

    /// Explains `items` from a stored history: `(item, value)` pairs oldest first, and the same
    /// items newest first (a [`crate::UserRecord`]'s, for [`Model::explain_record`]).
    pub(crate) fn explain_history(
        &self,
        values: Vec<(usize, f64)>,
        newest_first: Vec<usize>,
        items: &[usize],
    ) -> Result<Vec<Vec<Because<'a>>>> {
        if self.sequence.is_some() {
            let order: Vec<usize> = newest_first.iter().rev().copied().collect();
            return self.explain_by_removal(&order, items);
        }
        self.explain_linear(&History { values, newest_first }, items)
    }

    /// The exact split of each item's score over the history (see the module docs).
    fn explain_linear(&self, history: &History, items: &[usize]) -> Result<Vec<Vec<Because<'a>>>> {
        let d = self.dim;
        let mut buf = Vec::new();
        let row = |i: usize, buf: &mut Vec<f32>| -> Vec<f64> {
            self.item_factors
                .row(i, d, buf)
                .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                .unwrap_or_else(|| vec![0.0; d])
        };
        // Each history item's feature f and target t, as the fold-in uses them.
        let explicit = self.kind == ModelKind::Rating;
        let n = if explicit { d + 1 } else { d };
        let mut a = if explicit { vec![0f64; n * n] } else { self.gram().clone() };
        let mut terms: Vec<(usize, Vec<f64>, f64)> = Vec::with_capacity(history.values.len());
        for &(j, value) in &history.values {
            let mut f = row(j, &mut buf);
            let t = if explicit {
                f.push(1.0);
                value - f64::from(self.global_bias) - f64::from(self.item_bias[j])
            } else {
                1.0 + self.fold_in_alpha * value.max(0.0)
            };
            let extra = if explicit { 1.0 } else { t - 1.0 };
            for r in 0..n {
                for k in 0..n {
                    a[r * n + k] += extra * f[r] * f[k];
                }
            }
            terms.push((j, f, t));
        }
        for k in 0..n {
            a[k * n + k] += self.fold_in_lambda;
        }
        // Factored once; each listed item is then two triangular solves.
        if !terms.is_empty() {
            cholesky_factor(&mut a, n)
                .ok_or_else(|| Error::InvalidArgument("fold-in system is singular".into()))?;
        }
        // The recency component's weight for each recent item (newest first).
        let mut recent: Vec<(usize, f64)> = Vec::new();
        if let Some(info) = self.recency.as_ref().map(|r| r.info).filter(|i| i.weight > 0.0) {
            let (mut w, mut total) = (1.0f64, 0.0f64);
            for &j in history.newest_first.iter().take(info.window) {
                recent.push((j, w));
                total += w;
                w *= f64::from(info.decay);
            }
            recent.iter_mut().for_each(|(_, w)| *w *= f64::from(info.weight) / total.max(f64::MIN_POSITIVE));
        }
        let mut out = Vec::with_capacity(items.len());
        for &i in items {
            let mut contributions: Vec<(usize, f64)> = Vec::new();
            let mut fi = row(i, &mut buf);
            if !terms.is_empty() {
                if explicit {
                    fi.push(1.0);
                }
                let mut z = fi.clone();
                cholesky_substitute(&a, &mut z, n);
                contributions.extend(
                    terms.iter().map(|(j, f, t)| (*j, t * f.iter().zip(&z).map(|(x, y)| x * y).sum::<f64>())),
                );
                fi.truncate(d);
            }
            for &(j, w) in &recent {
                contributions
                    .push((j, w * row(j, &mut buf).iter().zip(&fi).map(|(x, y)| x * y).sum::<f64>()));
            }
            out.push(self.top_because(contributions));
        }
        Ok(out)
    }

    /// Leave-one-out over the window of `order` (oldest first): what each item's removal takes
    /// from each recommended item's score.
    fn explain_by_removal(&self, order: &[usize], items: &[usize]) -> Result<Vec<Vec<Because<'a>>>> {
        let window = self.sequence.as_ref().map_or(0, |s| s.info.max_len);
        let order = &order[order.len().saturating_sub(window)..];
        if order.is_empty() {
            return Ok(vec![Vec::new(); items.len()]);
        }
        let d = self.dim;
        let full = self.sequence_state(order)?;
        // Each distinct item is removed with all its occurrences: what the user did with it.
        let mut distinct = order.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let mut without = Vec::with_capacity(distinct.len());
        for &j in &distinct {
            let rest: Vec<usize> = order.iter().copied().filter(|&m| m != j).collect();
            let state = if rest.is_empty() { vec![0.0; d] } else { self.sequence_state(&rest)? };
            without.push(state);
        }
        let mut buf = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        for &i in items {
            let y =
                self.item_factors.row(i, d, &mut buf).map(<[f32]>::to_vec).unwrap_or_else(|| vec![0.0; d]);
            let score = dot(&full, &y);
            let contributions = distinct
                .iter()
                .zip(&without)
                .map(|(&j, state)| (j, f64::from(score - dot(state, &y))))
                .collect();
            out.push(self.top_because(contributions));
        }
        Ok(out)
    }

    /// Sums each item's contributions, keeps the positive ones, largest first (ties: lower
    /// index), at most [`MAX_BECAUSE`], with their shares.
    fn top_because(&self, contributions: Vec<(usize, f64)>) -> Vec<Because<'a>> {
        let mut per: Vec<(usize, f64)> = Vec::with_capacity(contributions.len());
        let mut sorted = contributions;
        sorted.sort_by_key(|&(j, _)| j);
        for (j, c) in sorted {
            match per.last_mut() {
                Some((last, sum)) if *last == j => *sum += c,
                _ => per.push((j, c)),
            }
        }
        per.retain(|&(_, c)| c > 0.0 && c.is_finite());
        let total: f64 = per.iter().map(|&(_, c)| c).sum();
        per.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        per.into_iter()
            .take(MAX_BECAUSE)
            .map(|(j, c)| Because {
                item_id: self.item_id(j),
                index: j,
                contribution: c as f32,
                share: (c / total) as f32,
            })
            .collect()
    }
}
