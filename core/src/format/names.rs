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
/// Metadata (v2, optional): `external` when the users live outside the artifact (as user
/// records, for example in Workers KV); the artifact then holds no users.
pub const META_USERS: &str = "users";
/// Metadata (optional): the `seq` of the last user deletion (`DELETE /admin/users/{id}` on the
/// Worker) that had reached the training data when it was read, an integer. The Worker hides a
/// deleted user from a model whose value is below that deletion's `seq`, or that has none.
pub const META_ERASED_THROUGH: &str = "erased_through";

/// `F32 [num_users, dim]`.
pub const USER_FACTORS: &str = "user_factors";
/// `F32 [num_items, dim]`.
pub const ITEM_FACTORS: &str = "item_factors";
/// `F32 [num_users]`.
pub const USER_BIAS: &str = "user_bias";
/// `F32 [num_items]` (v2: or F16); v5 leaves it out when every item bias is 0.
pub const ITEM_BIAS: &str = "item_bias";
/// `F32 [1]`.
pub const GLOBAL_BIAS: &str = "global_bias";
/// `U8 [*]`: user IDs, UTF-8, concatenated in sorted order.
pub const USER_IDS_BYTES: &str = "user_ids.bytes";
/// `U32 [num_users + 1]`.
pub const USER_IDS_OFFSETS: &str = "user_ids.offsets";
/// `U8 [*]`: item IDs, UTF-8, concatenated in item order: sorted, unless `item_ids.order` says
/// otherwise.
pub const ITEM_IDS_BYTES: &str = "item_ids.bytes";
/// `U32 [num_items + 1]`.
pub const ITEM_IDS_OFFSETS: &str = "item_ids.offsets";
/// v3, with an index and only then: `U32 [num_items]`, the item indices in ID order. Items are
/// then numbered list by list (the IVF lists are consecutive runs of items, so a probed list's
/// rows are contiguous), their IDs are not sorted, and `index.list_items` is absent.
pub const ITEM_IDS_ORDER: &str = "item_ids.order";
/// `U32 [num_users + 1]`: CSR row pointers of seen items.
pub const SEEN_INDPTR: &str = "seen.indptr";
/// `U32 [nnz]`: item indices, strictly increasing within each user's row.
pub const SEEN_INDICES: &str = "seen.indices";
/// `F32 [nnz]`: the rating or behaviour weight of each seen item.
pub const SEEN_VALUES: &str = "seen.values";
/// `U32 [num_items]`: item indices, most popular first (a permutation).
pub const POPULARITY: &str = "item_popularity";
/// Optional `U32 [num_items]` (v5: or U8, U16, the narrowest that holds every index): category
/// index of each item.
pub const ITEM_CATEGORY: &str = "item_category";
/// Optional `U8 [*]`: category names, sorted.
pub const CATEGORY_BYTES: &str = "categories.bytes";
/// Optional `U32 [num_categories + 1]`.
pub const CATEGORY_OFFSETS: &str = "categories.offsets";
/// Optional `F32 [num_items, 2]`: a 2-D projection of the item factors (for maps).
pub const ITEM_PROJECTION: &str = "item_projection";

/// Metadata (v2, optional): the weight α of the recency component of a user's vector.
pub const META_RECENCY_WEIGHT: &str = "recency_weight";
/// Metadata (v2, with the weight): the decay γ per position of the recency component.
pub const META_RECENCY_DECAY: &str = "recency_decay";
/// Metadata (v2, with the weight): how many of the latest items the recency component reads.
pub const META_RECENCY_WINDOW: &str = "recency_window";
/// Metadata (v2, optional): confidence per unit of value α in implicit fold-in, c = 1 + α·value.
pub const META_FOLD_IN_ALPHA: &str = "fold_in_alpha";
/// Metadata (v2, optional): the ridge λ of fold-in's least squares.
pub const META_FOLD_IN_LAMBDA: &str = "fold_in_lambda";

/// Optional (v2) `U32 [num_users + 1]`: CSR row pointers of each user's latest items.
pub const RECENT_INDPTR: &str = "recent.indptr";
/// Optional (v2) `U32 [nnz]`: item indices, newest first within each user's row.
pub const RECENT_INDICES: &str = "recent.indices";

/// Optional (v2) `F32 [num_users, rating_dim]`: the rating head's user factors.
pub const RATING_USER_FACTORS: &str = "rating_head.user_factors";
/// Optional (v2) `F32 [num_items, rating_dim]`: the rating head's item factors.
pub const RATING_ITEM_FACTORS: &str = "rating_head.item_factors";
/// Optional (v2) `F32 [num_users]`: the rating head's user biases.
pub const RATING_USER_BIAS: &str = "rating_head.user_bias";
/// Optional (v2) `F32 [num_items]`: the rating head's item biases.
pub const RATING_ITEM_BIAS: &str = "rating_head.item_bias";
/// Optional (v2) `F32 [1]`: the rating head's global bias (the mean training rating).
pub const RATING_GLOBAL_BIAS: &str = "rating_head.global_bias";

/// Optional (v2) `F32 [num_items]`: one scale per row when `item_factors` is stored as `I8`;
/// the dequantised value is `f32(q) · scale`.
pub const ITEM_FACTOR_SCALES: &str = "item_factors.scales";

/// Metadata (v2, with the index tensors): the kind of approximate index, `ivf`.
pub const META_INDEX_KIND: &str = "index_kind";
/// Metadata (v2, with the index tensors): how many lists a search probes by default.
pub const META_INDEX_NPROBE: &str = "index_nprobe";
/// Optional (v2) `F32 [lists, dim]`: the IVF index's k-means centroids.
pub const INDEX_CENTROIDS: &str = "index.centroids";
/// Optional (v2) `F32 [lists]`: the mean item bias of each list (added to a centroid's score).
pub const INDEX_CENTROID_BIAS: &str = "index.centroid_bias";
/// Optional (v2) `U32 [lists + 1]`: CSR row pointers of the lists.
pub const INDEX_LIST_OFFSETS: &str = "index.list_offsets";
/// Optional (v2 only) `U32 [num_items]`: item indices, list by list, increasing within a list;
/// every item appears exactly once. In v3 the lists are runs of consecutive items instead.
pub const INDEX_LIST_ITEMS: &str = "index.list_items";

/// Metadata (v4, with the sequence tensors): `L`, how many of a user's latest items the
/// sequence network reads (its position slots).
pub const META_SEQ_MAX_LEN: &str = "seq_max_len";
/// Metadata (v4, with the sequence tensors): how many transformer blocks the network has.
pub const META_SEQ_BLOCKS: &str = "seq_blocks";
/// Optional (v4) `F32 [seq_max_len, dim]`: the learned position rows; the newest item sits at
/// the last one.
pub const SEQ_POSITIONS: &str = "seq.positions";
/// Optional (v4) `F32 [dim]`: the final layer norm's gain.
pub const SEQ_FINAL_G: &str = "seq.final_g";
/// Optional (v4) `F32 [dim]`: the final layer norm's bias.
pub const SEQ_FINAL_B: &str = "seq.final_b";
/// Optional (v4) `U32 [num_users + 1]`: CSR row pointers of each user's stored history.
pub const SEQ_HISTORY_INDPTR: &str = "seq.history.indptr";
/// Optional (v4) `U32 [nnz]`: each user's latest item indices, **oldest first**, at most
/// `seq_max_len` per user (the input of a session's forward pass).
pub const SEQ_HISTORY_INDICES: &str = "seq.history.indices";
/// Prefix of the per-block tensors: block `k`'s tensor `part` is `seq.block{k}.{part}`
/// ([`seq_block_tensor`]), for each `part` of [`SEQ_BLOCK_PARTS`].
pub const SEQ_BLOCK_PREFIX: &str = "seq.block";
/// The per-block tensors, in the order of one block's computation, with whether each is a
/// `F32 [dim, dim]` weight (stored in × out, row-major: `y[o] = Σᵢ x[i]·w[i·dim + o] + b[o]`)
/// or a `F32 [dim]` vector:
///
/// - `ln1_g`, `ln1_b`: the first layer norm's gain and bias;
/// - `q_w`, `q_b`, `k_w`, `k_b`, `v_w`, `v_b`: the attention's query, key and value projections;
/// - `o_w`, `o_b`: the attention's output projection;
/// - `ln2_g`, `ln2_b`: the second layer norm;
/// - `ff1_w`, `ff1_b`, `ff2_w`, `ff2_b`: the feed-forward layers (ReLU between them).
pub const SEQ_BLOCK_PARTS: [(&str, bool); 16] = [
    ("ln1_g", false),
    ("ln1_b", false),
    ("q_w", true),
    ("q_b", false),
    ("k_w", true),
    ("k_b", false),
    ("v_w", true),
    ("v_b", false),
    ("o_w", true),
    ("o_b", false),
    ("ln2_g", false),
    ("ln2_b", false),
    ("ff1_w", true),
    ("ff1_b", false),
    ("ff2_w", true),
    ("ff2_b", false),
];

/// The name of block `block`'s tensor `part` (one of [`SEQ_BLOCK_PARTS`]), for example
/// `seq.block0.q_w`.
pub fn seq_block_tensor(block: usize, part: &str) -> String {
    format!("{SEQ_BLOCK_PREFIX}{block}.{part}")
}
