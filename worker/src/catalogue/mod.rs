//! Item availability at serve time, without retraining: `PUT /admin/items` switches items off
//! and on (or ends them at a time), `GET /admin/items` reads the state back, and every answer
//! (known users, sessions, visitors, `similar`, the popular fallback, the index path) leaves
//! the unavailable items out inside the search, so a list stays `top_n` long while enough
//! items are available.
//!
//! The state lives in D1 (the `DB` binding, [`d1`]) with a version; each isolate re-reads it at
//! most every `AVAILABILITY_REFRESH_SECONDS` ([`state`]). Items the model does not know are
//! stored as given (a later model may know them) and reported back. Without a `DB` binding
//! every item is available; with one whose tables are missing, the same, and `/health` says why.

mod body;
mod d1;
mod state;

use std::sync::Arc;

use edgerec_core::Unavailable;
use serde::Serialize;
use worker::{D1Database, Env};

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::store::{self, Served, Serving, Status};
use crate::timing;

pub use state::Report;

/// `GET /admin/items`: the largest and the default page, and the most `item_id`s asked at once.
const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 100;
const MAX_ASKED: usize = 100;

fn database(env: &Env) -> Option<D1Database> {
    env.d1(crate::config::D1_BINDING).ok()
}

fn storage(e: worker::Error) -> ApiError {
    ApiError::new(ErrorCode::StorageUnavailable, format!("cannot reach the item availability in D1: {e}"))
}

/// The items `model` must not serve now (see [`state::unavailable`]).
pub async fn unavailable(
    env: &Env,
    config: &Config,
    serving: &Serving,
    model: &Served,
) -> Option<Arc<Unavailable>> {
    // Looked up only when a check is due: most requests use the state they have.
    let source = || {
        let canary = serving.canary.as_ref().map(|(c, _)| c);
        Some((database(env)?, [Some(&serving.current), canary].into_iter().flatten().collect()))
    };
    state::unavailable(config.availability_refresh_seconds, model, source).await
}

/// This isolate's availability state, for `/health` (after [`unavailable`] for the current
/// model, so that it is read when due).
pub fn report(config: &Config, model: Option<&str>) -> Report {
    state::report(config.availability_refresh_seconds, model)
}

#[derive(Serialize)]
struct Written {
    /// The state's version after the write (unchanged when nothing changed).
    version: i64,
    updated_at: String,
    /// Items in the request.
    received: usize,
    /// Items whose stored state changed.
    changed: usize,
    /// Items the current model does not know: stored all the same.
    unknown_items: Vec<String>,
}

/// `PUT /admin/items` (the caller checks the admin token).
pub async fn put(req: &Incoming, env: &Env, config: &Config) -> Result<Reply, ApiError> {
    let entries = body::parse(&req.json_body(body::MAX_BODY_BYTES).await?)?;
    let db = database(env).ok_or_else(|| storage(worker::Error::RustError("no D1 binding `DB`".into())))?;
    let (changed, version) = d1::write(&db, &entries, timing::now_ms() as i64).await.map_err(storage)?;
    state::mark_stale();
    let unknown_items = match store::get(env, config).await {
        Status::Ready(serving) => {
            let model = serving.current.ready().model;
            entries
                .iter()
                .filter(|e| model.item_index(&e.item_id).is_none())
                .map(|e| e.item_id.clone())
                .collect()
        }
        Status::Unavailable(_) => Vec::new(),
    };
    Reply::json(&Written {
        version: version.version,
        updated_at: timing::rfc3339(version.updated_at as f64),
        received: entries.len(),
        changed,
        unknown_items,
    })
}

#[derive(Serialize)]
struct Listed {
    version: i64,
    updated_at: String,
    items: Vec<Item>,
    /// The `after` of the next page; `null` on the last one (and when `item_id`s were asked).
    next_after: Option<String>,
}

#[derive(Serialize)]
struct Item {
    item_id: String,
    available: bool,
    until: Option<String>,
    /// Whether the item may be served at the time of the answer.
    available_now: bool,
    /// When its state was last changed, and by which version (`null` when never set).
    updated_at: Option<String>,
    version: Option<i64>,
}

impl Item {
    fn from_row(row: d1::Row, now_ms: i64) -> Self {
        let available = row.available != 0;
        Self {
            available_now: available && row.until.is_none_or(|t| now_ms < t),
            until: row.until.map(|t| timing::rfc3339(t as f64)),
            updated_at: Some(timing::rfc3339(row.updated_at as f64)),
            version: Some(row.version),
            available,
            item_id: row.item_id,
        }
    }
}

/// `GET /admin/items?item_id=A&item_id=B`, or `?state=unavailable|all&after=ID&limit=N`.
pub async fn get(req: &Incoming, env: &Env) -> Result<Reply, ApiError> {
    let query = req.query_pairs()?;
    let asked: Vec<String> = query.iter().filter(|(k, _)| k == "item_id").map(|(_, v)| v.clone()).collect();
    for id in &asked {
        http::check_id("item_id", id)?;
    }
    if asked.len() > MAX_ASKED {
        return Err(ApiError::invalid(format!(
            "at most {MAX_ASKED} `item_id`s at once, got {}",
            asked.len()
        )));
    }
    let restricted_only = match http::query_param(&query, "state") {
        None | Some("all") => false,
        Some("unavailable") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!("`state` must be `all` or `unavailable`, got `{other}`")));
        }
    };
    let after = http::query_param(&query, "after").unwrap_or_default().to_owned();
    let limit = http::int_param(&query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)?;
    let db = database(env).ok_or_else(|| storage(worker::Error::RustError("no D1 binding `DB`".into())))?;
    let version = d1::version(&db).await.map_err(storage)?;
    let now = timing::now_ms() as i64;
    let (items, next_after) = if asked.is_empty() {
        let rows = d1::page(&db, &after, limit, restricted_only).await.map_err(storage)?;
        let next = (rows.len() == limit).then(|| rows.last().map(|r| r.item_id.clone())).flatten();
        let items: Vec<Item> = rows.into_iter().map(|r| Item::from_row(r, now)).collect();
        // `state=unavailable` lists the items not available now (an `until` may lie ahead).
        (items.into_iter().filter(|i| !restricted_only || !i.available_now).collect(), next)
    } else {
        let mut rows = d1::some(&db, &asked).await.map_err(storage)?.into_iter().peekable();
        let mut sorted = asked.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let items = sorted
            .into_iter()
            .map(|id| match rows.next_if(|r| r.item_id == id) {
                Some(row) => Item::from_row(row, now),
                None => Item {
                    item_id: id,
                    available: true,
                    until: None,
                    available_now: true,
                    updated_at: None,
                    version: None,
                },
            })
            .collect();
        (items, None)
    };
    Reply::json(&Listed {
        version: version.version,
        updated_at: timing::rfc3339(version.updated_at as f64),
        items,
        next_after,
    })
}
