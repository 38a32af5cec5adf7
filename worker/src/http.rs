//! HTTP plumbing shared by the endpoints: replies, request bodies, query strings, the API key.

use serde::Serialize;
use worker::{Env, Request};

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted ID (user, item, category, cursor).
pub const MAX_ID_BYTES: usize = 256;

/// A successful answer, before CORS and timing headers are added.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub cache_control: &'static str,
    /// What the request computed, for the `Server-Timing` header (a `desc`, no quotes).
    pub work: Option<String>,
}

impl Reply {
    pub fn json<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(value)
            .map_err(|e| ApiError::new(500, "internal", format!("cannot encode the answer: {e}")))?;
        Ok(Self {
            status: 200,
            content_type: "application/json",
            body,
            cache_control: "no-store",
            work: None,
        })
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn cacheable(mut self, cache_control: &'static str) -> Self {
        self.cache_control = cache_control;
        self
    }

    pub fn with_work(mut self, work: String) -> Self {
        self.work = Some(work);
        self
    }
}

/// Reads a JSON request body: checks `Content-Type` (415) and size (413) before parsing.
pub async fn read_json_body(req: &mut Request) -> Result<String, ApiError> {
    let content_type = header(req, "content-type").unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        let got = if content_type.is_empty() { "none".to_owned() } else { format!("`{content_type}`") };
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            format!("the body must be `application/json`, got {got}"),
        ));
    }
    let too_large =
        || ApiError::new(413, "payload_too_large", format!("the body is over {MAX_BODY_BYTES} bytes"));
    if let Some(length) = header(req, "content-length") {
        match length.trim().parse::<u64>() {
            Ok(n) if n > MAX_BODY_BYTES as u64 => return Err(too_large()),
            Ok(_) => {}
            Err(_) => return Err(ApiError::invalid("`Content-Length` is not a number")),
        }
    }
    let text = req
        .text()
        .await
        .map_err(|e| ApiError::new(400, "invalid_body", format!("cannot read the body: {e}")))?;
    if text.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// A request header, if present and readable.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The decoded query string as `(name, value)` pairs.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    match req.url() {
        Ok(url) => url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        Err(_) => Vec::new(),
    }
}

/// The last value of query parameter `name`.
pub fn query_param<'q>(pairs: &'q [(String, String)], name: &str) -> Option<&'q str> {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Parses an integer query parameter in `min..=max`, with a default when absent.
pub fn int_param(
    pairs: &[(String, String)],
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(raw) = query_param(pairs, name) else {
        return Ok(default);
    };
    let bad = || ApiError::invalid(format!("`{name}` must be an integer in {min}..={max}, got `{raw}`"));
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match raw.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

/// Parses a boolean query parameter (`true`/`false`/`1`/`0`).
pub fn bool_param(pairs: &[(String, String)], name: &str, default: bool) -> Result<bool, ApiError> {
    match query_param(pairs, name) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(raw) => Err(ApiError::invalid(format!("`{name}` must be `true` or `false`, got `{raw}`"))),
    }
}

/// Checks an ID's length; IDs are otherwise opaque.
pub fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid(format!("`{what}` must not be empty")));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(ApiError::invalid(format!("`{what}` is longer than {MAX_ID_BYTES} bytes")));
    }
    Ok(())
}

/// Decodes a percent-encoded path segment into UTF-8.
pub fn decode_segment(segment: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("the path holds a malformed percent-encoding or invalid UTF-8");
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Requires `Authorization: Bearer <API_KEY>` when an `API_KEY` secret is configured.
pub fn check_api_key(req: &Request, env: &Env) -> Result<(), ApiError> {
    let expected = match env.secret("API_KEY") {
        Ok(secret) => secret.to_string(),
        Err(_) => return Ok(()),
    };
    if expected.is_empty() {
        return Ok(());
    }
    let given = header(req, "authorization").unwrap_or_default();
    let token = given.strip_prefix("Bearer ").or_else(|| given.strip_prefix("bearer ")).map(str::trim);
    match token {
        None => Err(ApiError::new(401, "unauthorized", "this route needs `Authorization: Bearer <API_KEY>`")),
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(401, "unauthorized", "the API key is wrong")),
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn int_param_accepts_only_plain_integers_in_range() {
        let q = |v: &str| int_param(&pairs(&[("n", v)]), "n", 10, 1, 100);
        assert_eq!(int_param(&[], "n", 10, 1, 100), Ok(10));
        assert_eq!(q("1"), Ok(1));
        assert_eq!(q("100"), Ok(100));
        for bad in ["0", "101", "-1", "+5", "1.5", "1e2", "", " 5", "abc", "99999999999999999999999"] {
            assert_eq!(q(bad).map_err(|e| e.status), Err(400), "{bad:?}");
        }
    }

    #[test]
    fn bool_param_is_strict() {
        let q = |v: &str| bool_param(&pairs(&[("b", v)]), "b", true);
        assert_eq!(q("false"), Ok(false));
        assert_eq!(q("1"), Ok(true));
        assert!(q("yes").is_err());
    }

    #[test]
    fn the_last_query_value_wins() {
        assert_eq!(query_param(&pairs(&[("n", "1"), ("n", "2")]), "n"), Some("2"));
    }

    #[test]
    fn decode_segment_rejects_broken_escapes_and_invalid_utf8() {
        assert_eq!(decode_segment("U10001").as_deref(), Ok("U10001"));
        assert_eq!(decode_segment("new%20visitor").as_deref(), Ok("new visitor"));
        assert_eq!(decode_segment("%E2%9C%93").as_deref(), Ok("✓"));
        for bad in ["%", "%2", "%zz", "%FF%FE", "a%e2%9c"] {
            assert!(decode_segment(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn check_id_bounds_the_length() {
        assert!(check_id("id", "U1").is_ok());
        assert!(check_id("id", "").is_err());
        assert!(check_id("id", &"x".repeat(MAX_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"key", b"key"));
        assert!(!constant_time_eq(b"key", b"kex"));
        assert!(!constant_time_eq(b"key", b"key2"));
    }
}
