//! This isolate's copy of the deleted users, brought up to date at most every
//! `AVAILABILITY_REFRESH_SECONDS`, the cadence of the item availability.
//!
//! The log only grows (a user deleted again gets a new `seq`), so a check reads just the rows
//! after the last `seq` this isolate has: one small query that is usually empty, and no version
//! row to keep in step. What is kept is each deleted user's latest `seq`, about the length of
//! the ID plus 40 bytes a user. A request that finds the check due does it while the others
//! keep using the set they have (workerd cancels requests that wait on another request's I/O),
//! except before the first read, when there is nothing to use yet.

use std::cell::RefCell;
use std::collections::HashMap;

use worker::{D1Database, console_error};

use super::d1;
use crate::timing;

/// A check that has run this long (ms) is presumed lost and another may start.
const CHECK_TIMEOUT_MS: f64 = 60_000.0;
/// Rows read per query.
const LOAD_PAGE: usize = 10_000;

#[derive(Default)]
struct State {
    /// Each deleted user's latest deletion `seq`.
    users: HashMap<String, u64>,
    /// Every row up to this `seq` has been read.
    read_through: u64,
    /// Whether a read has succeeded (or there is no D1 binding, so nothing can be deleted).
    loaded: bool,
    last_check_ms: Option<f64>,
    checking_since: Option<f64>,
    error: Option<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Clears the in-progress mark when the checking request ends, even if it is cancelled.
struct CheckGuard;

impl Drop for CheckGuard {
    fn drop(&mut self) {
        STATE.with_borrow_mut(|s| s.checking_since = None);
    }
}

/// Reads the deletions made since the last read when a check is due; `db` is asked for the
/// D1 binding only then. A failed read keeps the set this isolate has (the error is logged,
/// and retried at the next check).
pub async fn sync(refresh_seconds: u64, db: impl FnOnce() -> Option<D1Database>) {
    let now = timing::now_ms();
    let check = STATE.with_borrow_mut(|s| {
        let due = s.last_check_ms.is_none_or(|t| now - t >= refresh_seconds as f64 * 1000.0);
        let busy = s.checking_since.is_some_and(|t| now - t < CHECK_TIMEOUT_MS);
        // Nothing read yet: read now, whatever another request is doing. Else when due, one
        // request at a time.
        let must = !s.loaded && (s.error.is_none() || due);
        let check = must || (due && !busy);
        if check {
            s.checking_since = Some(now);
        }
        check
    });
    if !check {
        return;
    }
    let _guard = CheckGuard;
    let outcome = match db() {
        Some(db) => read(&db).await.map_err(|e| format!("cannot read the deleted users: {e}")),
        None => Ok(()),
    };
    if let Err(e) = &outcome {
        console_error!("{e}");
    }
    STATE.with_borrow_mut(|s| {
        s.last_check_ms = Some(now);
        s.loaded |= outcome.is_ok();
        s.error = outcome.err();
    });
}

/// Reads every row after the last one read.
async fn read(db: &D1Database) -> worker::Result<()> {
    loop {
        let after = STATE.with_borrow(|s| s.read_through);
        let rows = d1::since(db, after, LOAD_PAGE).await?;
        let full = rows.len() == LOAD_PAGE;
        STATE.with_borrow_mut(|s| {
            for row in rows {
                s.read_through = s.read_through.max(row.seq);
                note_in(s, row.user_id, row.seq);
            }
        });
        if !full {
            return Ok(());
        }
    }
}

fn note_in(s: &mut State, user_id: String, seq: u64) {
    let latest = s.users.entry(user_id).or_insert(seq);
    *latest = (*latest).max(seq);
}

/// Records a deletion made by this isolate, so that it applies here at once.
pub fn note(user_id: &str, seq: u64) {
    STATE.with_borrow_mut(|s| note_in(s, user_id.to_owned(), seq));
}

/// The `seq` of `user_id`'s latest deletion, if they were deleted.
pub fn deleted(user_id: &str) -> Option<u64> {
    STATE.with_borrow(|s| s.users.get(user_id).copied())
}

/// Calls `f` with every deleted user and their latest deletion's `seq`.
pub fn with_users<R>(f: impl FnOnce(&HashMap<String, u64>) -> R) -> R {
    STATE.with_borrow(|s| f(&s.users))
}
