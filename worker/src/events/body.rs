//! The body of `POST /events`, read and validated into normalised [`Event`]s before anything is
//! enqueued.
//!
//! serde checks the JSON types and unknown fields (with the path of the offending field, through
//! `serde_path_to_error`); this module checks the rest. Every error names the first bad event,
//! as `events[7].timestamp: ...`:
//!
//! - `{"events": [...]}` with 1..=[`MAX_EVENTS`] events (more is a 413);
//! - `user_id` and `item_id` as in `/recommend` ([`http::check_id`]);
//! - at least one of `behavior` (view, click, cart, purchase) and `rating` (finite, in (0, 5]);
//! - `timestamp` optional: RFC 3339 or integer Unix seconds, `>= 0` and at most a day ahead of
//!   the time the batch was accepted, which it defaults to;
//! - `event_id` optional: 1..=128 bytes of printable ASCII without spaces; missing, the caller's
//!   generator assigns one;
//! - `recommendation_id` optional, on a click, cart or purchase: the answer it came from, in the
//!   shape the API issues (`rec-` and 32 hex digits); one never issued is stored as given (the
//!   metrics find no answer for it); `position` optional with it, the item's rank, 1..=1000;
//! - no field may be `null`: leave it out instead.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::error::{self, ApiError, ErrorCode};
use crate::http;
use crate::json::{Object, nullable};

/// Most events in one batch.
pub const MAX_EVENTS: usize = 500;
/// Largest `POST /events` body.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
use edgerec_core::wire::is_recommendation_id;
pub use edgerec_core::wire::{Behavior, MAX_EVENT_ID_BYTES, MAX_RATING};
/// The deepest rank an answer has (a `position` is 1..=this).
pub const MAX_POSITION: u32 = edgerec_core::MAX_TOP_N as u32;
/// How far ahead of the Worker's clock a timestamp may be, in seconds.
pub const MAX_FUTURE_SECONDS: i64 = 24 * 60 * 60;

/// A validated event, as it travels through the queue into D1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub user_id: String,
    pub item_id: String,
    pub behavior: Option<Behavior>,
    pub rating: Option<f64>,
    /// Unix seconds.
    pub timestamp: i64,
    /// The answer a click, cart or purchase came from, and the item's rank in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// The raw body: the events are kept as raw JSON until each is checked on its own, so that the
/// count is checked first and every error names its event.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    #[serde(default, deserialize_with = "nullable", borrow)]
    events: Option<Option<Vec<&'a RawValue>>>,
}

/// One raw event. Each field is `None` when left out and `Some(None)` when `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default, deserialize_with = "nullable")]
    user_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    item_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    behavior: Option<Option<Behavior>>,
    #[serde(default, deserialize_with = "nullable")]
    rating: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    timestamp: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "nullable")]
    event_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    recommendation_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    position: Option<Option<u32>>,
}

/// A timestamp as given: integer Unix seconds (any sign, range-checked later) or RFC 3339.
enum Timestamp {
    Seconds(i128),
    Rfc3339(String),
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of Unix seconds or an RFC 3339 string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp::Seconds(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp::Seconds(i128::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Ok(Timestamp::Rfc3339(v.to_owned()))
            }
        }
        d.deserialize_any(TimestampVisitor)
    }
}

/// Parses and validates the body bytes. `now_ms` is when the Worker accepted the batch (Unix
/// milliseconds); `new_id` makes an `event_id` for an event that has none.
pub fn parse(
    bytes: &[u8],
    now_ms: i64,
    mut new_id: impl FnMut() -> Result<String, ApiError>,
) -> Result<Vec<Event>, ApiError> {
    let Object(body): Object<Body<'_>> =
        serde_json::from_slice(bytes).map_err(|e| error::from_json_error(&e))?;
    let raw = match body.events {
        None => return Err(ApiError::invalid("`events` is missing: send `{\"events\": [...]}`")),
        Some(None) => return Err(ApiError::invalid("`events` is null; send a list of 1 to 500 events")),
        Some(Some(raw)) => raw,
    };
    if raw.is_empty() {
        return Err(ApiError::invalid(format!("`events` is empty; send 1 to {MAX_EVENTS} events")));
    }
    if raw.len() > MAX_EVENTS {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("{} events in one batch; at most {MAX_EVENTS} are accepted", raw.len()),
        ));
    }
    let now_s = now_ms.div_euclid(1000);
    raw.iter().enumerate().map(|(i, raw)| event(i, raw.get(), now_s, &mut new_id)).collect()
}

/// Where in the body an error is: `events[i]` or `events[i].field`.
struct At(usize);

/// [`At::path`], formatted only when an error needs it.
struct Path<'a>(usize, &'a str);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            "" => write!(f, "events[{}]", self.0),
            field => write!(f, "events[{}].{field}", self.0),
        }
    }
}

impl At {
    fn path<'a>(&self, field: &'a str) -> Path<'a> {
        Path(self.0, field)
    }

    fn bad(&self, field: &str, why: impl fmt::Display) -> ApiError {
        ApiError::invalid(format!("{}: {why}", self.path(field)))
    }

    /// A field's value, or `None` when left out; `null` is an error.
    fn given<T>(&self, field: &str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
        match value {
            Some(None) => Err(self.bad(field, "is null; leave the field out instead")),
            other => Ok(other.flatten()),
        }
    }

    /// A required ID, checked as `/recommend` checks IDs.
    fn id(&self, field: &str, value: Option<Option<String>>) -> Result<String, ApiError> {
        let id = self.given(field, value)?.ok_or_else(|| self.bad(field, "is missing"))?;
        http::check_id(self.path(field), &id)?;
        Ok(id)
    }
}

fn event(
    i: usize,
    raw: &str,
    now_s: i64,
    new_id: &mut impl FnMut() -> Result<String, ApiError>,
) -> Result<Event, ApiError> {
    let at = At(i);
    // The plain parse first; only a bad event is parsed again to find the path of its error.
    let Object(ev): Object<RawEvent> = match serde_json::from_str(raw) {
        Ok(ev) => ev,
        Err(_) => {
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw)).map_err(|e| {
                let path = e.path().to_string();
                at.bad(if path == "." { "" } else { &path }, e.inner())
            })?
        }
    };
    let user_id = at.id("user_id", ev.user_id)?;
    let item_id = at.id("item_id", ev.item_id)?;
    let behavior = at.given("behavior", ev.behavior)?;
    let rating = at.given("rating", ev.rating)?;
    if let Some(r) = rating
        && !(r > 0.0 && r <= MAX_RATING)
    {
        return Err(at.bad("rating", format_args!("must be in (0, {MAX_RATING}], got {r}")));
    }
    if behavior.is_none() && rating.is_none() {
        return Err(at.bad("", "give `behavior` (view, click, cart or purchase), `rating`, or both"));
    }
    let timestamp = match at.given("timestamp", ev.timestamp)? {
        None => now_s,
        Some(t) => seconds(t, now_s).map_err(|why| at.bad("timestamp", why))?,
    };
    let event_id = match at.given("event_id", ev.event_id)? {
        None => new_id()?,
        Some(id) => {
            check_event_id(&id).map_err(|why| at.bad("event_id", why))?;
            id
        }
    };
    let recommendation_id = at.given("recommendation_id", ev.recommendation_id)?;
    let position = at.given("position", ev.position)?;
    if let Some(id) = &recommendation_id {
        if !is_recommendation_id(id) {
            return Err(at.bad(
                "recommendation_id",
                format_args!("`{id}` is not one the API issues (rec- and 32 hex digits)"),
            ));
        }
        if !matches!(behavior, Some(Behavior::Click | Behavior::Cart | Behavior::Purchase)) {
            return Err(at.bad("recommendation_id", "goes with a click, cart or purchase"));
        }
    }
    match (position, &recommendation_id) {
        (Some(p), Some(_)) if (1..=MAX_POSITION).contains(&p) => {}
        (Some(p), Some(_)) => {
            return Err(at.bad("position", format_args!("must be in 1..={MAX_POSITION}, got {p}")));
        }
        (Some(_), None) => return Err(at.bad("position", "goes with a `recommendation_id`")),
        (None, _) => {}
    }
    Ok(Event { event_id, user_id, item_id, behavior, rating, timestamp, recommendation_id, position })
}

/// A timestamp as Unix seconds in `0..=now_s + MAX_FUTURE_SECONDS`.
fn seconds(t: Timestamp, now_s: i64) -> Result<i64, String> {
    let s = match t {
        Timestamp::Seconds(s) => s,
        Timestamp::Rfc3339(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| i128::from(t.timestamp()))
            .map_err(|e| format!("`{text}` is not an RFC 3339 date-time ({e})"))?,
    };
    let latest = now_s.saturating_add(MAX_FUTURE_SECONDS);
    if s < 0 {
        return Err(format!("{s} is before 1970-01-01T00:00:00Z"));
    }
    if s > i128::from(latest) {
        return Err(format!("{s} is more than a day ahead of the server's clock ({now_s})"));
    }
    i64::try_from(s).map_err(|_| format!("{s} is out of range"))
}

/// 1..=128 bytes of printable ASCII without spaces.
fn check_event_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_EVENT_ID_BYTES {
        return Err(format!("must be 1 to {MAX_EVENT_ID_BYTES} bytes, got {}", id.len()));
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("must be printable ASCII without spaces, found {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
