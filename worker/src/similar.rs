//! `GET /items/{item_id}/similar?n=10`: the nearest items by cosine similarity of factors.

use edgerec_core::Unavailable;
use serde::Serialize;

use crate::error::ApiError;
use crate::http::{self, Reply};
use crate::store::Ready;
use crate::trace::Trace;

/// Largest `n`.
const MAX_N: usize = 100;

#[derive(Serialize)]
struct Similar<'a> {
    item_id: &'a str,
    similar_items: Vec<Neighbour<'a>>,
    total_count: usize,
    /// `recommendation_id`, `model_version` and `variant` (see `trace`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    trace: Option<&'a Trace>,
}

#[derive(Serialize)]
struct Neighbour<'a> {
    rank: usize,
    item_id: &'a str,
    similarity: f64,
}

/// The validated `n` of `GET /items/{item_id}/similar?n=10`.
pub fn check(item_id: &str, query: &[(String, String)]) -> Result<usize, ApiError> {
    http::check_id("item_id", item_id)?;
    http::int_param(query, "n", 10, 1, MAX_N)
}

/// The `n` items nearest to `item_id`, leaving out the `unavailable` ones.
pub fn get(
    ready: Ready<'_>,
    item_id: &str,
    n: usize,
    unavailable: Option<&Unavailable>,
    trace: Option<&Trace>,
) -> Result<Reply, ApiError> {
    let model = ready.model;
    let items = model.similar_items(item_id, n, unavailable)?;
    let similar_items: Vec<Neighbour<'_>> = items
        .iter()
        .enumerate()
        .map(|(i, s)| Neighbour {
            rank: i + 1,
            item_id: s.item_id,
            similarity: crate::recommend::round4(s.score),
        })
        .collect();
    let work = format!("cosine similarity over {} items, d={}", model.num_items(), model.dim());
    Ok(Reply::json(&Similar { item_id, total_count: similar_items.len(), similar_items, trace })?
        .cacheable(if unavailable.is_some() { "no-store" } else { "public, max-age=300" })
        .with_work(work))
}
