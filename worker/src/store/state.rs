//! This isolate's serving state, and its refresh from the R2 pointer.
//!
//! The first request (cold start) loads before it answers. Later, a request that finds the
//! last check older than `MODEL_REFRESH_SECONDS` refreshes, if no other refresh is under way:
//! it reads the pointer (a small R2 get) and, only when the pointer names other models, loads
//! and validates them, then swaps them in. Every other request keeps serving what is loaded.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{Bucket, Env};

use super::load::{self, LoadError, Target};
use super::{Served, Serving, Status, bucket, pointer};
use crate::config::Config;
use crate::timing;

/// A refresh that has run this long (ms) is presumed lost and another may start.
const REFRESH_TIMEOUT_MS: f64 = 120_000.0;

#[derive(Default)]
struct State {
    serving: Option<Serving>,
    /// What `serving` was resolved from (see [`Desired::id`]).
    serving_id: Option<String>,
    /// A resolution whose load failed for good: not retried until the pointer moves.
    failed_id: Option<String>,
    last_check_ms: Option<f64>,
    last_check: Option<String>,
    error: Option<String>,
    refreshing_since: Option<f64>,
    /// Set after this isolate wrote the pointer: the next request refreshes.
    stale: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The refresh state, for `/health`.
pub struct Report {
    pub refresh_seconds: u64,
    pub last_check: Option<String>,
    pub error: Option<String>,
}

/// This isolate's report.
pub fn report(config: &Config) -> Report {
    STATE.with_borrow(|s| Report {
        refresh_seconds: config.refresh_seconds,
        last_check: s.last_check.clone(),
        error: s.error.clone(),
    })
}

/// The current model's version, if one is loaded (no I/O): for answers that use no model.
pub fn current_version() -> Option<String> {
    STATE.with_borrow(|s| s.serving.as_ref().map(|sv| sv.current.provenance.version.clone()))
}

/// Makes the next request in this isolate re-read the pointer (after an admin write).
pub fn mark_stale() {
    STATE.with_borrow_mut(|s| s.stale = true);
}

/// Clears the in-progress mark when the refreshing request ends, even if it is cancelled.
struct RefreshGuard;

impl Drop for RefreshGuard {
    fn drop(&mut self) {
        STATE.with_borrow_mut(|s| s.refreshing_since = None);
    }
}

/// The models to serve, loading or refreshing them first when this request must.
pub async fn get(env: &Env, config: &Config) -> Status {
    let now = timing::now_ms();
    let (cold, refresh_now) = STATE.with_borrow_mut(|s| {
        let due =
            s.stale || s.last_check_ms.is_none_or(|t| now - t >= config.refresh_seconds as f64 * 1000.0);
        if s.serving.is_none() {
            // Nothing usable yet: load (again, at most once per refresh interval when it fails).
            return (due || config.r2_binding.is_empty(), false);
        }
        let busy = s.refreshing_since.is_some_and(|t| now - t < REFRESH_TIMEOUT_MS);
        let start = !config.r2_binding.is_empty() && due && !busy;
        if start {
            s.refreshing_since = Some(now);
            s.stale = false;
        }
        (false, start)
    });
    if cold {
        cold_start(env, config, now).await;
    } else if refresh_now {
        let _guard = RefreshGuard;
        refresh(env, config, now).await;
    }
    STATE.with_borrow(|s| match &s.serving {
        Some(serving) => Status::Ready(serving.clone()),
        None => Status::Unavailable(s.error.clone().unwrap_or_else(|| "no model is loaded".to_owned())),
    })
}

/// The first load: R2 if configured, falling back to the bundle when R2 has nothing usable.
async fn cold_start(env: &Env, config: &Config, now: f64) {
    if !config.r2_binding.is_empty() {
        refresh(env, config, now).await;
    }
    if STATE.with_borrow(|s| s.serving.is_some()) {
        return;
    }
    let stamp = timing::rfc3339(now);
    let bundled = load::bundled(&stamp);
    STATE.with_borrow_mut(|s| match bundled {
        Ok(current) => s.serving = Some(Serving { current, canary: None }),
        Err(e) => match &s.error {
            Some(first) if first.contains(&e) => {}
            Some(first) => s.error = Some(format!("{first}; {e}")),
            None => s.error = Some(e),
        },
    });
}

/// What the pointer (or its absence) says to serve.
struct Desired {
    current: Target,
    canary: Option<(Target, u8)>,
}

impl Desired {
    fn id(&self) -> String {
        let canary = self.canary.as_ref().map(|(t, p)| format!(" canary {p}% {}", t.id()));
        format!("{}{}", self.current.id(), canary.unwrap_or_default())
    }
}

async fn resolve(bucket: &Bucket, config: &Config) -> Result<Desired, String> {
    let pointer = pointer::read(bucket, &config.pointer_key).await?.map(|(p, _)| p).unwrap_or_default();
    let current = match pointer.current {
        Some(entry) => Target::Entry(entry),
        None => match bucket.head(&config.r2_key).await.map_err(|e| e.to_string())? {
            Some(object) => Target::Legacy { key: config.r2_key.clone(), etag: object.etag() },
            None => Target::Bundled,
        },
    };
    let canary = pointer.canary.map(|c| (Target::Entry(c.entry), c.percent));
    Ok(Desired { current, canary })
}

/// Reads the pointer and swaps in what it names; records the check and any error.
async fn refresh(env: &Env, config: &Config, now: f64) {
    let outcome = match bucket(env, config) {
        Some(Ok(bucket)) => try_refresh(&bucket, config, now).await,
        Some(Err(e)) => Err(LoadError { message: e, permanent: false }),
        None => Ok(()),
    };
    STATE.with_borrow_mut(|s| {
        s.last_check_ms = Some(now);
        s.last_check = Some(timing::rfc3339(now));
        if let Err(e) = outcome {
            s.error = Some(e.message);
        }
    });
}

async fn try_refresh(bucket: &Bucket, config: &Config, now: f64) -> Result<(), LoadError> {
    let desired = resolve(bucket, config).await.map_err(|message| LoadError { message, permanent: false })?;
    let id = desired.id();
    let (unchanged, failed) =
        STATE.with_borrow(|s| (s.serving_id.as_deref() == Some(&id), s.failed_id.as_deref() == Some(&id)));
    if unchanged {
        STATE.with_borrow_mut(|s| s.error = None);
        return Ok(());
    }
    if failed {
        return Ok(()); // The error stays reported until the pointer moves.
    }
    let stamp = timing::rfc3339(now);
    let fail = |e: LoadError| {
        if e.permanent {
            STATE.with_borrow_mut(|s| s.failed_id = Some(id.clone()));
        }
        e
    };
    let current = find_or_load(bucket, config, &desired.current, &stamp).await.map_err(fail)?;
    let (canary, canary_error) = match &desired.canary {
        None => (None, None),
        Some((target, percent)) => match find_or_load(bucket, config, target, &stamp).await {
            Ok(model) => (Some((model, *percent)), None),
            // The current model still swaps in; the canary's error is reported.
            Err(e) => (None, Some(fail(e))),
        },
    };
    let serving_id = if canary_error.is_some() { desired.current.id() } else { id.clone() };
    STATE.with_borrow_mut(|s| {
        s.serving = Some(Serving { current, canary });
        s.serving_id = Some(serving_id);
        if canary_error.is_none() {
            s.failed_id = None;
            s.error = None;
        }
    });
    canary_error.map_or(Ok(()), Err)
}

/// A model already loaded in this isolate (by id), else a fresh load.
async fn find_or_load(
    bucket: &Bucket,
    config: &Config,
    target: &Target,
    now: &str,
) -> Result<Rc<Served>, LoadError> {
    let id = target.id();
    let loaded = STATE.with_borrow(|s| {
        let serving = s.serving.as_ref()?;
        let canary = serving.canary.as_ref().map(|(c, _)| c);
        [Some(&serving.current), canary].into_iter().flatten().find(|m| m.id == id).cloned()
    });
    match loaded {
        Some(model) => Ok(model),
        None => load::load(bucket, &config.r2_binding, target, now).await,
    }
}
