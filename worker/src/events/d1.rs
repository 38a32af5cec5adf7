//! The event log in D1 (binding `DB`, table `events` from `worker/migrations/0001_events.sql`):
//! idempotent inserts by `event_id`, and pages in `seq` order.

use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use super::body::{Behavior, Event};

/// The D1 binding.
pub const BINDING: &str = "DB";

const INSERT: &str = "INSERT INTO events (event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(event_id) DO NOTHING";

const PAGE: &str = "SELECT seq, event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at \
     FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// A stored event, as `GET /admin/events` lists it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    pub seq: i64,
    pub event_id: String,
    pub user_id: String,
    pub item_id: String,
    pub behavior: Option<Behavior>,
    pub rating: Option<f64>,
    pub timestamp: i64,
    pub received_at: i64,
    pub stored_at: i64,
}

pub fn database(env: &Env) -> worker::Result<D1Database> {
    env.d1(BINDING)
}

/// Writes one message's events in one `batch()` (a transaction); an `event_id` already stored
/// is skipped. `received_at` and `stored_at` are Unix milliseconds.
pub async fn insert(
    db: &D1Database,
    events: &[Event],
    received_at: i64,
    stored_at: i64,
) -> worker::Result<()> {
    let mut statements = Vec::with_capacity(events.len());
    for e in events {
        let behavior = e.behavior.map_or(JsValue::NULL, |b| JsValue::from_str(b.as_str()));
        let rating = e.rating.map_or(JsValue::NULL, JsValue::from_f64);
        statements.push(db.prepare(INSERT).bind(&[
            JsValue::from_str(&e.event_id),
            JsValue::from_str(&e.user_id),
            JsValue::from_str(&e.item_id),
            behavior,
            rating,
            JsValue::from_f64(e.timestamp as f64),
            JsValue::from_f64(received_at as f64),
            JsValue::from_f64(stored_at as f64),
        ])?);
    }
    for result in db.batch(statements).await? {
        if let Some(e) = result.error() {
            return Err(worker::Error::RustError(e));
        }
    }
    Ok(())
}

/// Up to `limit` events with `seq > after`, oldest first.
pub async fn page(db: &D1Database, after: u64, limit: usize) -> worker::Result<Vec<Row>> {
    db.prepare(PAGE)
        .bind(&[JsValue::from_f64(after as f64), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results::<Row>()
}
