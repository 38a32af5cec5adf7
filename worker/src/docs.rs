//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs` (a self-contained HTML page, no CDN).

use std::borrow::Cow;

use crate::http::Reply;

const OPENAPI: &str = include_str!("openapi.json");
const PAGE: &str = include_str!("docs.html");

pub fn openapi() -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: Cow::Borrowed(OPENAPI),
        cache_control: "public, max-age=3600",
        work: None,
        headers: Vec::new(),
    }
}

pub fn page() -> Reply {
    Reply {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: Cow::Borrowed(PAGE),
        cache_control: "public, max-age=3600",
        work: None,
        headers: Vec::new(),
    }
}
