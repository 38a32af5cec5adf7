//! Item availability in D1 (binding `DB`, tables `items` and `item_state` from
//! `worker/migrations/0002_items.sql`).
//!
//! A write is one `batch()`, so one transaction: the rows that change take the next version,
//! and the version moves only when some row changed. Sending the same state twice therefore
//! changes nothing, not even the version, and no isolate reloads for it.

use serde::Deserialize;
use worker::D1Database;
use worker::wasm_bindgen::JsValue;

use super::body::Entry;

/// Upserts the rows of one JSON array `?1` of `[item_id, available, until]`, stamped
/// `updated_at = ?2`; a row that would not change is left as it is.
const UPSERT: &str = "INSERT INTO items (item_id, available, until, updated_at, version) \
     SELECT value ->> 0, value ->> 1, value ->> 2, ?2, (SELECT version + 1 FROM item_state WHERE id = 1) \
     FROM json_each(?1) WHERE true \
     ON CONFLICT(item_id) DO UPDATE SET available = excluded.available, until = excluded.until, \
       updated_at = excluded.updated_at, version = excluded.version \
     WHERE items.available IS NOT excluded.available OR items.until IS NOT excluded.until";

/// Raises the version when the upsert changed a row.
const BUMP: &str = "UPDATE item_state SET version = version + 1, updated_at = ?1 \
     WHERE id = 1 AND EXISTS (SELECT 1 FROM items WHERE version = item_state.version + 1)";

const STATE: &str = "SELECT version, updated_at FROM item_state WHERE id = 1";

/// The rows that can make an item unavailable, in `item_id` order after `?1`.
const RESTRICTED: &str = "SELECT item_id, available, until FROM items \
     WHERE (available = 0 OR until IS NOT NULL) AND item_id > ?1 ORDER BY item_id LIMIT ?2";

/// Rows in `item_id` order after `?1` (every row, or the restricted ones when `?3` is 1).
const PAGE: &str = "SELECT item_id, available, until, updated_at, version FROM items \
     WHERE item_id > ?1 AND (?3 = 0 OR available = 0 OR until IS NOT NULL) ORDER BY item_id LIMIT ?2";

/// Rows of the items in the JSON array `?1`.
const SOME: &str = "SELECT item_id, available, until, updated_at, version FROM items \
     WHERE item_id IN (SELECT value FROM json_each(?1)) ORDER BY item_id";

/// Largest `?1` of one upsert: D1 takes strings up to 2 MB, so a batch of long IDs is split
/// over several statements of the same transaction.
const MAX_ROWS_JSON_BYTES: usize = 1_000_000;

/// Rows read per query when an isolate loads the state.
pub const LOAD_PAGE: usize = 10_000;

/// The state's version and when it last changed (Unix milliseconds).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Version {
    pub version: i64,
    pub updated_at: i64,
}

/// A row that can make an item unavailable.
#[derive(Debug, Deserialize)]
pub struct Restricted {
    pub item_id: String,
    pub available: i64,
    pub until: Option<i64>,
}

/// A stored row, as `GET /admin/items` lists it.
#[derive(Debug, Deserialize)]
pub struct Row {
    pub item_id: String,
    pub available: i64,
    pub until: Option<i64>,
    pub updated_at: i64,
    pub version: i64,
}

fn rust_error(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

/// Writes `entries` in one transaction; returns how many rows changed and the version after.
pub async fn write(db: &D1Database, entries: &[Entry], now_ms: i64) -> worker::Result<(usize, Version)> {
    let now = JsValue::from_f64(now_ms as f64);
    let mut statements = Vec::new();
    let mut rows = String::from("[");
    for e in entries {
        let row = serde_json::to_string(&(e.item_id.as_str(), u8::from(e.available), e.until_ms))
            .map_err(rust_error)?;
        if rows.len() > 1 && rows.len() + row.len() + 2 > MAX_ROWS_JSON_BYTES {
            rows.push(']');
            statements.push(db.prepare(UPSERT).bind(&[JsValue::from_str(&rows), now.clone()])?);
            rows = String::from("[");
        }
        if rows.len() > 1 {
            rows.push(',');
        }
        rows.push_str(&row);
    }
    rows.push(']');
    statements.push(db.prepare(UPSERT).bind(&[JsValue::from_str(&rows), now.clone()])?);
    let upserts = statements.len();
    statements.push(db.prepare(BUMP).bind(&[now])?);
    statements.push(db.prepare(STATE));
    let results = db.batch(statements).await?;
    if let Some(e) = results.iter().find_map(worker::D1Result::error) {
        return Err(rust_error(e));
    }
    let changed = results[..upserts.min(results.len())]
        .iter()
        .filter_map(|r| r.meta().ok().flatten().and_then(|m| m.changes))
        .sum();
    let version = results
        .last()
        .map(|r| r.results::<Version>())
        .transpose()?
        .and_then(|v| v.into_iter().next())
        .ok_or_else(|| rust_error("item_state has no row: apply the D1 migrations"))?;
    Ok((changed, version))
}

/// The stored version.
pub async fn version(db: &D1Database) -> worker::Result<Version> {
    db.prepare(STATE)
        .first::<Version>(None)
        .await?
        .ok_or_else(|| rust_error("item_state has no row: apply the D1 migrations"))
}

/// Up to `limit` restricted rows after `after`.
pub async fn restricted(db: &D1Database, after: &str, limit: usize) -> worker::Result<Vec<Restricted>> {
    db.prepare(RESTRICTED)
        .bind(&[JsValue::from_str(after), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results()
}

/// Up to `limit` rows after `after` (only the restricted ones when `restricted_only`).
pub async fn page(
    db: &D1Database,
    after: &str,
    limit: usize,
    restricted_only: bool,
) -> worker::Result<Vec<Row>> {
    let only = JsValue::from_f64(f64::from(u8::from(restricted_only)));
    db.prepare(PAGE)
        .bind(&[JsValue::from_str(after), JsValue::from_f64(limit as f64), only])?
        .all()
        .await?
        .results()
}

/// The stored rows of `ids` (items without a row are left out).
pub async fn some(db: &D1Database, ids: &[String]) -> worker::Result<Vec<Row>> {
    let ids = serde_json::to_string(ids).map_err(rust_error)?;
    db.prepare(SOME).bind(&[JsValue::from_str(&ids)])?.all().await?.results()
}
