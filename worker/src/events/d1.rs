//! The event log in D1 (binding `DB`, table `events` from `worker/migrations/0001_events.sql`):
//! idempotent inserts by `event_id`, and pages in `seq` order.

use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use super::body::{Behavior, Event};

/// The D1 binding.
pub const BINDING: &str = "DB";

const INSERT: &str = "INSERT INTO events (event_id, user_id, item_id, behavior, rating, timestamp, received_at, stored_at) VALUES ";

/// Columns bound per row.
const COLUMNS: usize = 8;
/// Rows per `INSERT`: D1 binds at most 100 parameters per statement.
const ROWS_PER_STATEMENT: usize = 100 / COLUMNS;

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

/// Writes a delivery's events (each group with the time its batch was accepted) in one
/// `batch()`, which D1 runs as one transaction: all of them are stored, or none. An `event_id`
/// already stored is skipped. Rows go in multi-row `INSERT`s, so a full delivery of 100 messages
/// is a few hundred statements in one round trip. Times are Unix milliseconds.
pub async fn insert(db: &D1Database, groups: &[(&[Event], i64)], stored_at: i64) -> worker::Result<()> {
    let rows: Vec<(&Event, i64)> = groups
        .iter()
        .flat_map(|(events, received_at)| events.iter().map(move |e| (e, *received_at)))
        .collect();
    let mut statements = Vec::with_capacity(rows.len().div_ceil(ROWS_PER_STATEMENT));
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let placeholders = (0..chunk.len())
            .map(|r| {
                let first = r * COLUMNS + 1;
                let slots: Vec<String> = (first..first + COLUMNS).map(|i| format!("?{i}")).collect();
                format!("({})", slots.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{INSERT}{placeholders} ON CONFLICT(event_id) DO NOTHING");
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS);
        for (e, received_at) in chunk {
            values.extend([
                JsValue::from_str(&e.event_id),
                JsValue::from_str(&e.user_id),
                JsValue::from_str(&e.item_id),
                e.behavior.map_or(JsValue::NULL, |b| JsValue::from_str(b.as_str())),
                e.rating.map_or(JsValue::NULL, JsValue::from_f64),
                JsValue::from_f64(e.timestamp as f64),
                JsValue::from_f64(*received_at as f64),
                JsValue::from_f64(stored_at as f64),
            ]);
        }
        statements.push(db.prepare(sql).bind(&values)?);
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
pub async fn page(db: &D1Database, after: u64, limit: usize) -> worker::Result<Vec<Row>> {
    db.prepare(PAGE)
        .bind(&[JsValue::from_f64(after as f64), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results::<Row>()
}
