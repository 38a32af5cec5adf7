//! The searches that fill a page: the caller's candidates alone, the index, every item, or
//! the popularity fallback.

use super::picks::Picks;
use super::{Filter, For, Recommendations, ScoredItem, Source};
use crate::Result;
use crate::index::{Ivf, ListItems, Search};
use crate::kernel::{BLOCK, Scored, for_each_block};
use crate::model::{Model, ModelKind};

/// The fewest passing candidates an index search gathers before it stops widening (without a
/// per-category cap): the same for every page of a query up to this depth, so its pages are
/// slices of one ranking.
pub const PAGE_DEPTH: usize = 100;

impl<'a> Model<'a> {
    /// What every item's score adds to its dot product and item bias for a query with user bias
    /// `bias`: the global and user biases for a rating model, nothing for a ranking model.
    fn score_base(&self, bias: f32) -> f32 {
        match self.kind {
            ModelKind::Rating => self.global_bias + bias,
            ModelKind::Ranking => 0.0,
        }
    }

    /// The page of the best items for a user vector that pass the filter (`top_n` after
    /// `offset`, at most `max_per_category` a category): the candidates alone when the request
    /// gives them, else through the index or by scoring every item, as [`Model::search`] says.
    /// A later page past the end is [`crate::Error::OffsetPastEnd`].
    pub(crate) fn rank(&self, factors: &[f32], bias: f32, filter: &Filter<'_>) -> Result<Vec<Scored>> {
        let picks = Picks::new(filter.wanted, filter.cap);
        let picked = match (&filter.only, &self.index, self.search) {
            (Some(only), _, _) => self.rank_only(only, factors, bias, filter, picks),
            (None, Some(ivf), Search::Index { nprobe }) => {
                self.rank_indexed(ivf, nprobe, factors, bias, filter, picks)
            }
            _ => self.rank_exact(factors, bias, filter, picks),
        };
        Self::check_end(filter, picked.len())?;
        Ok(picked.into_iter().skip(filter.offset).collect())
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
        let base = self.score_base(bias);
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

    /// Index search: the exact top-N of the items in the probed lists. The index yields the lists
    /// best first ([`Ivf::probe`]); every item of a probed list is scored exactly, so every
    /// returned score is the exact score. When filters leave fewer than [`PAGE_DEPTH`]
    /// candidates (or `offset + top_n` when deeper; under a per-category cap, fewer than
    /// `offset + top_n` that can be picked), further lists are probed in the same order until
    /// enough pass or every list is probed (which is exact search). Widening to a depth that
    /// does not depend on the page keeps pages consistent: the pages of one query within the
    /// first `PAGE_DEPTH` ranks come from the same probed lists, so the next page follows
    /// without repeats (under a cap the widening follows the page, so a deep capped page can
    /// differ from a longer first page).
    pub(crate) fn rank_indexed(
        &self,
        ivf: &Ivf<'_>,
        nprobe: usize,
        factors: &[f32],
        bias: f32,
        filter: &Filter<'_>,
        mut top: Picks<'_>,
    ) -> Vec<Scored> {
        let base = self.score_base(bias);
        let dim = self.dim;
        let mut passing = 0usize;
        let mut cands: Vec<u32> = Vec::with_capacity(BLOCK);
        // The v2 gather buffer, made on first use (v3 lists are scored in place).
        let mut rows = Vec::new();
        let mut lists = ivf.probe(factors, dim, nprobe);
        loop {
            if lists.probed() >= nprobe && top.can_fill(passing) && (top.capped() || passing >= PAGE_DEPTH) {
                break;
            }
            let Some(list) = lists.next() else { break };
            match list {
                // v3: the list's rows are contiguous. Every row is scored as exact search scores
                // it (a sequential read, no gather), and the filter is checked only for a
                // candidate that would enter the top N.
                ListItems::Run(run) => {
                    let run = run.start as usize..run.end as usize;
                    passing += self.count_passing(filter, run.clone());
                    self.item_factors.for_each_block_in(factors, dim, run, |first, dots| {
                        let mut threshold = top.threshold();
                        for (k, &dot) in dots.iter().enumerate() {
                            let i = (first + k) as u32;
                            let score = base + self.item_bias.get(i as usize).copied().unwrap_or(0.0) + dot;
                            if score >= threshold && self.passes(filter, i) {
                                top.push(Scored { score, index: i });
                                threshold = top.threshold();
                            }
                        }
                    });
                }
                // v2: the passing items of a list are gathered into a block of rows and scored
                // with the same kernel as exact search: the row reads are independent, so they
                // overlap.
                ListItems::Listed(items) => {
                    rows.resize(BLOCK * dim, 0f32);
                    for chunk in items.chunks(BLOCK) {
                        cands.clear();
                        cands.extend(chunk.iter().copied().filter(|&i| self.passes(filter, i)));
                        passing += cands.len();
                        let block = &mut rows[..cands.len() * dim];
                        self.item_factors.gather_into(&cands, dim, block);
                        for_each_block(factors, block, dim, |_, dots| {
                            let mut threshold = top.threshold();
                            for (&dot, &i) in dots.iter().zip(&cands) {
                                let score =
                                    base + self.item_bias.get(i as usize).copied().unwrap_or(0.0) + dot;
                                if score >= threshold {
                                    top.push(Scored { score, index: i });
                                    threshold = top.threshold();
                                }
                            }
                        });
                    }
                }
            }
        }
        top.into_sorted()
    }

    /// Scores every item for a user vector and fills `top` with those that pass the filter.
    pub(crate) fn rank_exact(
        &self,
        factors: &[f32],
        bias: f32,
        filter: &Filter<'_>,
        mut top: Picks<'_>,
    ) -> Vec<Scored> {
        let base = self.score_base(bias);
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
    /// most `max_per_category` a category). Unknown candidates join `unknown_items`. A later
    /// page past the end is [`crate::Error::OffsetPastEnd`].
    pub(crate) fn popular(
        &self,
        filter: &Filter<'_>,
        reason: String,
        mut unknown_items: Vec<String>,
    ) -> Result<Recommendations<'a>> {
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
        let picked: Vec<usize> = self
            .popularity
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| self.passes(filter, i as u32) && under_cap(i))
            .take(filter.wanted)
            .collect();
        Self::check_end(filter, picked.len())?;
        let items = picked
            .into_iter()
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
        Ok(Recommendations { items, source: Source::Popular, reason: Some(reason), unknown_items })
    }
}
