//! A blocking HTTP client (ureq, rustls for https) for the Worker's `/admin/*` routes, with
//! the bearer token. A non-2xx answer becomes an error carrying the Worker's JSON message
//! (`{"error": {"code", "message"}}`).

use std::io::{BufRead, BufReader};
use std::time::Duration;

use anyhow::Context as _;
use edgerec_core::wire::StoredDeletion;
use ureq::Agent;
use ureq::http::Response;

use super::page::{Page, parse_lines, parse_page};

/// Largest page line the contract allows, with room to spare: IDs of 256 bytes, an event_id
/// of 128, every character escaped.
const MAX_LINE_BYTES: u64 = 8 * 1024;

/// The Worker's admin API at one base URL.
pub struct Admin {
    base: String,
    token: String,
    agent: Agent,
}

impl Admin {
    /// A client for `base` (e.g. `http://127.0.0.1:8787`; a trailing `/` is dropped).
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the Worker URL {base:?} must start with http:// or https://"
        );
        anyhow::ensure!(!token.is_empty(), "the admin token is empty");
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_recv_body(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Self { base, token: token.to_owned(), agent })
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `GET /admin/events?after=..&limit=..`, read line by line and checked.
    pub fn events_page(&self, after: u64, limit: usize) -> anyhow::Result<Page> {
        self.page("/admin/events", after, limit, |body, header| parse_page(body, after, limit, header))
    }

    /// `GET /admin/deletions?after=..&limit=..`: the deletions and the cursor after them.
    pub fn deletions_page(&self, after: u64, limit: usize) -> anyhow::Result<(Vec<StoredDeletion>, u64)> {
        self.page("/admin/deletions", after, limit, |body, header| parse_lines(body, after, limit, header))
    }

    /// `GET {path}?after=..&limit=..`, an NDJSON page handed to `parse` with its
    /// `X-Next-Cursor`.
    fn page<T>(
        &self,
        path: &str,
        after: u64,
        limit: usize,
        parse: impl FnOnce(&mut dyn BufRead, Option<&str>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let url = self.url(path);
        let describe = || format!("GET {url}?after={after}&limit={limit}");
        let response = self
            .agent
            .get(&url)
            .query("after", after.to_string())
            .query("limit", limit.to_string())
            .header("Authorization", self.bearer())
            .call()
            .map_err(transport)
            .with_context(describe)?;
        let response = success(response).with_context(describe)?;
        let header =
            response.headers().get("x-next-cursor").map(|v| v.to_str().unwrap_or("(not text)").to_owned());
        let budget = MAX_LINE_BYTES * limit as u64 + 1024;
        let reader = response.into_body().into_with_config().limit(budget).reader();
        parse(&mut BufReader::with_capacity(256 * 1024, reader), header.as_deref()).with_context(describe)
    }

    /// `PUT /admin/model[?canary=P]` with the artifact's bytes.
    pub fn put_model(&self, bytes: &[u8], canary: Option<u8>) -> anyhow::Result<serde_json::Value> {
        let url = self.url("/admin/model");
        let mut request = self
            .agent
            .put(&url)
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/octet-stream");
        if let Some(p) = canary {
            request = request.query("canary", p.to_string());
        }
        let response = request.send(bytes).map_err(transport).with_context(|| format!("PUT {url}"))?;
        json(response).with_context(|| format!("PUT {url}"))
    }

    /// `GET {path}`, answering JSON.
    pub fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let url = self.url(path);
        let response = self.agent.get(&url).header("Authorization", self.bearer()).call().map_err(transport);
        json(response.with_context(|| format!("GET {url}"))?).with_context(|| format!("GET {url}"))
    }

    /// `PUT {path}` with a JSON body.
    pub fn put_json(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let url = self.url(path);
        let response = self
            .agent
            .put(&url)
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(transport);
        json(response.with_context(|| format!("PUT {url}"))?).with_context(|| format!("PUT {url}"))
    }

    /// `POST {path}` with a JSON body (or none).
    pub fn post(&self, path: &str, body: Option<&serde_json::Value>) -> anyhow::Result<serde_json::Value> {
        let url = self.url(path);
        let request = self.agent.post(&url).header("Authorization", self.bearer());
        let response = match body {
            Some(body) => request.header("Content-Type", "application/json").send(body.to_string()),
            None => request.send_empty(),
        };
        json(response.map_err(transport).with_context(|| format!("POST {url}"))?)
            .with_context(|| format!("POST {url}"))
    }
}

fn transport(err: ureq::Error) -> anyhow::Error {
    anyhow::anyhow!("the Worker could not be reached: {err}")
}

/// The response when it is a 2xx; else an error with the Worker's message.
fn success(mut response: Response<ureq::Body>) -> anyhow::Result<Response<ureq::Body>> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.body_mut().read_to_string().unwrap_or_default();
    anyhow::bail!("{}", error_message(status.as_u16(), &text))
}

/// `"HTTP 401: message (code)"` from the Worker's error JSON, or the raw body.
pub fn error_message(status: u16, body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error.and_then(|e| e.get("message").and_then(|m| m.as_str()).or_else(|| e.as_str()));
    let code = error.and_then(|e| e.get("code")).and_then(|c| c.as_str());
    match (message, code) {
        (Some(m), Some(c)) => format!("HTTP {status}: {m} ({c})"),
        (Some(m), None) => format!("HTTP {status}: {m}"),
        _ => {
            let body: String = body.trim().chars().take(300).collect();
            format!("HTTP {status}: {}", if body.is_empty() { "(empty body)" } else { &body })
        }
    }
}

fn json(response: Response<ureq::Body>) -> anyhow::Result<serde_json::Value> {
    let mut response = success(response)?;
    let text = response.body_mut().read_to_string().context("reading the answer")?;
    serde_json::from_str(&text)
        .with_context(|| format!("the answer is not JSON: {}", text.chars().take(300).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_the_worker_json() {
        let body = r#"{"error": {"code": "unauthorized", "message": "missing or wrong admin token"}}"#;
        assert_eq!(error_message(401, body), "HTTP 401: missing or wrong admin token (unauthorized)");
        assert_eq!(error_message(404, r#"{"error": "not found"}"#), "HTTP 404: not found");
        assert_eq!(error_message(502, "Bad Gateway\n"), "HTTP 502: Bad Gateway");
        assert_eq!(error_message(500, ""), "HTTP 500: (empty body)");
    }

    #[test]
    fn urls_must_be_http() {
        assert!(Admin::new("ftp://x", "t").is_err());
        assert!(Admin::new("http://x", "").is_err());
        assert_eq!(Admin::new("http://x/", "t").expect("valid").base(), "http://x");
    }
}
