//! The body of `PUT /admin/items`, validated before anything is written:
//!
//! - `{"items": [...]}` with 1..=[`MAX_ITEMS`] entries (more is a 413);
//! - each `{"item_id": ..., "available": true|false, "until": RFC 3339}`; `until` is optional
//!   (left out: no end), and no field may be `null`;
//! - `item_id` as everywhere ([`http::check_id`]), each at most once per batch (two states for
//!   one item in one request would make the outcome depend on their order).
//!
//! Each entry replaces the item's stored state: an entry without `until` clears an earlier one.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{self, ApiError, ErrorCode};
use crate::http;
use crate::json::{Object, nullable};

/// Most items in one request.
pub const MAX_ITEMS: usize = 10_000;
/// Largest body: `MAX_ITEMS` entries with long IDs and an `until` each.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// One item's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub item_id: String,
    pub available: bool,
    /// Unix milliseconds after which the item is unavailable.
    pub until_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    #[serde(default, deserialize_with = "nullable", borrow)]
    items: Option<Option<Vec<&'a RawValue>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default, deserialize_with = "nullable")]
    item_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    available: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    until: Option<Option<String>>,
}

/// Parses and validates the body bytes.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, ApiError> {
    let Object(body): Object<Body<'_>> =
        serde_json::from_slice(bytes).map_err(|e| error::from_json_error(&e))?;
    let raw = match body.items {
        Some(Some(items)) => items,
        Some(None) => return Err(ApiError::invalid("`items` is null; give a list of items")),
        None => return Err(ApiError::invalid("`items` is required: a list of {item_id, available, until?}")),
    };
    if raw.is_empty() {
        return Err(ApiError::invalid("`items` is empty; give at least one item"));
    }
    if raw.len() > MAX_ITEMS {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "{} items in one request; at most {MAX_ITEMS}, send the rest in further requests",
                raw.len()
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(raw.len());
    raw.iter()
        .enumerate()
        .map(|(k, value)| {
            let at = |message: String| ApiError::invalid(format!("items[{k}]: {message}"));
            let Object(entry): Object<RawEntry> =
                serde_json::from_str(value.get()).map_err(|e| at(error::from_json_error(&e).message))?;
            let required = |name: &str| at(format!("`{name}` is required"));
            let null = |name: &str| at(format!("`{name}` is null; leave it out or give a value"));
            let item_id = match entry.item_id {
                Some(Some(id)) => id,
                Some(None) => return Err(null("item_id")),
                None => return Err(required("item_id")),
            };
            http::check_id("item_id", &item_id).map_err(|e| at(e.message))?;
            let available = match entry.available {
                Some(Some(available)) => available,
                Some(None) => return Err(null("available")),
                None => return Err(required("available")),
            };
            let until_ms = match entry.until {
                None => None,
                Some(None) => return Err(null("until")),
                Some(Some(text)) => Some(parse_until(&text).map_err(at)?),
            };
            if !seen.insert(item_id.clone()) {
                return Err(at(format!("`{item_id}` is given twice in this request")));
            }
            Ok(Entry { item_id, available, until_ms })
        })
        .collect()
}

/// An RFC 3339 time as Unix milliseconds (1970 to 9999).
pub fn parse_until(text: &str) -> Result<i64, String> {
    let t = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!("`until` must be an RFC 3339 time such as 2026-12-31T23:59:59Z, got `{text}`: {e}")
    })?;
    let ms = t.timestamp_millis();
    if ms < 0 {
        return Err(format!("`until` must not be before 1970, got `{text}`"));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::{Entry, MAX_ITEMS, parse};
    use crate::error::ErrorCode;

    fn code(body: &str) -> (ErrorCode, String) {
        let e = parse(body.as_bytes()).expect_err(body);
        (e.code, e.message)
    }

    #[test]
    fn entries_are_read_with_their_end_time() {
        let got = parse(
            br#"{"items": [{"item_id": "A", "available": false},
            {"item_id": "B", "available": true, "until": "2026-12-31T23:00:00+01:00"}]}"#,
        )
        .expect("valid");
        assert_eq!(
            got,
            [
                Entry { item_id: "A".into(), available: false, until_ms: None },
                Entry { item_id: "B".into(), available: true, until_ms: Some(1_798_754_400_000) },
            ]
        );
    }

    #[test]
    fn bad_bodies_are_400s_that_name_the_entry() {
        for (body, needle) in [
            (r#"{}"#, "`items` is required"),
            (r#"{"items": null}"#, "`items` is null"),
            (r#"{"items": []}"#, "empty"),
            (r#"{"items": [{"available": true}]}"#, "items[0]: `item_id` is required"),
            (r#"{"items": [{"item_id": "A"}]}"#, "items[0]: `available` is required"),
            (r#"{"items": [{"item_id": "A", "available": null}]}"#, "`available` is null"),
            (r#"{"items": [{"item_id": "", "available": true}]}"#, "must not be empty"),
            (r#"{"items": [{"item_id": "A", "available": "no"}]}"#, "items[0]"),
            (r#"{"items": [{"item_id": "A", "available": true, "until": "tomorrow"}]}"#, "RFC 3339"),
            (r#"{"items": [{"item_id": "A", "available": true, "until": null}]}"#, "`until` is null"),
            (r#"{"items": [{"item_id": "A", "available": true, "until": "1969-12-31T23:59:59Z"}]}"#, "1970"),
            (r#"{"items": [{"item_id": "A", "available": true, "extra": 1}]}"#, "extra"),
            (
                r#"{"items": [{"item_id": "A", "available": true}, {"item_id": "A", "available": false}]}"#,
                "items[1]: `A` is given twice",
            ),
            (r#"{"items": [{"item_id": "A", "available": true}], "more": 1}"#, "more"),
            (r#"[]"#, ""),
        ] {
            let (code, message) = code(body);
            assert!(
                matches!(code, ErrorCode::InvalidRequest | ErrorCode::InvalidJson | ErrorCode::InvalidBody),
                "{body}: {code:?}"
            );
            assert!(message.contains(needle), "{body}: {message}");
        }
    }

    #[test]
    fn an_oversized_batch_is_a_413() {
        let items: Vec<String> =
            (0..=MAX_ITEMS).map(|k| format!(r#"{{"item_id": "I{k}", "available": false}}"#)).collect();
        let body = format!(r#"{{"items": [{}]}}"#, items.join(","));
        assert_eq!(code(&body).0, ErrorCode::PayloadTooLarge);
    }
}
