//! Loading an artifact: every tensor and metadata key is checked before a [`Model`] exists, so a
//! loaded model never needs to check its own data again.

use std::borrow::Cow;
use std::sync::OnceLock;

use safetensors::{Dtype, SafeTensors};

use crate::format::read::{
    self, Marks, check_finite, check_indices, floats, indices, len_1d, required, typed,
};
use crate::format::strings::str_table;
use crate::index::{Ivf, Search};
use crate::model::factors::{ItemFactors, Quantization};
use crate::model::rating_head::RatingHead;
use crate::model::recency::Recency;
use crate::model::sequence::Sequence;
use crate::model::{FORMAT_VERSION, Model, ModelKind, OLDEST_FORMAT_VERSION};
use crate::{Error, Result, names};

/// Fold-in's ridge λ when the artifact does not set `fold_in_lambda`, relative to one interaction.
const DEFAULT_FOLD_IN_LAMBDA: f64 = 1.0;
/// Implicit fold-in's confidence per unit of value when the artifact does not set
/// `fold_in_alpha`: c = 1 + α·value.
const DEFAULT_FOLD_IN_ALPHA: f64 = 4.0;

impl<'a> Model<'a> {
    /// Loads and fully validates an artifact. Never panics on malformed input.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(e.to_string()))?;

        let meta = |key: &str| {
            metadata
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| Error::Metadata(format!("missing key `{key}`")))
        };
        if meta(names::META_FORMAT)? != names::FORMAT_NAME {
            return Err(Error::Metadata(format!("`{}` is not `{}`", names::META_FORMAT, names::FORMAT_NAME)));
        }
        let found = meta(names::META_VERSION)?;
        let version = match found.parse::<u32>() {
            Ok(v) if (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) => v,
            _ => {
                return Err(Error::UnsupportedVersion { found: found.to_owned(), supported: FORMAT_VERSION });
            }
        };
        let kind: ModelKind = meta(names::META_KIND)?.parse()?;
        let dim: usize = meta(names::META_DIM)?
            .parse()
            .ok()
            .filter(|&d| d > 0 && d <= 4096)
            .ok_or_else(|| Error::Metadata("`dim` must be an integer in 1..=4096".into()))?;
        let rating_range = match (metadata.get(names::META_RATING_MIN), metadata.get(names::META_RATING_MAX))
        {
            (Some(lo), Some(hi)) => {
                let parse = |s: &str| s.parse::<f32>().ok().filter(|v| v.is_finite());
                match (parse(lo), parse(hi)) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => return Err(Error::Metadata("bad rating range".into())),
                }
            }
            (None, None) => None,
            _ => return Err(Error::Metadata("rating_min and rating_max must come together".into())),
        };

        let num_users = len_1d(&st, names::USER_BIAS)?;
        // v5 leaves out item biases that are all 0; the popularity order still lists every item.
        let num_items = match read::tensor(&st, names::ITEM_BIAS)? {
            None if version >= 5 => len_1d(&st, names::POPULARITY)?,
            _ => len_1d(&st, names::ITEM_BIAS)?,
        };
        if num_items == 0 {
            return Err(Error::Invalid("the model has no items".into()));
        }
        let user_factors =
            required(names::USER_FACTORS, typed(&st, names::USER_FACTORS, Dtype::F32, &[num_users, dim])?)?;
        // v1 stores f32 only; v2 may store compact rows (the dtype says which).
        let item_factors = ItemFactors::load(&st, num_items, dim)?;
        if version < 2 && item_factors.quantization() != Quantization::F32 {
            return Err(Error::Invalid("format version 1 stores item factors as F32 only".into()));
        }
        let user_bias = required(names::USER_BIAS, typed(&st, names::USER_BIAS, Dtype::F32, &[num_users])?)?;
        // v2 may store the item biases as F16 (beside compact item factors).
        let item_bias = match floats(&st, names::ITEM_BIAS, &[num_items], version >= 2)? {
            Some(bias) => bias,
            None if version >= 5 => Cow::Owned(vec![0.0; num_items]),
            None => return Err(Error::MissingTensor(names::ITEM_BIAS)),
        };
        let global: Cow<'_, [f32]> =
            required(names::GLOBAL_BIAS, typed(&st, names::GLOBAL_BIAS, Dtype::F32, &[1])?)?;
        let global_bias = global[0];
        for (name, values) in [
            (names::USER_FACTORS, &user_factors),
            (names::USER_BIAS, &user_bias),
            (names::ITEM_BIAS, &item_bias),
            (names::GLOBAL_BIAS, &global),
        ] {
            check_finite(name, values)?;
        }

        let users = required(
            names::USER_IDS_BYTES,
            str_table(&st, names::USER_IDS_BYTES, names::USER_IDS_OFFSETS, Some(num_users), None)?,
        )?;
        // v3 numbers items list by list; `item_ids.order` then lists them in ID order.
        // v4 and later number them so exactly when they have an index.
        let id_order = typed::<u32>(&st, names::ITEM_IDS_ORDER, Dtype::U32, &[num_items])?;
        let want_order = match version {
            1 | 2 => false,
            3 => true,
            _ => read::tensor(&st, names::INDEX_LIST_OFFSETS)?.is_some(),
        };
        if want_order != id_order.is_some() {
            return Err(Error::Invalid(format!(
                "`{}` comes with format version 3, and with version 4 or later when it has an \
                 index, and only then (this is version {version})",
                names::ITEM_IDS_ORDER
            )));
        }
        let runs = id_order.is_some();
        let items = required(
            names::ITEM_IDS_BYTES,
            str_table(&st, names::ITEM_IDS_BYTES, names::ITEM_IDS_OFFSETS, Some(num_items), id_order)?,
        )?;

        let seen_indptr: Cow<'_, [u32]> =
            required(names::SEEN_INDPTR, typed(&st, names::SEEN_INDPTR, Dtype::U32, &[num_users + 1])?)?;
        if seen_indptr.first() != Some(&0) || seen_indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::Invalid(format!(
                "`{}` must start at 0 and never decrease",
                names::SEEN_INDPTR
            )));
        }
        let nnz = seen_indptr.last().copied().unwrap_or(0) as usize;
        let seen_indices: Cow<'_, [u32]> =
            required(names::SEEN_INDICES, typed(&st, names::SEEN_INDICES, Dtype::U32, &[nnz])?)?;
        let seen_values: Cow<'_, [f32]> =
            required(names::SEEN_VALUES, typed(&st, names::SEEN_VALUES, Dtype::F32, &[nnz])?)?;
        check_finite(names::SEEN_VALUES, &seen_values)?;
        for (u, w) in seen_indptr.windows(2).enumerate() {
            let row = &seen_indices[w[0] as usize..w[1] as usize];
            if row.windows(2).any(|p| p[0] >= p[1]) {
                return Err(Error::Invalid(format!(
                    "`{}` row {u} is not strictly increasing",
                    names::SEEN_INDICES
                )));
            }
            if row.last().is_some_and(|&i| i as usize >= num_items) {
                return Err(Error::Invalid(format!(
                    "`{}` row {u} has an item out of range",
                    names::SEEN_INDICES
                )));
            }
        }

        let popularity: Cow<'_, [u32]> =
            required(names::POPULARITY, typed(&st, names::POPULARITY, Dtype::U32, &[num_items])?)?;
        let mut marks = Marks::new(num_items);
        if !popularity.iter().all(|&i| marks.mark(i as usize)) {
            return Err(Error::Invalid(format!("`{}` is not a permutation of the items", names::POPULARITY)));
        }

        let categories = str_table(&st, names::CATEGORY_BYTES, names::CATEGORY_OFFSETS, None, None)?;
        let item_category = indices(&st, names::ITEM_CATEGORY, &[num_items], version >= 5)?;
        match (&categories, &item_category) {
            (Some(c), Some(ic)) => check_indices(names::ITEM_CATEGORY, ic, c.len())?,
            (None, None) => {}
            _ => return Err(Error::Invalid("item categories and category names must come together".into())),
        }
        let projection = typed::<f32>(&st, names::ITEM_PROJECTION, Dtype::F32, &[num_items, 2])?;
        if let Some(p) = &projection {
            check_finite(names::ITEM_PROJECTION, p)?;
        }

        match metadata.get(names::META_USERS).map(String::as_str) {
            None => {}
            Some(crate::format::USERS_EXTERNAL) if version >= 2 && num_users == 0 => {}
            Some(other) => {
                return Err(Error::Metadata(format!(
                    "`{}` = `{other}`: only `{}`, in an artifact of version 2 or later that holds no users",
                    names::META_USERS,
                    crate::format::USERS_EXTERNAL
                )));
            }
        }
        let (mut recency, mut rating_head, mut index) = (None, None, None);
        // v4 is the version of the sequence part: it comes with version 4 (or later), and
        // version 4 with it.
        let sequence = match (version, Sequence::present(&st, &metadata)) {
            (4.., true) => Some(Sequence::load(&st, &metadata, num_users, num_items, dim)?),
            (4, false) => {
                return Err(Error::Invalid("a version-4 artifact must carry the sequence part".into()));
            }
            (_, false) => None,
            (_, true) => {
                return Err(Error::Invalid(format!(
                    "the sequence part comes with format version 4 or later (this is version {version})"
                )));
            }
        };
        let (mut fold_in_alpha, mut fold_in_lambda) = (DEFAULT_FOLD_IN_ALPHA, DEFAULT_FOLD_IN_LAMBDA);
        if version >= 2 {
            recency = Recency::load(&st, &metadata, num_users, num_items)?;
            rating_head = RatingHead::load(&st, num_users, num_items)?;
            index = Ivf::load(&st, &metadata, num_items, dim, runs)?;
            if rating_head.is_some() && kind != ModelKind::Ranking {
                return Err(Error::Invalid("only ranking models carry a rating head".into()));
            }
            let positive = |key: &str, default: f64| -> Result<f64> {
                match metadata.get(key) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| Error::Metadata(format!("`{key}` must be a positive number"))),
                }
            };
            fold_in_alpha = positive(names::META_FOLD_IN_ALPHA, fold_in_alpha)?;
            fold_in_lambda = positive(names::META_FOLD_IN_LAMBDA, fold_in_lambda)?;
        }
        if sequence.is_some() && recency.is_some() {
            // The stored user vectors are the network's states; a recency term on top would make
            // a known user's list disagree with their session's.
            return Err(Error::Invalid("a model with a sequence part carries no recency component".into()));
        }

        Ok(Self {
            version,
            kind,
            dim,
            global_bias,
            user_factors,
            item_factors,
            user_bias,
            item_bias,
            users,
            items,
            seen_indptr,
            seen_indices,
            seen_values,
            popularity,
            item_category,
            categories,
            projection,
            rating_range,
            metadata,
            recency,
            rating_head,
            sequence,
            fold_in_alpha,
            fold_in_lambda,
            item_norms: OnceLock::new(),
            item_gram: OnceLock::new(),
            search: index.as_ref().map_or(Search::Exact, |ivf| Search::Index { nprobe: ivf.info().nprobe }),
            index,
            item_factors_f32: OnceLock::new(),
        })
    }
}
