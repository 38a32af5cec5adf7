//! Deleted users in D1 (binding `DB`, table `deleted_users` from
//! `worker/migrations/0004_deleted_users.sql`), and the erasure of their rows.

use edgerec_core::wire::StoredDeletion;
use serde::Deserialize;
use worker::D1Database;
use worker::wasm_bindgen::JsValue;

/// One deletion, in the statements' order: the user's older row goes (so the new one takes a
/// new `seq`), the new row is written, then their events and impressions are deleted. One
/// `batch()`, so one transaction: all of it happens, or none.
const ERASE: [&str; 4] = [
    "DELETE FROM deleted_users WHERE user_id = ?1",
    "INSERT INTO deleted_users (user_id, deleted_at) VALUES (?1, ?2)",
    "DELETE FROM events WHERE user_id = ?1",
    "DELETE FROM impressions WHERE user_id = ?1",
];

const SEQ: &str = "SELECT seq FROM deleted_users WHERE user_id = ?1";

/// Rows after `?1` in `seq` order, as `GET /admin/deletions` sends them.
const PAGE: &str = "SELECT seq, user_id, deleted_at FROM deleted_users WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// What an isolate keeps of a row.
const SINCE: &str = "SELECT seq, user_id FROM deleted_users WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// What a deletion did.
#[derive(Debug, Clone, Copy)]
pub struct Erased {
    /// The deletion's `seq`.
    pub seq: u64,
    /// Rows deleted from `events` and from `impressions`.
    pub events: usize,
    pub impressions: usize,
}

/// A row as an isolate reads it.
#[derive(Debug, Deserialize)]
pub struct Seen {
    pub seq: u64,
    pub user_id: String,
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

fn rust_error(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

/// Records the deletion of `user_id` at `now_ms` and deletes their events and impressions, in
/// one transaction.
pub async fn erase(db: &D1Database, user_id: &str, now_ms: i64) -> worker::Result<Erased> {
    let user = JsValue::from_str(user_id);
    let now = JsValue::from_f64(now_ms as f64);
    let [forget, record, events, impressions] = ERASE;
    let statements = vec![
        db.prepare(forget).bind(std::slice::from_ref(&user))?,
        db.prepare(record).bind(&[user.clone(), now])?,
        db.prepare(events).bind(std::slice::from_ref(&user))?,
        db.prepare(impressions).bind(std::slice::from_ref(&user))?,
        db.prepare(SEQ).bind(&[user])?,
    ];
    let results = db.batch(statements).await?;
    if let Some(e) = results.iter().find_map(worker::D1Result::error) {
        return Err(rust_error(e));
    }
    let changes =
        |i: usize| results.get(i).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
    let seq = results
        .last()
        .map(|r| r.results::<Seq>())
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| rust_error("the deletion was not recorded"))?
        .seq;
    Ok(Erased { seq, events: changes(2), impressions: changes(3) })
}

/// Up to `limit` deletions with `seq > after`, oldest first.
pub async fn page(db: &D1Database, after: u64, limit: usize) -> worker::Result<Vec<StoredDeletion>> {
    db.prepare(PAGE)
        .bind(&[JsValue::from_f64(after as f64), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results()
}

/// Up to `limit` deleted users with `seq > after`, oldest first.
pub async fn since(db: &D1Database, after: u64, limit: usize) -> worker::Result<Vec<Seen>> {
    db.prepare(SINCE)
        .bind(&[JsValue::from_f64(after as f64), JsValue::from_f64(limit as f64)])?
        .all()
        .await?
        .results()
}
