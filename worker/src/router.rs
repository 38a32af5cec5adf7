//! Routes: matches the raw method and path, then hands the request to its endpoint module.
//!
//! The method is matched as the raw string from the request, because `worker::Method` turns
//! unknown methods into `GET`. Every answer gets CORS and `Server-Timing` headers here.

use worker::{Env, Headers, Request, Response};

use crate::cors::Policy;
use crate::error::ApiError;
use crate::http::{self, Reply};
use crate::{docs, health, recommend, similar, store, timing, users};

/// The API's routes. Anything else falls through to a JSON 404 (static assets are answered by
/// the platform before the Worker runs, except for these paths: `run_worker_first`).
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Health,
    Recommend,
    RecommendUser(String),
    Users,
    Similar(String),
    OpenApi,
    Docs,
}

impl Route {
    fn parse(path: &str) -> Result<Option<Self>, ApiError> {
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        Ok(Some(match segments.as_slice() {
            ["health"] => Self::Health,
            ["recommend"] => Self::Recommend,
            ["recommend", user] if !user.is_empty() => Self::RecommendUser(http::decode_segment(user)?),
            ["users"] => Self::Users,
            ["items", item, "similar"] if !item.is_empty() => Self::Similar(http::decode_segment(item)?),
            ["openapi.json"] => Self::OpenApi,
            ["docs"] => Self::Docs,
            _ => return Ok(None),
        }))
    }

    /// The methods the route answers (besides `OPTIONS`), as an `Allow` list.
    fn methods(&self) -> &'static str {
        match self {
            Self::Recommend => "POST",
            _ => "GET, HEAD",
        }
    }

    fn allows(&self, method: &str) -> bool {
        match self {
            Self::Recommend => method == "POST",
            _ => method == "GET" || method == "HEAD",
        }
    }
}

enum Outcome {
    Reply(Reply),
    Error(ApiError, Option<&'static str>),
    Preflight(&'static str),
}

/// Answers one request. Never fails: every error becomes a JSON error response.
pub async fn handle(mut req: Request, env: &Env) -> Response {
    let method = req.inner().method();
    let origin = http::header(&req, "origin");
    let cors = Policy::from_env(env);
    let mut compute_start = timing::now_ms();
    let outcome = dispatch(&mut req, env, &method, &mut compute_start).await;
    let compute_end = timing::now_ms();

    let headers = Headers::new();
    let (status, content_type, body, cache_control, work) = match outcome {
        Outcome::Reply(r) => (r.status, r.content_type, r.body, r.cache_control, r.work),
        Outcome::Error(e, allow) => {
            if let Some(allow) = allow {
                headers.set("allow", &format!("{allow}, OPTIONS")).ok();
            }
            if e.status == 401 {
                headers.set("www-authenticate", "Bearer").ok();
            }
            (e.status, "application/json", e.body(), "no-store", None)
        }
        Outcome::Preflight(methods) => {
            cors.apply_preflight(&headers, origin.as_deref(), methods);
            headers.set("allow", &format!("{methods}, OPTIONS")).ok();
            (204, "", String::new(), "no-store", None)
        }
    };
    if status != 204 {
        cors.apply(&headers, origin.as_deref());
        headers.set("content-type", content_type).ok();
    }
    headers.set("cache-control", cache_control).ok();
    headers.set("x-content-type-options", "nosniff").ok();
    headers.set("server-timing", &timing::header(compute_start, compute_end, work.as_deref())).ok();
    let builder = Response::builder().with_status(status).with_headers(headers);
    if status == 204 { builder.empty() } else { builder.fixed(body.into_bytes()) }
}

async fn dispatch(req: &mut Request, env: &Env, method: &str, compute_start: &mut f64) -> Outcome {
    let path = req.path();
    let route = match Route::parse(&path) {
        Ok(Some(route)) => route,
        Ok(None) => return Outcome::Error(ApiError::not_found(format!("no route for `{path}`")), None),
        Err(e) => return Outcome::Error(e, None),
    };
    if method == "OPTIONS" {
        if let Some(origin) = http::header(req, "origin")
            && Policy::from_env(env).allow(Some(&origin)).is_none()
        {
            let e = ApiError::new(403, "origin_not_allowed", format!("origin `{origin}` is not allowed"));
            return Outcome::Error(e, None);
        }
        return Outcome::Preflight(route.methods());
    }
    if !route.allows(method) {
        let e = ApiError::new(
            405,
            "method_not_allowed",
            format!("`{method}` is not allowed on `{path}`; use {}", route.methods()),
        );
        return Outcome::Error(e, Some(route.methods()));
    }
    match answer(req, env, route, compute_start).await {
        Ok(reply) => Outcome::Reply(reply),
        Err(e) => Outcome::Error(e, None),
    }
}

async fn answer(
    req: &mut Request,
    env: &Env,
    route: Route,
    compute_start: &mut f64,
) -> Result<Reply, ApiError> {
    match route {
        Route::OpenApi => return Ok(docs::openapi()),
        Route::Docs => return Ok(docs::page()),
        Route::Users => http::check_api_key(req, env)?,
        _ => {}
    }
    let status = store::get(env).await;
    if route == Route::Health {
        *compute_start = timing::now_ms();
        return health::get(&status);
    }
    let ready = store::require(&status)?;
    let query = http::query_pairs(req);
    let body = if route == Route::Recommend { Some(http::read_json_body(req).await?) } else { None };
    *compute_start = timing::now_ms();
    match route {
        Route::Recommend => recommend::post(ready, body.as_deref().unwrap_or_default()),
        Route::RecommendUser(user) => recommend::get(ready, &user, &query),
        Route::Users => users::get(ready, &query),
        Route::Similar(item) => similar::get(ready, &item, &query),
        Route::Health | Route::OpenApi | Route::Docs => Err(ApiError::not_found("no such route")),
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn routes_match_exact_paths_only() {
        assert_eq!(Route::parse("/health"), Ok(Some(Route::Health)));
        assert_eq!(Route::parse("/recommend"), Ok(Some(Route::Recommend)));
        assert_eq!(Route::parse("/recommend/U%2010001"), Ok(Some(Route::RecommendUser("U 10001".into()))));
        assert_eq!(Route::parse("/items/TECH1001/similar"), Ok(Some(Route::Similar("TECH1001".into()))));
        for none in ["/", "/health/", "/recommend/", "/items//similar", "/items/A/similar/x", "/docs.html"] {
            assert_eq!(Route::parse(none), Ok(None), "{none}");
        }
        assert!(Route::parse("/recommend/%FF").is_err());
    }

    #[test]
    fn methods_are_matched_as_raw_strings() {
        assert!(Route::Recommend.allows("POST"));
        assert!(!Route::Recommend.allows("post"));
        assert!(!Route::Recommend.allows("GET"));
        assert!(Route::Health.allows("HEAD"));
        assert!(!Route::Health.allows("FOO"));
    }
}
