//! This isolate's copy of the availability state, re-read from D1 at most every
//! `AVAILABILITY_REFRESH_SECONDS`, as the model pointer is.
//!
//! A check reads one row (the version). Only when the version moved are the restricted rows
//! read, in pages, and turned into one [`Mask`] per model being served: the items switched off
//! as a bitset over that model's item indices, and the items with an end time sorted by it. The
//! item IDs themselves are not kept, so the state of a million-item catalogue costs an isolate
//! about 125 KB a model. A model swapped in later gets its mask on its first request.
//!
//! What a request uses is the mask at the current time: the switched-off items plus those whose
//! `until` has passed, rebuilt only when another `until` passes. A request that finds the check
//! due does it while the others keep using the state they have (workerd cancels requests that
//! wait on another request's I/O), except on the first request, which has nothing to use yet.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use edgerec_core::Unavailable;
use worker::D1Database;

use super::d1::{self, LOAD_PAGE};
use crate::store::Served;
use crate::timing;

/// A check that has run this long (ms) is presumed lost and another may start.
const CHECK_TIMEOUT_MS: f64 = 60_000.0;

/// The state for one model.
struct Mask {
    /// The model's version (its artifact's SHA-256 prefix).
    model: String,
    /// Switched off (`available: false`).
    off: Unavailable,
    /// Available until a time: `(until_ms, item index)`, earliest first.
    ending: Vec<(i64, u32)>,
    /// The set in use: how many of `ending` had passed when it was made, and the set.
    now: Option<(usize, Option<Arc<Unavailable>>)>,
}

impl Mask {
    /// The unavailable items at `now_ms`, or `None` when every item is available.
    fn at(&mut self, now_ms: i64) -> Option<Arc<Unavailable>> {
        let passed = self.ending.partition_point(|&(until, _)| until <= now_ms);
        if let Some((n, set)) = &self.now
            && *n == passed
        {
            return set.clone();
        }
        let set = (!self.off.is_empty() || passed > 0).then(|| {
            let mut set = self.off.clone();
            for &(_, i) in &self.ending[..passed] {
                set.insert(i as usize);
            }
            Arc::new(set)
        });
        self.now = Some((passed, set.clone()));
        set
    }
}

#[derive(Default)]
struct State {
    /// The stored version the masks reflect, and when it was read (RFC 3339).
    version: Option<d1::Version>,
    read_at: Option<String>,
    last_check_ms: Option<f64>,
    checking_since: Option<f64>,
    error: Option<String>,
    /// Set after this isolate wrote the state: the next request checks.
    stale: bool,
    masks: Vec<Mask>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// This isolate's view, for `/health`.
pub struct Report {
    pub refresh_seconds: u64,
    pub version: Option<i64>,
    pub updated_at: Option<i64>,
    pub read_at: Option<String>,
    pub error: Option<String>,
    /// Unavailable items of `model` now, when its mask is loaded.
    pub unavailable: Option<usize>,
}

pub fn report(refresh_seconds: u64, model: Option<&str>) -> Report {
    let now = timing::now_ms() as i64;
    STATE.with_borrow_mut(|s| Report {
        refresh_seconds,
        version: s.version.map(|v| v.version),
        updated_at: s.version.map(|v| v.updated_at),
        read_at: s.read_at.clone(),
        error: s.error.clone(),
        unavailable: model.and_then(|m| {
            let mask = s.masks.iter_mut().find(|k| k.model == m)?;
            Some(mask.at(now).map_or(0, |set| set.len()))
        }),
    })
}

/// Makes the next request in this isolate check the version (after a write here).
pub fn mark_stale() {
    STATE.with_borrow_mut(|s| s.stale = true);
}

/// Clears the in-progress mark when the checking request ends, even if it is cancelled.
struct CheckGuard;

impl Drop for CheckGuard {
    fn drop(&mut self) {
        STATE.with_borrow_mut(|s| s.checking_since = None);
    }
}

/// The items `model` must not serve now. `source` gives the D1 binding and all the models this
/// isolate serves (a reload builds their masks together); it is called only when a check is
/// due. `None` when all are available, when there is no D1 binding, or when the state has
/// never been read (the error is in `/health`).
pub async fn unavailable<'s>(
    refresh_seconds: u64,
    model: &Served,
    source: impl FnOnce() -> Option<(D1Database, Vec<&'s Rc<Served>>)>,
) -> Option<Arc<Unavailable>> {
    let now = timing::now_ms();
    let version = &model.provenance.version;
    let (check, force) = STATE.with_borrow_mut(|s| {
        let due = s.stale || s.last_check_ms.is_none_or(|t| now - t >= refresh_seconds as f64 * 1000.0);
        let busy = s.checking_since.is_some_and(|t| now - t < CHECK_TIMEOUT_MS);
        let missing = !s.masks.iter().any(|m| &m.model == version);
        // Nothing to serve from yet (first request, or a model swapped in since): read now,
        // whatever another request is doing. Else check when due, one request at a time.
        let must = missing && (s.error.is_none() || due);
        let check = must || (due && !busy);
        if check {
            s.checking_since = Some(now);
            s.stale = false;
        }
        (check, missing)
    });
    if check {
        let _guard = CheckGuard;
        let (db, serving) = source()?;
        let outcome = refresh(&db, model, &serving, force).await;
        STATE.with_borrow_mut(|s| {
            s.last_check_ms = Some(now);
            s.error = outcome.err().map(|e| format!("cannot read item availability: {e}"));
        });
    }
    STATE.with_borrow_mut(|s| s.masks.iter_mut().find(|m| &m.model == version)?.at(now as i64))
}

/// Reads the version and, when it moved (or `force`), every restricted row, and swaps in the
/// masks of `model` and `serving`.
async fn refresh(
    db: &D1Database,
    model: &Served,
    serving: &[&Rc<Served>],
    force: bool,
) -> worker::Result<()> {
    let stored = d1::version(db).await?;
    let same = STATE.with_borrow(|s| s.version.is_some_and(|v| v.version == stored.version));
    if same && !force {
        return Ok(());
    }
    let mut models: Vec<&Served> = vec![model];
    models.extend(
        serving.iter().map(|s| s.as_ref()).filter(|s| s.provenance.version != model.provenance.version),
    );
    let mut masks: Vec<Mask> = models
        .iter()
        .map(|m| Mask {
            model: m.provenance.version.clone(),
            off: Unavailable::new(m.ready().model.num_items()),
            ending: Vec::new(),
            now: None,
        })
        .collect();
    let mut after = String::new();
    loop {
        let rows = d1::restricted(db, &after, LOAD_PAGE).await?;
        for row in &rows {
            for (mask, m) in masks.iter_mut().zip(&models) {
                let Some(i) = m.ready().model.item_index(&row.item_id) else { continue };
                match (row.available, row.until) {
                    (0, _) => mask.off.insert(i),
                    (_, Some(until)) => mask.ending.push((until, i as u32)),
                    _ => {}
                }
            }
        }
        match rows.last() {
            Some(last) if rows.len() == LOAD_PAGE => after.clone_from(&last.item_id),
            _ => break,
        }
    }
    for mask in &mut masks {
        mask.ending.sort_unstable();
    }
    STATE.with_borrow_mut(|s| {
        s.version = Some(stored);
        s.read_at = Some(timing::rfc3339(timing::now_ms()));
        s.masks = masks;
    });
    Ok(())
}
