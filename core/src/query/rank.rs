//! The searches that fill a page: the caller's candidates alone, the index, every item, or
//! the popularity fallback.

use super::{Filter, For, Recommendations, ScoredItem, Source};
use crate::index::Search;
use crate::kernel::Scored;
use crate::model::{Model, ModelKind};
use crate::query::picks::Picks;

impl<'a> Model<'a> {
    /// The page of the best items for a user vector that pass the filter (`top_n` after
    /// `offset`, at most `max_per_category` a category): the candidates alone when the request
    /// gives them, else through the index or by scoring every item, as [`Model::search`] says.
    pub(crate) fn rank(&self, factors: &[f32], bias: f32, filter: &Filter<'_>) -> Vec<Scored> {
        let picks = Picks::new(filter.wanted, filter.cap);
        let picked = match (&filter.only, &self.index, self.search) {
            (Some(only), _, _) => self.rank_only(only, factors, bias, filter, picks),
            (None, Some(ivf), Search::Index { nprobe }) => {
                self.rank_indexed(ivf, nprobe, factors, bias, filter, picks)
            }
            _ => self.rank_exact(factors, bias, filter, picks),
        };
        picked.into_iter().skip(filter.offset).collect()
    }

    /// Scores the request's candidates only.
    fn rank_only(
        &self,
        only: &[u32],
        factors: &[f32],
        bias: f32,
        filter: &Filter<'_>,
        mut picks: Picks<'_>,
    ) -> Vec<Scored> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias + bias,
            ModelKind::Ranking => 0.0,
        };
        let mut buf = Vec::new();
        for &i in only {
            if !self.passes(filter, i) {
                continue;
            }
            let Some(dot) = self.item_factors.dot_row(factors, i as usize, &mut buf) else { continue };
            let score = base + self.item_bias.get(i as usize).copied().unwrap_or(0.0) + dot;
            picks.push(Scored { score, index: i });
        }
        picks.into_sorted()
    }

    /// Scores every item for a user vector and fills `top` with those that pass the filter.
    pub(crate) fn rank_exact(
        &self,
        factors: &[f32],
        bias: f32,
        filter: &Filter<'_>,
        mut top: Picks<'_>,
    ) -> Vec<Scored> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias + bias,
            ModelKind::Ranking => 0.0,
        };
        // Sorted exclusions, consumed in step with the (increasing) candidate indices.
        let mut excluded: &[u32] = &filter.excluded;
        let item_bias: &[f32] = &self.item_bias;
        self.item_factors.for_each_block(factors, self.dim, |first, dots| {
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
                if excluded.first() == Some(&i)
                    || filter.unavailable.is_some_and(|u| u.contains(i as usize))
                    || !self.allowed_category(filter, i as usize)
                {
                    continue;
                }
                top.push(Scored { score, index: i });
                threshold = top.threshold();
            }
        });
        top.into_sorted()
    }

    /// The popularity fallback: the page of the most popular items that pass the filter (at
    /// most `max_per_category` a category). Unknown candidates join `unknown_items`.
    pub(crate) fn popular(
        &self,
        filter: &Filter<'_>,
        reason: String,
        mut unknown_items: Vec<String>,
    ) -> Recommendations<'a> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias,
            ModelKind::Ranking => 0.0,
        };
        let mut per_category = filter.cap.map(|(_, _, categories)| vec![0usize; categories]);
        let mut under_cap = |i: usize| match (&mut per_category, filter.cap) {
            (Some(counts), Some((k, cats, _))) => match cats.get(i).and_then(|&c| counts.get_mut(c as usize))
            {
                Some(count) if *count < k => {
                    *count += 1;
                    true
                }
                _ => false,
            },
            _ => true,
        };
        unknown_items.extend(filter.unknown.iter().cloned());
        let items = self
            .popularity
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| self.passes(filter, i as u32) && under_cap(i))
            .take(filter.wanted)
            .skip(filter.offset)
            .map(|i| {
                let score = self.report(base + self.item_bias.get(i).copied().unwrap_or(0.0));
                ScoredItem {
                    item_id: self.item_id(i),
                    index: i,
                    score,
                    predicted_rating: self.rating_of(For::Anonymous, i, score),
                }
            })
            .collect();
        let items = self.in_rank_order(items);
        Recommendations { items, source: Source::Popular, reason: Some(reason), unknown_items }
    }
}
