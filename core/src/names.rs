//! Tensor names and metadata keys of the artifact. `docs/ARTIFACT.md` documents each one.

/// Value of [`META_FORMAT`].
pub const FORMAT_NAME: &str = "edgerec";

/// Metadata: always `edgerec`.
pub const META_FORMAT: &str = "format";
/// Metadata: the format version, an integer.
pub const META_VERSION: &str = "format_version";
/// Metadata: `rating` or `ranking`.
pub const META_KIND: &str = "model_kind";
/// Metadata: the factor dimension.
pub const META_DIM: &str = "dim";
/// Metadata: lowest rating (rating models); predictions are clamped to it.
pub const META_RATING_MIN: &str = "rating_min";
/// Metadata: highest rating (rating models).
pub const META_RATING_MAX: &str = "rating_max";
/// Metadata: creation time, RFC 3339.
pub const META_CREATED_AT: &str = "created_at";
/// Metadata: free-form JSON (training config, metrics, data fingerprint).
pub const META_INFO: &str = "info";

/// `F32 [num_users, dim]`.
pub const USER_FACTORS: &str = "user_factors";
/// `F32 [num_items, dim]`.
pub const ITEM_FACTORS: &str = "item_factors";
/// `F32 [num_users]`.
pub const USER_BIAS: &str = "user_bias";
/// `F32 [num_items]`.
pub const ITEM_BIAS: &str = "item_bias";
/// `F32 [1]`.
pub const GLOBAL_BIAS: &str = "global_bias";
/// `U8 [*]`: user IDs, UTF-8, concatenated in sorted order.
pub const USER_IDS_BYTES: &str = "user_ids.bytes";
/// `U32 [num_users + 1]`.
pub const USER_IDS_OFFSETS: &str = "user_ids.offsets";
/// `U8 [*]`: item IDs, UTF-8, concatenated in sorted order.
pub const ITEM_IDS_BYTES: &str = "item_ids.bytes";
/// `U32 [num_items + 1]`.
pub const ITEM_IDS_OFFSETS: &str = "item_ids.offsets";
/// `U32 [num_users + 1]`: CSR row pointers of seen items.
pub const SEEN_INDPTR: &str = "seen.indptr";
/// `U32 [nnz]`: item indices, strictly increasing within each user's row.
pub const SEEN_INDICES: &str = "seen.indices";
/// `F32 [nnz]`: the rating or behaviour weight of each seen item.
pub const SEEN_VALUES: &str = "seen.values";
/// `U32 [num_items]`: item indices, most popular first (a permutation).
pub const POPULARITY: &str = "item_popularity";
/// Optional `U32 [num_items]`: category index of each item.
pub const ITEM_CATEGORY: &str = "item_category";
/// Optional `U8 [*]`: category names, sorted.
pub const CATEGORY_BYTES: &str = "categories.bytes";
/// Optional `U32 [num_categories + 1]`.
pub const CATEGORY_OFFSETS: &str = "categories.offsets";
/// Optional `F32 [num_items, 2]`: a 2-D projection of the item factors (for maps).
pub const ITEM_PROJECTION: &str = "item_projection";
