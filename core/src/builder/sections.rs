//! The artifact's sections that [`ModelBuilder::build`] computes from its parts, each in the
//! sorted index space: seen items, popularity, categories, recent history, the rating head and
//! the metadata.

use std::collections::HashMap;

use safetensors::Dtype;

use super::{ModelBuilder, RatingHeadParts, RecencyParts};
use crate::format::strings;
use crate::model::{FORMAT_VERSION, ModelKind};
use crate::{Error, Result, names};

fn bad<T>(message: String) -> Result<T> {
    Err(Error::InvalidArgument(message))
}

/// Each `(what, got, want)`: an error naming the first part whose length `got` is not `want`.
pub(super) fn check_lengths(parts: &[(&str, usize, usize)]) -> Result<()> {
    match parts.iter().find(|(_, got, want)| got != want) {
        Some((what, got, want)) => bad(format!("{what} has {got} values, expected {want}")),
        None => Ok(()),
    }
}

/// Rows of `width` values of `src`, in `order` (`order[k]` is the original row of row `k`).
pub(super) fn permute_rows(src: &[f32], order: &[usize], width: usize) -> Vec<f32> {
    order.iter().flat_map(|&o| src[o * width..(o + 1) * width].iter().copied()).collect()
}

/// `values`, each below `bound`, as the little-endian bytes of U32, or (`narrow`, format v5) of
/// the narrowest of U8 and U16 that holds `bound - 1`; the dtype says which.
pub(super) fn index_bytes(values: &[u32], bound: usize, narrow: bool) -> (Dtype, Vec<u8>) {
    if narrow && bound <= 1 << 8 {
        (Dtype::U8, values.iter().map(|&v| v as u8).collect())
    } else if narrow && bound <= 1 << 16 {
        (Dtype::U16, values.iter().flat_map(|&v| (v as u16).to_le_bytes()).collect())
    } else {
        (Dtype::U32, values.iter().flat_map(|&v| v.to_le_bytes()).collect())
    }
}

/// Compressed sparse rows: `indptr` (one more than the rows) and the row-major entries.
pub(super) struct Csr<T> {
    pub(super) indptr: Vec<u32>,
    pub(super) entries: Vec<T>,
}

impl ModelBuilder {
    /// Seen items as CSR in the sorted index space (each user's items, increasing), and the
    /// value of each entry.
    pub(super) fn seen_csr(
        &self,
        user_rank: &[u32],
        item_rank: &[u32],
        user_order: &[usize],
        item_order: &[usize],
    ) -> Result<(Csr<u32>, Vec<f32>)> {
        let nu = self.user_ids.len();
        let mut seen: Vec<(u32, u32, f32)> = Vec::with_capacity(self.seen.len());
        for &(u, i, v) in &self.seen {
            let (Some(&u2), Some(&i2)) = (user_rank.get(u as usize), item_rank.get(i as usize)) else {
                return bad(format!("seen entry ({u}, {i}) is out of range"));
            };
            if !v.is_finite() {
                return bad(format!("seen entry ({u}, {i}) has a non-finite value"));
            }
            seen.push((u2, i2, v));
        }
        seen.sort_unstable_by_key(|&(u, i, _)| (u, i));
        if let Some(w) = seen.windows(2).find(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1) {
            return bad(format!(
                "seen has a duplicate pair ({}, {})",
                self.user_ids[user_order[w[0].0 as usize]], self.item_ids[item_order[w[0].1 as usize]]
            ));
        }
        let mut indptr = vec![0u32; nu + 1];
        for &(u, _, _) in &seen {
            indptr[u as usize + 1] += 1;
        }
        for k in 0..nu {
            indptr[k + 1] += indptr[k];
        }
        let entries = seen.iter().map(|s| s.1).collect();
        Ok((Csr { indptr, entries }, seen.iter().map(|s| s.2).collect()))
    }

    /// Items by popularity: the given scores (or seen counts) descending, then index order.
    pub(super) fn popularity(&self, item_order: &[usize], seen_items: &[u32]) -> Result<Vec<u32>> {
        let ni = self.item_ids.len();
        let scores: Vec<f32> = match &self.item_popularity {
            Some(p) if p.len() != ni => {
                return bad(format!("item_popularity has {} values, expected {ni}", p.len()));
            }
            Some(p) => permute_rows(p, item_order, 1),
            None => {
                let mut counts = vec![0f32; ni];
                for &i in seen_items {
                    counts[i as usize] += 1.0;
                }
                counts
            }
        };
        let mut popularity: Vec<u32> = (0..ni as u32).collect();
        popularity.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        Ok(popularity)
    }

    /// The category names (encoded, sorted) and each item's category, if the model has them.
    #[allow(clippy::type_complexity)]
    pub(super) fn categories(&self, item_order: &[usize]) -> Result<Option<((Vec<u8>, Vec<u32>), Vec<u32>)>> {
        let ni = self.item_ids.len();
        match &self.item_categories {
            None => Ok(None),
            Some(c) if c.len() != ni => bad(format!("item_categories has {} values, expected {ni}", c.len())),
            Some(c) => {
                let mut cnames: Vec<&str> = c.iter().map(String::as_str).collect();
                cnames.sort_unstable();
                cnames.dedup();
                if cnames.iter().any(|n| n.is_empty()) {
                    return bad("category names must not be empty".into());
                }
                let per_item: Vec<u32> = item_order
                    .iter()
                    .map(|&o| cnames.binary_search(&c[o].as_str()).unwrap_or(0) as u32)
                    .collect();
                Ok(Some((strings::encode(&cnames)?, per_item)))
            }
        }
    }

    /// Each user's recent items (at most the window), as CSR, if the model has a recency part.
    pub(super) fn recent_csr(&self, user_order: &[usize], item_rank: &[u32]) -> Result<Option<Csr<u32>>> {
        let Some(RecencyParts { info, history }) = &self.recency else {
            return Ok(None);
        };
        let nu = self.user_ids.len();
        info.validate()?;
        if history.len() != nu {
            return bad(format!("recency history has {} users, expected {nu}", history.len()));
        }
        let mut indptr = vec![0u32; nu + 1];
        let mut entries = Vec::new();
        for (k, &o) in user_order.iter().enumerate() {
            for &i in history[o].iter().take(info.window) {
                let Some(&i2) = item_rank.get(i as usize) else {
                    return bad(format!("recency history item {i} is out of range"));
                };
                entries.push(i2);
            }
            indptr[k + 1] = u32::try_from(entries.len())
                .map_err(|_| Error::InvalidArgument("recency history too long".into()))?;
        }
        Ok(Some(Csr { indptr, entries }))
    }

    /// The rating head's parts in the sorted index space, checked, if the model has one.
    pub(super) fn rating_head_rows(
        &self,
        user_order: &[usize],
        item_order: &[usize],
    ) -> Result<Option<RatingHeadParts>> {
        let (nu, ni) = (self.user_ids.len(), self.item_ids.len());
        match &self.rating_head {
            None => Ok(None),
            Some(_) if self.kind != ModelKind::Ranking => {
                bad("only ranking models carry a rating head".into())
            }
            Some(h) => {
                let hd = h.dim;
                if hd == 0 || hd > 4096 {
                    return bad(format!("rating head dim must be in 1..=4096, got {hd}"));
                }
                check_lengths(&[
                    ("rating head user_factors", h.user_factors.len(), nu * hd),
                    ("rating head item_factors", h.item_factors.len(), ni * hd),
                    ("rating head user_bias", h.user_bias.len(), nu),
                    ("rating head item_bias", h.item_bias.len(), ni),
                ])?;
                Ok(Some(RatingHeadParts {
                    dim: hd,
                    user_factors: permute_rows(&h.user_factors, user_order, hd),
                    item_factors: permute_rows(&h.item_factors, item_order, hd),
                    user_bias: permute_rows(&h.user_bias, user_order, 1),
                    item_bias: permute_rows(&h.item_bias, item_order, 1),
                    global_bias: h.global_bias,
                }))
            }
        }
    }

    /// The safetensors metadata: format, version (5 when compact item tables were written,
    /// else 4 with a sequence part, else 3 when items are numbered list by list, else 2, so
    /// every other artifact still loads in older readers), kind, dim and each part's settings.
    pub(super) fn metadata(
        &self,
        compact_tables: bool,
        numbered_by_list: bool,
        nprobe: Option<usize>,
    ) -> Result<HashMap<String, String>> {
        let version = match (compact_tables, &self.sequence, numbered_by_list) {
            (true, ..) => FORMAT_VERSION,
            (false, Some(_), _) => 4,
            (false, None, true) => 3,
            (false, None, false) => 2,
        };
        let mut metadata = HashMap::from([
            (names::META_FORMAT.to_owned(), names::FORMAT_NAME.to_owned()),
            (names::META_VERSION.to_owned(), version.to_string()),
            (names::META_KIND.to_owned(), self.kind.as_str().to_owned()),
            (names::META_DIM.to_owned(), self.dim.to_string()),
        ]);
        if let Some((lo, hi)) = self.rating_range {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return bad(format!("bad rating range ({lo}, {hi})"));
            }
            metadata.insert(names::META_RATING_MIN.to_owned(), lo.to_string());
            metadata.insert(names::META_RATING_MAX.to_owned(), hi.to_string());
        }
        if let Some(c) = &self.created_at {
            metadata.insert(names::META_CREATED_AT.to_owned(), c.clone());
        }
        if let Some(info) = &self.info {
            metadata.insert(names::META_INFO.to_owned(), info.clone());
        }
        if let Some(seq) = self.erased_through {
            metadata.insert(names::META_ERASED_THROUGH.to_owned(), seq.to_string());
        }
        if let Some(r) = &self.recency {
            metadata.insert(names::META_RECENCY_WEIGHT.to_owned(), r.info.weight.to_string());
            metadata.insert(names::META_RECENCY_DECAY.to_owned(), r.info.decay.to_string());
            metadata.insert(names::META_RECENCY_WINDOW.to_owned(), r.info.window.to_string());
        }
        if let Some((alpha, lambda)) = self.fold_in {
            if !(alpha.is_finite() && alpha > 0.0 && lambda.is_finite() && lambda > 0.0) {
                return bad(format!("fold-in alpha and lambda must be positive, got ({alpha}, {lambda})"));
            }
            metadata.insert(names::META_FOLD_IN_ALPHA.to_owned(), alpha.to_string());
            metadata.insert(names::META_FOLD_IN_LAMBDA.to_owned(), lambda.to_string());
        }
        if let Some(seq) = &self.sequence {
            metadata.insert(names::META_SEQ_MAX_LEN.to_owned(), seq.max_len.to_string());
            metadata.insert(names::META_SEQ_BLOCKS.to_owned(), seq.blocks.len().to_string());
        }
        if let Some(nprobe) = nprobe {
            metadata.insert(names::META_INDEX_KIND.to_owned(), "ivf".to_owned());
            metadata.insert(names::META_INDEX_NPROBE.to_owned(), nprobe.to_string());
        }
        Ok(metadata)
    }
}
