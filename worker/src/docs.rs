//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs`: Swagger UI rendering `/openapi.json`, with
//! "Try it out" against this Worker.
//!
//! The page is small and loads everything from this origin, never from a CDN: Swagger UI's
//! bundle and CSS from `/docs/vendor/` (static assets that `scripts/setup.sh` copies from the
//! pinned `swagger-ui-dist` npm package into `web/docs/vendor/`) and its start-up script from
//! `/docs/swagger-init.js` (`web/docs/`). Its Content-Security-Policy keeps it that way.

use std::borrow::Cow;

use crate::http::Reply;

const OPENAPI: &str = include_str!("openapi.json");

/// Until Swagger UI renders into `#swagger-ui` (or if its assets are missing), the page says
/// where the description is.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EdgeRec API</title>
<link rel="icon" type="image/png" href="/docs/vendor/favicon-32x32.png">
<link rel="stylesheet" href="/docs/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui">
<p>EdgeRec API explorer (Swagger UI), loading. The machine-readable description is
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
</div>
<script src="/docs/vendor/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"#;

/// Same-origin scripts, styles, images and requests only; `data:` images for Swagger UI's icons
/// (in its CSS). No inline script or style.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
        headers: vec![("content-security-policy", PAGE_CSP.to_owned())],
    }
}
