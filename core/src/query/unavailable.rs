//! Items that may not be served right now (sold out, withdrawn, expired), as a set over one
//! model's dense item indices.
//!
//! A shop's catalogue changes between trainings; [`RecommendOptions::unavailable`] carries the
//! set into every query, and the search skips its items the way it skips excluded ones: inside
//! the scan, so a list is still `top_n` long while enough available items exist.
//!
//! [`RecommendOptions::unavailable`]: crate::RecommendOptions::unavailable

use crate::model::Model;

/// A set of dense item indices of one model: one bit per item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unavailable {
    bits: Vec<u64>,
    num_items: usize,
    len: usize,
}

impl Unavailable {
    /// An empty set for a model of `num_items` items.
    pub fn new(num_items: usize) -> Self {
        Self { bits: vec![0; num_items.div_ceil(64)], num_items, len: 0 }
    }

    /// Adds item `index`; an index past the model's items is ignored.
    pub fn insert(&mut self, index: usize) {
        if index >= self.num_items {
            return;
        }
        if let Some(word) = self.bits.get_mut(index / 64) {
            let bit = 1u64 << (index % 64);
            if *word & bit == 0 {
                *word |= bit;
                self.len += 1;
            }
        }
    }

    /// Whether item `index` is in the set.
    #[inline]
    pub fn contains(&self, index: usize) -> bool {
        self.bits.get(index / 64).is_some_and(|w| w & (1u64 << (index % 64)) != 0)
    }

    /// How many items are in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Model<'_> {
    /// The set of the given item IDs that this model knows, for
    /// [`RecommendOptions::unavailable`](crate::RecommendOptions::unavailable). The IDs it does
    /// not know are returned beside it: they cannot be recommended anyway.
    pub fn unavailable<'i>(
        &self,
        item_ids: impl IntoIterator<Item = &'i str>,
    ) -> (Unavailable, Vec<&'i str>) {
        let mut set = Unavailable::new(self.num_items());
        let mut unknown = Vec::new();
        for id in item_ids {
            match self.item_index(id) {
                Some(i) => set.insert(i),
                None => unknown.push(id),
            }
        }
        (set, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::Unavailable;

    #[test]
    fn a_set_counts_each_item_once_and_ignores_indices_past_the_end() {
        let mut set = Unavailable::new(130);
        assert!(set.is_empty());
        for i in [0, 63, 64, 129, 129, 130, 10_000] {
            set.insert(i);
        }
        assert_eq!(set.len(), 4);
        assert!(set.contains(0) && set.contains(63) && set.contains(64) && set.contains(129));
        assert!(!set.contains(1) && !set.contains(130) && !set.contains(usize::MAX));
    }
}
