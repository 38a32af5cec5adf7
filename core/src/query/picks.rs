//! The selection every search fills: the best `n` items, or, with a diversity cap, the best `n`
//! with at most `k` from any one category.
//!
//! The capped list is what a greedy pass over all items in rank order would pick (take an item
//! unless its category already has `k`). That list is the best `n` of the union of each
//! category's own best `k`, so the scan keeps one bounded selection per category and merges
//! them at the end: one pass, no re-scan, and the same cheap threshold test as the plain case.

use crate::kernel::{Scored, TopN, rank_order};

pub(crate) enum Picks<'c> {
    /// The best `n`.
    Top(TopN),
    /// At most `k` per category (`item_category[i]` indexes `per`); the best `n` of them.
    Capped {
        n: usize,
        item_category: &'c [u32],
        per: Vec<TopN>,
        /// How many items the per-category selections hold together.
        held: usize,
        /// The lowest of the per-category thresholds: a candidate below it enters none.
        floor: f32,
    },
}

impl<'c> Picks<'c> {
    /// The best `n`, at most `cap` per category when a cap is given with the categories.
    pub(crate) fn new(n: usize, cap: Option<(usize, &'c [u32], usize)>) -> Self {
        match cap {
            None => Self::Top(TopN::new(n)),
            Some((k, item_category, categories)) => Self::Capped {
                n,
                item_category,
                per: (0..categories).map(|_| TopN::new(k.min(n))).collect(),
                held: 0,
                floor: f32::NEG_INFINITY,
            },
        }
    }

    /// The score below which a candidate cannot be picked: a cheap test before any other work.
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        match self {
            Self::Top(top) => top.threshold(),
            Self::Capped { floor, .. } => *floor,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, candidate: Scored) {
        match self {
            Self::Top(top) => top.push(candidate),
            Self::Capped { item_category, per, held, floor, .. } => {
                let Some(top) =
                    item_category.get(candidate.index as usize).and_then(|&c| per.get_mut(c as usize))
                else {
                    return;
                };
                let (len, threshold) = (top.len(), top.threshold());
                top.push(candidate);
                *held += top.len() - len;
                // The floor can only rise when this category's own threshold did.
                if top.threshold() != threshold {
                    *floor = per.iter().map(TopN::threshold).fold(f32::INFINITY, f32::min);
                }
            }
        }
    }

    /// Whether the list can be `n` long, given how many items passed the filters so far: for
    /// the index search, which widens until it can.
    pub(crate) fn can_fill(&self, passing: usize) -> bool {
        match self {
            Self::Top(top) => passing >= top.n(),
            // Every passing item below a full category's threshold was left out because that
            // category already holds `k`, so `held` is what the items seen can give.
            Self::Capped { n, held, .. } => held >= n,
        }
    }

    /// Whether a per-category cap applies.
    pub(crate) fn capped(&self) -> bool {
        matches!(self, Self::Capped { .. })
    }

    /// The picks, best first.
    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        match self {
            Self::Top(top) => top.into_sorted(),
            Self::Capped { n, per, .. } => {
                let mut all: Vec<Scored> = per.into_iter().flat_map(TopN::into_sorted).collect();
                all.sort_by(rank_order);
                all.truncate(n);
                all
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Picks;
    use crate::kernel::Scored;

    #[test]
    fn a_cap_keeps_the_greedy_list() {
        // Items 0..10 with scores 10, 9, ..., 1; categories alternate 0, 0, 1, 0, ...
        let cats = [0, 0, 1, 0, 1, 2, 0, 1, 2, 2];
        let mut picks = Picks::new(5, Some((2, &cats, 3)));
        for i in 0..10u32 {
            picks.push(Scored { score: 10.0 - i as f32, index: i });
        }
        assert!(picks.can_fill(0));
        let got: Vec<u32> = picks.into_sorted().iter().map(|s| s.index).collect();
        // Greedy: 0 (c0), 1 (c0), 2 (c1), 3 (c0, full: skip), 4 (c1), 5 (c2).
        assert_eq!(got, [0, 1, 2, 4, 5]);
    }
}
