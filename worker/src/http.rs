//! HTTP plumbing shared by the endpoints: the incoming request, replies, request bodies, query
//! strings, the API key.

use std::borrow::Cow;

use serde::Serialize;
use worker::js_sys::{Error as JsError, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys;

use crate::error::{ApiError, ErrorCode};

/// Largest accepted request body, unless a route sets its own limit.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted ID (user, item, category, cursor).
pub use edgerec_core::wire::MAX_ID_BYTES;

/// A successful answer, before CORS and timing headers are added.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Cow<'static, str>,
    pub cache_control: &'static str,
    /// What the request computed, for the `Server-Timing` header (a `desc`, no quotes).
    pub work: Option<String>,
    /// Further response headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(value)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot encode the answer: {e}")))?;
        Ok(Self {
            status: 200,
            content_type: "application/json",
            body: Cow::Owned(body),
            cache_control: "no-store",
            work: None,
            headers: Vec::new(),
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

/// The request as workerd hands it over. Every read of it crosses into JavaScript, so the
/// method and URL are read once, headers only when a route needs them, and `request.cf` (an
/// object workerd builds on first access) never.
pub struct Incoming {
    raw: web_sys::Request,
    headers: web_sys::Headers,
    /// The raw method string (`worker::Method` would turn unknown methods into `GET`).
    pub method: String,
    url: String,
}

impl Incoming {
    pub fn new(raw: web_sys::Request) -> Self {
        Self { headers: raw.headers(), method: raw.method(), url: raw.url(), raw }
    }

    /// The URL's path, still percent-encoded.
    pub fn path(&self) -> &str {
        split_url(&self.url).0
    }

    /// The decoded query string as `(name, value)` pairs; see [`parse_query`].
    pub fn query_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        parse_query(split_url(&self.url).1)
    }

    /// A request header, if present and readable.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// Reads a JSON request body of at most `max_bytes`: checks `Content-Type` (415) and size
    /// (413) before parsing.
    pub async fn json_body(&self, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
        self.require_content_type("application/json", false)?;
        self.body(max_bytes).await
    }

    /// Reads a binary request body (`application/octet-stream`, or no `Content-Type`) of at
    /// most `limit` bytes (413 beyond).
    pub async fn bytes_body(&self, limit: usize) -> Result<Vec<u8>, ApiError> {
        self.require_content_type("application/octet-stream", true)?;
        self.body(limit).await
    }

    /// 415 unless the `Content-Type` essence is `expected` (or absent, when allowed).
    fn require_content_type(&self, expected: &str, absent_ok: bool) -> Result<(), ApiError> {
        let content_type = self.header("content-type").unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case(expected) || (absent_ok && content_type.is_empty()) {
            return Ok(());
        }
        let got = if content_type.is_empty() { "none".to_owned() } else { format!("`{content_type}`") };
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("the body must be `{expected}`, got {got}"),
        ))
    }

    /// Reads the body, checking its size (413) against `Content-Length` first and again after
    /// reading. The body is read as bytes (no UTF-8 to JavaScript string and back) and copied
    /// into wasm memory only once it is known to fit, so an oversized body sent without a
    /// `Content-Length` never grows the instance's memory, which never shrinks.
    async fn body(&self, limit: usize) -> Result<Vec<u8>, ApiError> {
        let too_large =
            || ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is over {limit} bytes"));
        if let Some(length) = self.header("content-length") {
            match length.trim().parse::<u64>() {
                Ok(n) if n > limit as u64 => return Err(too_large()),
                Ok(_) => {}
                Err(_) => return Err(ApiError::invalid("`Content-Length` is not a number")),
            }
        }
        let unreadable = |e: JsValue| {
            ApiError::new(ErrorCode::InvalidBody, format!("cannot read the body: {}", js_message(&e)))
        };
        let buffer =
            JsFuture::from(self.raw.array_buffer().map_err(unreadable)?).await.map_err(unreadable)?;
        let bytes = Uint8Array::new(&buffer);
        if bytes.length() as usize > limit {
            return Err(too_large());
        }
        Ok(bytes.to_vec())
    }
}

/// Splits a serialized WHATWG URL (as `Request.url` gives it) into its path and query, without
/// reparsing it: after the scheme and host, the first `/` begins the path, and `?` and `#` are
/// always percent-encoded inside the path.
fn split_url(url: &str) -> (&str, &str) {
    let after_host = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_host..];
    let rest = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (if path.is_empty() { "/" } else { path }, query)
}

/// The message of a JavaScript exception or rejection.
fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<JsError>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
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
pub fn check_id(what: impl std::fmt::Display, id: &str) -> Result<(), ApiError> {
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
    percent_decode(segment, false)
        .ok_or_else(|| ApiError::invalid("the path holds a malformed percent-encoding or invalid UTF-8"))
}

/// Decodes a query string (`application/x-www-form-urlencoded`: `&`-separated `name=value`
/// pairs, `+` for a space) strictly: a malformed escape such as `%%%` or `%zz`, or bytes that
/// are not UTF-8, are a 400 rather than being passed through or replaced.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |part: &str| {
        ApiError::invalid(format!(
            "the query string holds a malformed percent-encoding or invalid UTF-8: `{part}`"
        ))
    };
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = percent_decode(name, true).ok_or_else(|| bad(part))?;
            let value = percent_decode(value, true).ok_or_else(|| bad(part))?;
            Ok((name, value))
        })
        .collect()
}

/// Percent-decodes `text` into UTF-8 (`+` as a space when `plus_is_space`); `None` for a
/// malformed escape or invalid UTF-8.
fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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
            assert_eq!(q(bad).map_err(|e| e.status()), Err(400), "{bad:?}");
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

    /// Regression: `GET /users?cursor=%%%` used to start from the beginning instead of failing.
    #[test]
    fn parse_query_rejects_malformed_escapes() {
        for bad in [
            "cursor=%%%",
            "cursor=%",
            "cursor=%2",
            "cursor=%zz",
            "cursor=%+1",
            "%%%=1",
            "n=%FF%FE",
            "a=%e2%9c",
        ] {
            assert_eq!(
                parse_query(bad).map_err(|e| (e.status(), e.code.as_str())),
                Err((400, "invalid_request")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_query_decodes_like_form_urlencoded() {
        for query in [
            "",
            "n=10",
            "n=1&n=2",
            "cursor=U%2010001&limit=5",
            "a+b=c+d",
            "flag",
            "x=&=y",
            "&&n=3&",
            "u=%E2%9C%93",
        ] {
            let expected: Vec<(String, String)> = worker::url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(parse_query(query), Ok(expected), "{query:?}");
        }
    }

    #[test]
    fn split_url_matches_the_url_crate() {
        for url in [
            "http://127.0.0.1:8787/health",
            "https://example.com/",
            "https://example.com",
            "https://example.com?query=1",
            "https://example.com#frag",
            "https://example.com/recommend/U10001?n=10&exclude_rated=false",
            "https://example.com/a%3F%23%2Fb?c=%26#x?y",
            "https://user:pw@example.com:8080/items/T%201/similar?n=3#top",
            "https://example.com/p??a=b",
        ] {
            let parsed = worker::Url::parse(url).expect("a valid URL");
            assert_eq!(split_url(url), (parsed.path(), parsed.query().unwrap_or_default()), "{url}");
        }
    }

    #[test]
    fn check_id_bounds_the_length() {
        assert!(check_id("id", "U1").is_ok());
        assert!(check_id("id", "").is_err());
        assert!(check_id("id", &"x".repeat(MAX_ID_BYTES + 1)).is_err());
    }
}
