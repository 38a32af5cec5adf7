//! Similar items: the nearest items by cosine similarity of their factors.

use crate::kernel::{Scored, TopN, dot};
use crate::model::Model;
use crate::query::ScoredItem;
use crate::query::unavailable::Unavailable;
use crate::{Error, Result};

impl<'a> Model<'a> {
    /// Each item's factor norm, computed on first use and kept.
    fn item_norms(&self) -> &[f32] {
        self.item_norms.get_or_init(|| {
            let mut buf = Vec::new();
            (0..self.num_items())
                .map(|i| self.item_factors.row(i, self.dim, &mut buf).map_or(0.0, |r| dot(r, r).sqrt()))
                .collect()
        })
    }

    /// The `n` items nearest to `item_id` by cosine similarity of their factors, leaving out
    /// the `unavailable` ones (inside the scan, so the list stays `n` long while enough items
    /// are available).
    pub fn similar_items(
        &self,
        item_id: &str,
        n: usize,
        unavailable: Option<&Unavailable>,
    ) -> Result<Vec<ScoredItem<'a>>> {
        Self::check_n(n)?;
        let item = self.item_index(item_id).ok_or_else(|| Error::UnknownItem { id: item_id.to_owned() })?;
        let mut buf = Vec::new();
        let query = self.item_factors.row(item, self.dim, &mut buf).unwrap_or(&[]).to_vec();
        let norms = self.item_norms();
        let qn = norms.get(item).copied().unwrap_or(0.0);
        let mut top = TopN::new(n);
        self.item_factors.for_each_block(&query, self.dim, |first, dots| {
            let mut threshold = top.threshold();
            for (k, (&dot, &norm)) in dots.iter().zip(&norms[first..]).enumerate() {
                let denom = qn * norm;
                let score = if denom > 0.0 { dot / denom } else { 0.0 };
                let j = first + k;
                if score >= threshold && j != item && !unavailable.is_some_and(|u| u.contains(j)) {
                    top.push(Scored { score, index: j as u32 });
                    threshold = top.threshold();
                }
            }
        });
        Ok(top
            .into_sorted()
            .into_iter()
            .map(|s| ScoredItem {
                item_id: self.item_id(s.index as usize),
                index: s.index as usize,
                score: s.score,
                predicted_rating: None,
            })
            .collect())
    }
}
