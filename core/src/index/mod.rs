//! The approximate index for large catalogues (format v2, optional): an inverted file (IVF).
//!
//! Items are grouped into lists around k-means centroids. A query's lists are scored against
//! its vector (`query · centroid + the list's mean item bias`), and [`Ivf::probe`] yields their
//! items best list first, for as long as the search asks: the search (in the query layer)
//! scores the items exactly and decides when it has probed enough. The lists are chosen by
//! integer pre-score where an error bound proves the choice equal to the f32 scores'
//! ([`prescored`]).
//!
//! The layer: the stored index (here), choosing the lists to probe ([`prescored`]) and building
//! an index with k-means ([`build`]). It imports only the format and the kernel: it yields lists
//! of items, and the queries score them.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use self::prescored::Coarse;
use crate::format::read::{Marks, check_finite, len_1d, required, tensor, typed};
use crate::kernel::{Scored, for_each_block};
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

/// The index stored in an artifact, as reported by [`crate::Model::info`].
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

    /// The lists to probe for `query`, best first: at least `nprobe` of them, and more for as
    /// long as the search takes them.
    pub(crate) fn probe<'s>(&'s self, query: &'s [f32], dim: usize, nprobe: usize) -> Probe<'s, 'a> {
        Probe { ivf: self, query, dim, order: self.probe_order(query, dim, nprobe), probed: 0 }
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

/// The lists one query probes, in probe order: each [`Iterator::next`] yields the items of the
/// next list, until every list is probed.
pub(crate) struct Probe<'s, 'a> {
    ivf: &'s Ivf<'a>,
    query: &'s [f32],
    dim: usize,
    order: ProbeOrder,
    probed: usize,
}

impl Probe<'_, '_> {
    /// How many lists have been yielded.
    #[inline]
    pub(crate) fn probed(&self) -> usize {
        self.probed
    }
}

impl<'s> Iterator for Probe<'s, '_> {
    type Item = ListItems<'s>;

    #[inline]
    fn next(&mut self) -> Option<ListItems<'s>> {
        if self.probed >= self.ivf.lists() {
            return None;
        }
        let (ivf, query, dim) = (self.ivf, self.query, self.dim);
        let list = self.order.get(self.probed, || ivf.list_scores(query, dim))?;
        self.probed += 1;
        Some(ivf.list(list))
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
