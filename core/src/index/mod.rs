//! The approximate index for large catalogues (format v2, optional): an inverted file (IVF).
//!
//! Items are grouped into lists around k-means centroids. A search scores the centroids
//! against the query vector (`query · centroid + the list's mean item bias`), probes the best
//! `nprobe` lists, and scores their items exactly, so every returned score is the exact score
//! and the result is the exact top-N of the probed items. When filters leave fewer than
//! [`PAGE_DEPTH`] candidates (or `offset + top_n` when deeper; under a per-category cap, fewer
//! than `offset + top_n` that can be picked), further lists are probed in the same order until
//! enough pass or every list is probed (which is exact search). Widening to a depth that does
//! not depend on the page keeps pages consistent: the pages of one query within the first
//! `PAGE_DEPTH` ranks come from the same probed lists, so the next page follows without repeats
//! (under a cap the widening follows the page, so a deep capped page can differ from a longer
//! first page). The lists are chosen by integer pre-score where an error bound proves the
//! choice equal to the f32 scores' ([`prescored`]).

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use self::prescored::Coarse;

/// The fewest passing candidates an index search gathers before it stops widening (without a
/// per-category cap): the same for every page of a query up to this depth, so its pages are
/// slices of one ranking.
pub const PAGE_DEPTH: usize = 100;
use crate::format::read::{Marks, check_finite, len_1d, required, tensor, typed};
use crate::kernel::{BLOCK, Scored, for_each_block};
use crate::model::{Model, ModelKind};
use crate::query::Filter;
use crate::query::picks::Picks;
use crate::{Error, Result, names};

pub(crate) mod build;
mod prescored;

pub use build::{AUTO_INDEX_MIN_ITEMS, IndexParams, IndexParts, build_index};

/// How queries find their candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Score every item.
    Exact,
    /// Probe at least `nprobe` lists of the model's index, then score their items exactly.
    Index {
        /// Lists probed per query, `1..=lists`.
        nprobe: usize,
    },
}

/// The index stored in an artifact, as reported by [`Model::info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndexInfo {
    /// Always `ivf` today.
    pub kind: &'static str,
    /// Number of lists (k-means centroids).
    pub lists: usize,
    /// Lists a search probes by default.
    pub nprobe: usize,
}

#[derive(Debug)]
pub(crate) struct Ivf<'a> {
    centroids: Cow<'a, [f32]>,
    centroid_bias: Cow<'a, [f32]>,
    offsets: Cow<'a, [u32]>,
    /// v2: each list's items. `None` in v3, where list `k` is items `offsets[k]..offsets[k + 1]`.
    items: Option<Cow<'a, [u32]>>,
    nprobe: usize,
    /// The centroids in int8, for choosing lists by pre-score.
    coarse: Coarse,
}

/// The items of one list.
#[derive(Debug, Clone)]
pub(crate) enum ListItems<'s> {
    /// v2: item indices, increasing.
    Listed(&'s [u32]),
    /// v3: consecutive items, whose rows are contiguous.
    Run(std::ops::Range<u32>),
}

const PARTS: [&str; 4] =
    [names::INDEX_CENTROIDS, names::INDEX_CENTROID_BIAS, names::INDEX_LIST_OFFSETS, names::INDEX_LIST_ITEMS];

impl<'a> Ivf<'a> {
    /// Reads the optional index: its tensors and both keys, or none of them. With `runs` (v3,
    /// items numbered list by list) the lists are runs of items and `index.list_items` must be
    /// absent; otherwise all four tensors come together.
    pub(crate) fn load(
        st: &SafeTensors<'a>,
        metadata: &HashMap<String, String>,
        num_items: usize,
        dim: usize,
        runs: bool,
    ) -> Result<Option<Self>> {
        let mut present = 0;
        for name in PARTS {
            present += usize::from(tensor(st, name)?.is_some());
        }
        if runs && tensor(st, names::INDEX_LIST_ITEMS)?.is_some() {
            return Err(Error::Invalid(format!(
                "`{}` cannot come with `{}`: the lists are runs of items",
                names::INDEX_LIST_ITEMS,
                names::ITEM_IDS_ORDER
            )));
        }
        let expected = if runs { PARTS.len() - 1 } else { PARTS.len() };
        if runs && present == 0 {
            return Err(Error::Invalid(format!("`{}` needs an index", names::ITEM_IDS_ORDER)));
        }
        let keys = [names::META_INDEX_KIND, names::META_INDEX_NPROBE].map(|k| metadata.get(k));
        if present == 0 && keys.iter().all(Option::is_none) {
            return Ok(None);
        }
        let [Some(kind), Some(nprobe)] = keys else {
            return Err(Error::Metadata("the index needs `index_kind` and `index_nprobe`".into()));
        };
        if present != expected {
            return Err(Error::Invalid(format!("the index's {expected} tensors must come together")));
        }
        if kind != "ivf" {
            return Err(Error::Metadata(format!("unknown index_kind `{kind}` (this build reads `ivf`)")));
        }
        let lists = len_1d(st, names::INDEX_CENTROID_BIAS)?;
        if lists == 0 || lists > num_items {
            return Err(Error::Invalid(format!("the index has {lists} lists; it needs 1..={num_items}")));
        }
        let nprobe =
            nprobe.parse::<usize>().ok().filter(|n| (1..=lists).contains(n)).ok_or_else(|| {
                Error::Metadata(format!("`index_nprobe` must be an integer in 1..={lists}"))
            })?;
        let f32s = |name: &'static str, shape: &[usize]| -> Result<Cow<'a, [f32]>> {
            let v = required(name, typed::<f32>(st, name, Dtype::F32, shape)?)?;
            check_finite(name, &v)?;
            Ok(v)
        };
        let centroids = f32s(names::INDEX_CENTROIDS, &[lists, dim])?;
        let centroid_bias = f32s(names::INDEX_CENTROID_BIAS, &[lists])?;
        let offsets: Cow<'_, [u32]> = required(
            names::INDEX_LIST_OFFSETS,
            typed(st, names::INDEX_LIST_OFFSETS, Dtype::U32, &[lists + 1])?,
        )?;
        if offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().map(|&e| e as usize) != Some(num_items)
        {
            return Err(Error::Invalid(format!(
                "`{}` must start at 0, never decrease and end at {num_items}",
                names::INDEX_LIST_OFFSETS
            )));
        }
        if runs {
            let coarse = Coarse::new(&centroids, &centroid_bias, dim);
            return Ok(Some(Self { centroids, centroid_bias, offsets, items: None, nprobe, coarse }));
        }
        let items: Cow<'_, [u32]> =
            required(names::INDEX_LIST_ITEMS, typed(st, names::INDEX_LIST_ITEMS, Dtype::U32, &[num_items])?)?;
        let mut marks = Marks::new(num_items);
        for (k, w) in offsets.windows(2).enumerate() {
            let list = &items[w[0] as usize..w[1] as usize];
            if list.windows(2).any(|p| p[0] >= p[1]) {
                return Err(Error::Invalid(format!(
                    "`{}` list {k} is not strictly increasing",
                    names::INDEX_LIST_ITEMS
                )));
            }
            if let Some(&i) = list.iter().find(|&&i| !marks.mark(i as usize)) {
                return Err(Error::Invalid(format!(
                    "`{}` is not a permutation of the items (item {i} in list {k})",
                    names::INDEX_LIST_ITEMS
                )));
            }
        }
        let coarse = Coarse::new(&centroids, &centroid_bias, dim);
        Ok(Some(Self { centroids, centroid_bias, offsets, items: Some(items), nprobe, coarse }))
    }

    pub(crate) fn lists(&self) -> usize {
        self.centroid_bias.len()
    }

    pub(crate) fn info(&self) -> IndexInfo {
        IndexInfo { kind: "ivf", lists: self.lists(), nprobe: self.nprobe }
    }

    fn list(&self, k: usize) -> ListItems<'_> {
        let (s, e) = match (self.offsets.get(k), self.offsets.get(k + 1)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => (0, 0),
        };
        match &self.items {
            Some(items) => ListItems::Listed(items.get(s as usize..e as usize).unwrap_or(&[])),
            None => ListItems::Run(s..e),
        }
    }

    /// Every list with its score for `query`: `query · centroid + mean bias`.
    fn list_scores(&self, query: &[f32], dim: usize) -> Vec<Scored> {
        let mut order = Vec::with_capacity(self.lists());
        for_each_block(query, &self.centroids, dim, |first, dots| {
            for (k, (&d, &b)) in dots.iter().zip(&self.centroid_bias[first..]).enumerate() {
                order.push(Scored { score: d + b, index: (first + k) as u32 });
            }
        });
        order
    }
}

/// Best list first; ties by list index.
fn list_order(a: &Scored, b: &Scored) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.index.cmp(&b.index))
}

/// Lists in probe order, sorted lazily: the first `nprobe` at once (a partial selection, not a
/// sort of every list), the rest only when a filter makes the search widen past them.
struct ProbeOrder {
    lists: Vec<Scored>,
    sorted: usize,
    nprobe: usize,
    /// False when `lists` holds only the first `sorted` lists (chosen by pre-score): the rest
    /// are scored if the search widens past them.
    complete: bool,
}

impl ProbeOrder {
    fn new(mut lists: Vec<Scored>, nprobe: usize) -> Self {
        let first = nprobe.min(lists.len());
        if first == 1 {
            // The common setting: one pass for the best list, no selection.
            let best =
                (1..lists.len()).fold(0, |b, k| if list_order(&lists[k], &lists[b]).is_lt() { k } else { b });
            lists.swap(0, best);
        } else if first < lists.len() {
            lists.select_nth_unstable_by(first, list_order);
        }
        lists[..first].sort_unstable_by(list_order);
        Self { lists, sorted: first, nprobe, complete: true }
    }

    /// The order's first lists only, already sorted.
    fn prefix(first: Vec<Scored>, nprobe: usize) -> Self {
        Self { sorted: first.len(), lists: first, nprobe, complete: false }
    }

    /// The `k`-th list to probe; `all` scores every list, when a prefix is not enough.
    fn get(&mut self, k: usize, all: impl FnOnce() -> Vec<Scored>) -> Option<usize> {
        if k >= self.sorted && !self.complete {
            *self = Self::new(all(), self.nprobe);
        }
        if k >= self.sorted {
            self.lists[self.sorted..].sort_unstable_by(list_order);
            self.sorted = self.lists.len();
        }
        self.lists.get(k).map(|s| s.index as usize)
    }
}

impl Model<'_> {
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

    /// Index search: the exact top-N of the items in the probed lists (see the module docs).
    pub(crate) fn rank_indexed(
        &self,
        ivf: &Ivf<'_>,
        nprobe: usize,
        factors: &[f32],
        bias: f32,
        filter: &Filter<'_>,
        mut top: Picks<'_>,
    ) -> Vec<Scored> {
        let base = match self.kind {
            ModelKind::Rating => self.global_bias + bias,
            ModelKind::Ranking => 0.0,
        };
        let dim = self.dim;
        let mut passing = 0usize;
        let mut cands: Vec<u32> = Vec::with_capacity(BLOCK);
        // The v2 gather buffer, made on first use (v3 lists are scored in place).
        let mut rows = Vec::new();
        let mut order = ivf.probe_order(factors, dim, nprobe);
        for probed in 0..ivf.lists() {
            if probed >= nprobe && top.can_fill(passing) && (top.capped() || passing >= PAGE_DEPTH) {
                break;
            }
            let Some(list) = order.get(probed, || ivf.list_scores(factors, dim)) else { break };
            match ivf.list(list) {
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
}

#[cfg(test)]
mod tests {
    use super::{ProbeOrder, list_order};
    use crate::kernel::Scored;

    #[test]
    fn probe_order_is_the_full_sort_whatever_nprobe() {
        // Ties in score (k % 7) check the tie-break by list index.
        let lists: Vec<Scored> =
            (0..50u32).map(|k| Scored { score: ((k * 37) % 7) as f32, index: (k * 13) % 50 }).collect();
        let mut sorted = lists.clone();
        sorted.sort_by(list_order);
        let want: Vec<usize> = sorted.iter().map(|s| s.index as usize).collect();
        for nprobe in [1, 2, 3, 49, 50, 60] {
            let mut order = ProbeOrder::new(lists.clone(), nprobe);
            let got: Vec<usize> = (0..50).map_while(|k| order.get(k, Vec::new)).collect();
            assert_eq!(got, want, "nprobe {nprobe}");
        }
        assert_eq!(ProbeOrder::new(Vec::new(), 1).get(0, Vec::new), None);
    }
}
