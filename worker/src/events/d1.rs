//! The event log in D1 (binding `DB`, table `events` from `worker/migrations/0001_events.sql`):
//! idempotent inserts by `event_id`, and pages in `seq` order.

use edgerec_core::wire::StoredEvent;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use super::body::Event;
use crate::trace::Impression;

pub use crate::config::D1_BINDING as BINDING;

/// Inserts the rows of one JSON array `?1` of `[event_id, user_id, item_id, behavior, rating,
/// timestamp, received_at, recommendation_id, position]` arrays, in order, stamped `stored_at = ?2`: one bound text instead of
/// eight parameters a row (D1 binds at most 100 a statement). An event of a deleted user that
/// the Worker accepted, or that happened, at or before the deletion is dropped: it was on its
/// way when the user was deleted (see `erasure`). The `WHERE` also lets SQLite parse the upsert
/// after a `SELECT`.
const INSERT: &str = "INSERT INTO events (event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at, recommendation_id, position) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, ?2, value ->> 7, value ->> 8 \
     FROM json_each(?1) WHERE NOT EXISTS (SELECT 1 FROM deleted_users d \
       WHERE d.user_id = value ->> 1 AND (value ->> 6 <= d.deleted_at OR (value ->> 5) * 1000 <= d.deleted_at)) \
     ORDER BY key ON CONFLICT(event_id) DO NOTHING";

/// Inserts the impressions of one JSON array `?1` of `[recommendation_id, user_id,
/// model_version, variant, route, served_at]`; an ID already stored is skipped, and so is an
/// answer served to a deleted user at or before the deletion.
const IMPRESSIONS: &str = "INSERT INTO impressions (recommendation_id, user_id, model_version, variant, route, served_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
     FROM json_each(?1) WHERE NOT EXISTS (SELECT 1 FROM deleted_users d \
       WHERE d.user_id = value ->> 1 AND value ->> 5 <= d.deleted_at) \
     ON CONFLICT(recommendation_id) DO NOTHING";

/// Largest `?1` of one statement: D1 takes strings up to 2 MB.
const MAX_ROWS_JSON_BYTES: usize = 1_000_000;

const PAGE: &str = "SELECT seq, event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at, \
     recommendation_id, position FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";

pub fn database(env: &Env) -> worker::Result<D1Database> {
    env.d1(BINDING)
}

/// Writes a delivery's events (each group with the time its batch was accepted) in one
/// `batch()`, which D1 runs as one transaction: all of them are stored, or none. An `event_id`
/// already stored is skipped. Times are Unix milliseconds.
pub async fn insert(
    db: &D1Database,
    groups: &[(&[Event], i64)],
    impressions: &[&Impression],
    stored_at: i64,
) -> worker::Result<()> {
    let mut statements = Vec::new();
    let mut rows = String::from("[");
    let flush = |rows: &mut String, statements: &mut Vec<_>| -> worker::Result<()> {
        rows.push(']');
        let bound = [JsValue::from_str(rows), JsValue::from_f64(stored_at as f64)];
        statements.push(db.prepare(INSERT).bind(&bound)?);
        rows.clear();
        rows.push('[');
        Ok(())
    };
    for (events, received_at) in groups {
        for e in *events {
            let row = (
                &e.event_id,
                &e.user_id,
                &e.item_id,
                e.behavior,
                e.rating,
                e.timestamp,
                received_at,
                &e.recommendation_id,
                e.position,
            );
            let row = serde_json::to_string(&row).map_err(|e| worker::Error::RustError(e.to_string()))?;
            if rows.len() > 1 && rows.len() + row.len() + 2 > MAX_ROWS_JSON_BYTES {
                flush(&mut rows, &mut statements)?;
            }
            if rows.len() > 1 {
                rows.push(',');
            }
            rows.push_str(&row);
        }
    }
    if rows.len() > 1 {
        flush(&mut rows, &mut statements)?;
    }
    // Impressions are small (an ID, a version, a user): a delivery's fit one statement.
    if !impressions.is_empty() {
        let rows: Vec<_> = impressions
            .iter()
            .map(|i| {
                let t = &i.trace;
                (&t.recommendation_id, &i.user_id, &t.model_version, t.variant, &i.route, i.served_at)
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| worker::Error::RustError(e.to_string()))?;
        statements.push(db.prepare(IMPRESSIONS).bind(&[JsValue::from_str(&rows)])?);
    }
    if statements.is_empty() {
        return Ok(());
    }
    for result in db.batch(statements).await? {
        if let Some(e) = result.error() {
            return Err(worker::Error::RustError(e));
        }
    }
    Ok(())
}

/// Up to `limit` events with `seq > after`, oldest first.
pub async fn page(db: &D1Database, after: u64, limit: usize) -> worker::Result<Vec<StoredEvent>> {
    db.prepare(PAGE)
        .bind(&[JsValue::from_f64(after as f64), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results::<StoredEvent>()
}
