//! Deleting a user (erasure): `DELETE /admin/users/{user_id}` forgets a user everywhere the
//! Worker can reach, and `GET /admin/deletions` pages the deletions for `trainer ingest`, which
//! erases the user's rows in MySQL.
//!
//! A deletion is one D1 transaction ([`d1::erase`]): the user's row in `deleted_users` (a new
//! `seq`, `deleted_at` now), and their rows in `events` and `impressions` deleted. Then their
//! KV records under the served models' versions go (`users_kv`). From then on:
//!
//! - each isolate learns the deletion within `AVAILABILITY_REFRESH_SECONDS` ([`state`]) and
//!   serves the user as unknown (no stored history, no vector, no KV record: the popular
//!   fallback, or a visitor's fold-in of a request's `interactions`) from every model whose
//!   training data the deletion had not reached: a model without `erased_through`, or with one
//!   below the deletion's `seq`. `/users` leaves them out of those models;
//! - the queue consumer drops the user's events that happened at or before `deleted_at` and
//!   their impressions served by then, should any still be on their way (`events::d1`);
//! - a model trained after `trainer ingest` applied the deletion carries an `erased_through` at
//!   or above its `seq`: it has no trace of the old data, so it serves the user as what they
//!   are in it, a new user known from events after the deletion, or an unknown one.
//!
//! Every valid deletion answers 204, whether or not the Worker ever saw the user: a user whose
//! data is only in MySQL, or still in the queue, is as real as one with events in D1, and the
//! tombstone is what erases them there. Deleting again is harmless and covers events since.

mod d1;
mod state;

use std::borrow::Cow;

use edgerec_core::Model;
use worker::{D1Database, Env};

use crate::config::{self, Config};
use crate::error::{ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::store::{self, Status};
use crate::{timing, users_kv};

/// `GET /admin/deletions`: the largest and the default page, and the largest cursor (a JSON
/// number stays exact up to 2^53 - 1).
const MAX_PAGE: usize = 5000;
const DEFAULT_PAGE: usize = 1000;
const MAX_CURSOR: u64 = (1 << 53) - 1;

fn database(env: &Env) -> Option<D1Database> {
    env.d1(config::D1_BINDING).ok()
}

fn storage(e: worker::Error) -> ApiError {
    ApiError::new(ErrorCode::StorageUnavailable, format!("cannot reach the deleted users in D1: {e}"))
}

fn no_binding() -> ApiError {
    storage(worker::Error::RustError(format!("no D1 binding `{}`", config::D1_BINDING)))
}

/// `DELETE /admin/users/{user_id}` (the caller checks the admin token): 204, with the
/// deletion's `seq` in `X-Deletion-Seq`.
pub async fn delete(env: &Env, config: &Config, user_id: &str) -> Result<Reply, ApiError> {
    http::check_id("user_id", user_id)?;
    let db = database(env).ok_or_else(no_binding)?;
    let erased = d1::erase(&db, user_id, timing::now_ms() as i64).await.map_err(storage)?;
    state::note(user_id, erased.seq);
    // The KV records of the models this isolate serves (a model it does not serve hides the
    // user anyway, as it was trained before the deletion reached its data).
    let records = match store::get(env, config).await {
        Status::Ready(serving) => {
            let canary = serving.canary.as_ref().map(|(c, _)| c.ready());
            let models: Vec<_> = [Some(serving.current.ready()), canary].into_iter().flatten().collect();
            users_kv::delete(env, config, &models, user_id).await.map_err(|e| {
                ApiError::new(
                    e.code,
                    format!("{}; the deletion is recorded (seq {}): send it again", e.message, erased.seq),
                )
            })?
        }
        Status::Unavailable(_) => 0,
    };
    Ok(Reply {
        status: 204,
        content_type: "",
        body: Cow::Borrowed(""),
        cache_control: "no-store",
        work: Some(format!(
            "{} events, {} impressions, {records} KV records deleted",
            erased.events, erased.impressions
        )),
        headers: vec![("x-deletion-seq", erased.seq.to_string())],
    })
}

/// `GET /admin/deletions?after=SEQ&limit=N`: the deletions after `after` as NDJSON, oldest
/// first, with `X-Next-Cursor` (as `GET /admin/events`).
pub async fn list(req: &Incoming, env: &Env) -> Result<Reply, ApiError> {
    let query = req.query_pairs()?;
    let max_cursor = usize::try_from(MAX_CURSOR).unwrap_or(usize::MAX);
    let after = http::int_param(&query, "after", 0, 0, max_cursor)? as u64;
    let limit = http::int_param(&query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)?;
    let db = database(env).ok_or_else(no_binding)?;
    let rows = d1::page(&db, after, limit).await.map_err(storage)?;
    let mut body = String::with_capacity(rows.len() * 80);
    for row in &rows {
        let line = serde_json::to_string(row)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot encode a deletion: {e}")))?;
        body.push_str(&line);
        body.push('\n');
    }
    let next = rows.last().map_or(after, |row| row.seq);
    Ok(Reply {
        status: 200,
        content_type: "application/x-ndjson",
        body: Cow::Owned(body),
        cache_control: "no-store",
        work: Some(format!("{} deletions", rows.len())),
        headers: vec![("x-next-cursor", next.to_string())],
    })
}

/// Whether a deletion with this `seq` hides its user from `model`: the model's training data
/// had not seen it applied.
fn applies(seq: u64, model: &Model<'_>) -> bool {
    model.erased_through().is_none_or(|through| seq > through)
}

/// Brings this isolate's deleted users up to date when a check is due (no D1 access
/// otherwise).
pub async fn sync(env: &Env, config: &Config) {
    state::sync(config.availability_refresh_seconds, || database(env)).await;
}

/// Whether `model` must serve `user_id` as unknown (after [`sync`]).
pub async fn hidden(env: &Env, config: &Config, model: &Model<'_>, user_id: &str) -> bool {
    sync(env, config).await;
    state::deleted(user_id).is_some_and(|seq| applies(seq, model))
}

/// Calls `f` with a test for the users `model` must not list and how many of its users that
/// is (after [`sync`]).
pub fn with_hidden<R>(model: &Model<'_>, f: impl FnOnce(&dyn Fn(&str) -> bool, usize) -> R) -> R {
    state::with_users(|users| {
        let hidden = |id: &str| users.get(id).is_some_and(|&seq| applies(seq, model));
        let count =
            users.iter().filter(|&(id, &seq)| applies(seq, model) && model.user_index(id).is_some()).count();
        f(&hidden, count)
    })
}
