//! Writing artifacts. The trainer's export and the tests build models through this. The top
//! layer on the write side: it imports the format (names, string tables, serialisation), the
//! model's parts (quantisation, the recency and sequence settings) and the index builder, and
//! nothing imports it.

use safetensors::Dtype;
use safetensors::tensor::TensorView;

use crate::format::{strings, write};
use crate::index::build::{IndexParts, index_tensors, list_order};
use crate::model::ModelKind;
use crate::model::factors::{Quantization, Quantized, quantize, to_f16_bits};
use crate::model::recency::RecencyInfo;
use crate::{Error, Result, names};

mod sections;
mod sequence;
use sections::{Csr, check_lengths, index_bytes, permute_rows};
pub use sequence::{SequenceBlock, SequenceParts};

/// A rating model stored beside a ranking model (see `docs/ARTIFACT.md`), in the trainer's own
/// index order.
#[derive(Debug, Clone)]
pub struct RatingHeadParts {
    /// Factor dimension of the head.
    pub dim: usize,
    /// Global bias: the mean training rating.
    pub global_bias: f32,
    /// Row-major `[num_users, dim]`.
    pub user_factors: Vec<f32>,
    /// Row-major `[num_items, dim]`.
    pub item_factors: Vec<f32>,
    /// `[num_users]`.
    pub user_bias: Vec<f32>,
    /// `[num_items]`.
    pub item_bias: Vec<f32>,
}

/// The recency component: settings and each user's latest items, newest first.
#[derive(Debug, Clone)]
pub struct RecencyParts {
    /// Weight, decay and window.
    pub info: RecencyInfo,
    /// `history[u]`: user `u`'s latest item indices, newest first (at most `window` are kept).
    pub history: Vec<Vec<u32>>,
}

/// Everything a model artifact holds, in the trainer's own index order.
///
/// [`ModelBuilder::build`] sorts users and items by ID (so the loader can binary-search them),
/// permutes every array to match, and serialises one safetensors file.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    /// Rating or ranking.
    pub kind: ModelKind,
    /// Factor dimension.
    pub dim: usize,
    /// Global bias.
    pub global_bias: f32,
    /// User IDs; row `u` of the user arrays belongs to `user_ids[u]`.
    pub user_ids: Vec<String>,
    /// Item IDs; row `i` of the item arrays belongs to `item_ids[i]`.
    pub item_ids: Vec<String>,
    /// Row-major `[num_users, dim]`.
    pub user_factors: Vec<f32>,
    /// Row-major `[num_items, dim]`.
    pub item_factors: Vec<f32>,
    /// `[num_users]`.
    pub user_bias: Vec<f32>,
    /// `[num_items]`.
    pub item_bias: Vec<f32>,
    /// Seen `(user, item, value)` triples; each pair at most once.
    pub seen: Vec<(u32, u32, f32)>,
    /// Popularity score per item (higher is more popular); defaults to seen counts.
    pub item_popularity: Option<Vec<f32>>,
    /// Category name per item.
    pub item_categories: Option<Vec<String>>,
    /// Row-major `[num_items, 2]` projection for maps.
    pub item_projection: Option<Vec<f32>>,
    /// Rating scale, for clamping predicted ratings.
    pub rating_range: Option<(f32, f32)>,
    /// Creation time, RFC 3339 (the core reads no clock, so the caller supplies it).
    pub created_at: Option<String>,
    /// Free-form JSON: training config, metrics, data fingerprint.
    pub info: Option<String>,
    /// The last user deletion applied to the training data (see [`names::META_ERASED_THROUGH`]).
    pub erased_through: Option<u64>,
    /// The recency component (ranking and rating models alike).
    pub recency: Option<RecencyParts>,
    /// A rating head (ranking models only).
    pub rating_head: Option<RatingHeadParts>,
    /// Implicit fold-in's `(alpha, lambda)`, when they differ from the core's defaults.
    pub fold_in: Option<(f64, f64)>,
    /// How the item factors are stored: f32 (the default), int8 with a scale per row, or f16.
    pub item_quantization: Quantization,
    /// An approximate index over the items (see [`crate::build_index`]), in this builder's
    /// item order.
    pub index: Option<IndexParts>,
    /// A sequence network and each user's history for it (format v4; not with `recency`).
    pub sequence: Option<SequenceParts>,
    /// Compact item tables (format v5): `item_category` in the narrowest of U8/U16/U32, and no
    /// `item_bias` when every item bias is +0.0 (iALS has none). At a million items that is 5
    /// of about 95 bytes per item. Off by default, so such an artifact needs a version-5 reader
    /// only when it asks for one; the trainer turns it on with compact item factors.
    pub compact_item_tables: bool,
}

impl ModelBuilder {
    /// An empty builder for a model of `kind` and dimension `dim`.
    pub fn new(kind: ModelKind, dim: usize) -> Self {
        Self {
            kind,
            dim,
            global_bias: 0.0,
            user_ids: Vec::new(),
            item_ids: Vec::new(),
            user_factors: Vec::new(),
            item_factors: Vec::new(),
            user_bias: Vec::new(),
            item_bias: Vec::new(),
            seen: Vec::new(),
            item_popularity: None,
            item_categories: None,
            item_projection: None,
            rating_range: None,
            created_at: None,
            info: None,
            erased_through: None,
            recency: None,
            rating_head: None,
            fold_in: None,
            item_quantization: Quantization::F32,
            index: None,
            sequence: None,
            compact_item_tables: false,
        }
    }

    /// Validates the parts and serialises the artifact.
    pub fn build(&self) -> Result<Vec<u8>> {
        let (d, nu, ni) = (self.dim, self.user_ids.len(), self.item_ids.len());
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if d == 0 || d > 4096 {
            return bad(format!("dim must be in 1..=4096, got {d}"));
        }
        if ni == 0 {
            return bad("a model needs at least one item".into());
        }
        check_lengths(&[
            ("user_factors", self.user_factors.len(), nu * d),
            ("item_factors", self.item_factors.len(), ni * d),
            ("user_bias", self.user_bias.len(), nu),
            ("item_bias", self.item_bias.len(), ni),
        ])?;
        if u32::try_from(ni).is_err() || u32::try_from(nu).is_err() || u32::try_from(self.seen.len()).is_err()
        {
            return bad("more than 2^32 users, items or interactions".into());
        }

        let (user_order, user_rank) = sort_ids("user", &self.user_ids)?;
        let (by_id, id_rank) = sort_ids("item", &self.item_ids)?;
        // With an index, items are numbered list by list (format v3), so that a probed list's
        // rows are contiguous, and `id_order` keeps the ID lookup a binary search.
        let (item_order, item_rank, id_order) = match &self.index {
            None => (by_id, id_rank, None),
            Some(ix) => {
                let order = list_order(ix, &id_rank)?;
                let mut rank = vec![0u32; ni];
                for (pos, &o) in order.iter().enumerate() {
                    rank[o] = pos as u32;
                }
                let id_order: Vec<u32> = by_id.iter().map(|&o| rank[o]).collect();
                (order, rank, Some(id_order))
            }
        };
        let user_factors = permute_rows(&self.user_factors, &user_order, d);
        let item_factors = permute_rows(&self.item_factors, &item_order, d);
        let user_bias = permute_rows(&self.user_bias, &user_order, 1);
        let item_bias = permute_rows(&self.item_bias, &item_order, 1);

        let (seen, seen_values) = self.seen_csr(&user_rank, &item_rank, &user_order, &item_order)?;
        let seen_indices = &seen.entries;
        let popularity = self.popularity(&item_order, seen_indices)?;
        let categories = self.categories(&item_order)?;
        let projection = match &self.item_projection {
            None => None,
            Some(p) if p.len() != 2 * ni => {
                return bad(format!("item_projection has {} values, expected {}", p.len(), 2 * ni));
            }
            Some(p) => Some(permute_rows(p, &item_order, 2)),
        };

        let sorted_users: Vec<&str> = user_order.iter().map(|&o| self.user_ids[o].as_str()).collect();
        let items_in_order: Vec<&str> = item_order.iter().map(|&o| self.item_ids[o].as_str()).collect();
        let (user_bytes, user_offsets) = strings::encode(&sorted_users)?;
        let (item_bytes, item_offsets) = strings::encode(&items_in_order)?;
        let global = [self.global_bias];
        let compact = quantize(&item_factors, d, self.item_quantization)?;
        let (item_dtype, item_data): (Dtype, &[u8]) = match &compact {
            None => (Dtype::F32, bytemuck::cast_slice(&item_factors)),
            Some(Quantized::Int8 { values, .. }) => (Dtype::I8, bytemuck::cast_slice(values)),
            Some(Quantized::F16(values)) => (Dtype::F16, bytemuck::cast_slice(values)),
        };
        // Beside compact item factors, the per-item floats (biases, int8 scales) are f16 too.
        let item_bias_f16 = match compact {
            None => None,
            Some(_) => Some(to_f16_bits(&item_bias).map_err(|i| {
                Error::InvalidArgument(format!(
                    "item_bias[{}] = {} is outside the f16 range",
                    item_order[i], item_bias[i]
                ))
            })?),
        };
        let scales_f16 = match &compact {
            Some(Quantized::Int8 { scales, .. }) => Some(to_f16_bits(scales).map_err(|i| {
                Error::InvalidArgument(format!(
                    "the int8 scale of item {} is outside the f16 range",
                    item_order[i]
                ))
            })?),
            _ => None,
        };
        let (bias_dtype, bias_data): (Dtype, &[u8]) = match &item_bias_f16 {
            None => (Dtype::F32, bytemuck::cast_slice(&item_bias)),
            Some(bits) => (Dtype::F16, bytemuck::cast_slice(bits)),
        };
        let index = match &self.index {
            None => None,
            Some(ix) => Some(index_tensors(ix, d, &item_rank)?),
        };
        let compact = self.compact_item_tables;
        let omit_bias = compact && item_bias.iter().all(|b| b.to_bits() == 0);
        let category_table = categories
            .as_ref()
            .map(|((_, offsets), per_item)| index_bytes(per_item, offsets.len() - 1, compact));
        let narrow_categories = category_table.as_ref().is_some_and(|(dtype, _)| *dtype != Dtype::U32);

        let mut tensors: Vec<(&str, Dtype, Vec<usize>, &[u8])> = vec![
            (names::USER_FACTORS, Dtype::F32, vec![nu, d], bytemuck::cast_slice(&user_factors)),
            (names::ITEM_FACTORS, item_dtype, vec![ni, d], item_data),
            (names::USER_BIAS, Dtype::F32, vec![nu], bytemuck::cast_slice(&user_bias)),
            (names::GLOBAL_BIAS, Dtype::F32, vec![1], bytemuck::cast_slice(&global)),
            (names::USER_IDS_BYTES, Dtype::U8, vec![user_bytes.len()], &user_bytes),
            (names::USER_IDS_OFFSETS, Dtype::U32, vec![nu + 1], bytemuck::cast_slice(&user_offsets)),
            (names::ITEM_IDS_BYTES, Dtype::U8, vec![item_bytes.len()], &item_bytes),
            (names::ITEM_IDS_OFFSETS, Dtype::U32, vec![ni + 1], bytemuck::cast_slice(&item_offsets)),
            (names::SEEN_INDPTR, Dtype::U32, vec![nu + 1], bytemuck::cast_slice(&seen.indptr)),
            (names::SEEN_INDICES, Dtype::U32, vec![seen_indices.len()], bytemuck::cast_slice(seen_indices)),
            (names::SEEN_VALUES, Dtype::F32, vec![seen_values.len()], bytemuck::cast_slice(&seen_values)),
            (names::POPULARITY, Dtype::U32, vec![ni], bytemuck::cast_slice(&popularity)),
        ];
        if !omit_bias {
            tensors.push((names::ITEM_BIAS, bias_dtype, vec![ni], bias_data));
        }
        if let (Some(((cat_bytes, cat_offsets), _)), Some((cat_dtype, per_item))) =
            (&categories, &category_table)
        {
            tensors.push((names::CATEGORY_BYTES, Dtype::U8, vec![cat_bytes.len()], cat_bytes));
            tensors.push((
                names::CATEGORY_OFFSETS,
                Dtype::U32,
                vec![cat_offsets.len()],
                bytemuck::cast_slice(cat_offsets),
            ));
            tensors.push((names::ITEM_CATEGORY, *cat_dtype, vec![ni], per_item));
        }
        if let Some(bits) = &scales_f16 {
            tensors.push((names::ITEM_FACTOR_SCALES, Dtype::F16, vec![ni], bytemuck::cast_slice(bits)));
        }
        if let Some((centroids, bias, offsets, items, _)) = &index {
            let lists = bias.len();
            tensors.push((
                names::INDEX_CENTROIDS,
                Dtype::F32,
                vec![lists, d],
                bytemuck::cast_slice(centroids),
            ));
            tensors.push((names::INDEX_CENTROID_BIAS, Dtype::F32, vec![lists], bytemuck::cast_slice(bias)));
            tensors.push((
                names::INDEX_LIST_OFFSETS,
                Dtype::U32,
                vec![lists + 1],
                bytemuck::cast_slice(offsets),
            ));
            // Numbered list by list, the lists are runs of items: `index.list_items` would be
            // 0..ni, so `item_ids.order` takes its place.
            match &id_order {
                Some(id_order) => {
                    tensors.push((
                        names::ITEM_IDS_ORDER,
                        Dtype::U32,
                        vec![ni],
                        bytemuck::cast_slice(id_order),
                    ));
                }
                None => {
                    tensors.push((
                        names::INDEX_LIST_ITEMS,
                        Dtype::U32,
                        vec![ni],
                        bytemuck::cast_slice(items),
                    ));
                }
            }
        }
        if let Some(p) = &projection {
            tensors.push((names::ITEM_PROJECTION, Dtype::F32, vec![ni, 2], bytemuck::cast_slice(p)));
        }

        let recent = self.recent_csr(&user_order, &item_rank)?;
        if let Some(Csr { indptr, entries: indices }) = &recent {
            tensors.push((names::RECENT_INDPTR, Dtype::U32, vec![nu + 1], bytemuck::cast_slice(indptr)));
            tensors.push((
                names::RECENT_INDICES,
                Dtype::U32,
                vec![indices.len()],
                bytemuck::cast_slice(indices),
            ));
        }
        let head = self.rating_head_rows(&user_order, &item_order)?;
        if let Some(h) = &head {
            tensors.push((
                names::RATING_USER_FACTORS,
                Dtype::F32,
                vec![nu, h.dim],
                bytemuck::cast_slice(&h.user_factors),
            ));
            tensors.push((
                names::RATING_ITEM_FACTORS,
                Dtype::F32,
                vec![ni, h.dim],
                bytemuck::cast_slice(&h.item_factors),
            ));
            tensors.push((names::RATING_USER_BIAS, Dtype::F32, vec![nu], bytemuck::cast_slice(&h.user_bias)));
            tensors.push((names::RATING_ITEM_BIAS, Dtype::F32, vec![ni], bytemuck::cast_slice(&h.item_bias)));
            tensors.push((
                names::RATING_GLOBAL_BIAS,
                Dtype::F32,
                vec![1],
                bytemuck::cast_slice(std::slice::from_ref(&h.global_bias)),
            ));
        }

        let sequence = self.sequence_tensors(&user_order, &item_rank)?;
        if let Some(seq) = &sequence {
            tensors.extend(seq.views());
        }

        let mut views = Vec::with_capacity(tensors.len());
        for (name, dtype, shape, data) in tensors {
            let view = TensorView::new(dtype, shape, data)
                .map_err(|e| Error::InvalidArgument(format!("{name}: {e}")))?;
            views.push((name, view));
        }

        let metadata = self.metadata(
            omit_bias || narrow_categories,
            id_order.is_some(),
            index.as_ref().map(|(.., nprobe)| *nprobe),
        )?;
        write::serialize(views, metadata).map_err(Error::InvalidArgument)
    }
}

/// Returns (order, rank): `order[k]` is the original index of the k-th smallest ID and
/// `rank[original]` is its position in that order. Empty or duplicate IDs are errors.
fn sort_ids(what: &str, ids: &[String]) -> Result<(Vec<usize>, Vec<u32>)> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by(|&a, &b| ids[a].cmp(&ids[b]));
    for w in order.windows(2) {
        if ids[w[0]] == ids[w[1]] {
            return Err(Error::InvalidArgument(format!("duplicate {what} ID `{}`", ids[w[0]])));
        }
    }
    if let Some(&first) = order.first()
        && ids[first].is_empty()
    {
        return Err(Error::InvalidArgument(format!("empty {what} ID")));
    }
    let mut rank = vec![0u32; ids.len()];
    for (pos, &o) in order.iter().enumerate() {
        rank[o] = pos as u32;
    }
    Ok((order, rank))
}
