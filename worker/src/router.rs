//! Routes: matches the raw method and path, then hands the request to its endpoint module.
//!
//! The method is matched as the raw string from the request, because `worker::Method` turns
//! unknown methods into `GET`. Every answer gets CORS and `Server-Timing` headers here, and the
//! response is built here, straight as a `web_sys::Response` with its headers set on it: no
//! intermediate `Headers` objects, one JavaScript call per header.

use std::borrow::Cow;

use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsValue;
use worker::{Context, Env, web_sys};

use crate::config::{self, Config};
use crate::cors::HeaderList;
use crate::error::{ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::model_admin::{self, Action};
use crate::trace::{self, Impression, Trace};
use crate::{
    auth, catalogue, docs, erasure, events, health, metrics, recommend, similar, store, timing, users,
    users_kv,
};

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
    /// `/admin/model*` (admin token).
    Model(Action),
    Events,
    AdminEvents,
    /// `/admin/items`: item availability (admin token).
    AdminItems,
    /// `/admin/metrics`: online metrics per variant (admin token).
    AdminMetrics,
    /// `/admin/users/{id}`: deleting a user (admin token).
    AdminUser(String),
    /// `/admin/deletions`: the deleted users, for `trainer ingest` (admin token).
    AdminDeletions,
}

/// A table entry: the methods are written once, and `Allow` is derived from them.
macro_rules! spec {
    ($methods:literal, $guard:ident) => {
        Spec { methods: $methods, allow: concat!($methods, ", OPTIONS"), guard: Guard::$guard }
    };
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
            ["admin", "model"] => Self::Model(Action::Pointer),
            ["admin", "model", "activate"] => Self::Model(Action::Activate),
            ["admin", "model", "rollback"] => Self::Model(Action::Rollback),
            ["admin", "model", "promote"] => Self::Model(Action::Promote),
            ["events"] => Self::Events,
            ["admin", "events"] => Self::AdminEvents,
            ["admin", "items"] => Self::AdminItems,
            ["admin", "metrics"] => Self::AdminMetrics,
            // An empty ID reaches the handler, which answers 400 as for any bad ID.
            ["admin", "users", user] => Self::AdminUser(http::decode_segment(user)?),
            ["admin", "deletions"] => Self::AdminDeletions,
            _ => return Ok(None),
        }))
    }

    /// The route's entry in the table: its methods and its guard. `Allow`, the 405 answer and
    /// the auth check all come from here, so a new route cannot forget any of them.
    fn spec(&self) -> Spec {
        match self {
            Self::Health | Self::RecommendUser(_) | Self::Similar(_) | Self::OpenApi | Self::Docs => {
                spec!("GET, HEAD", Open)
            }
            Self::Recommend | Self::Events => spec!("POST", Open),
            Self::Users => spec!("GET, HEAD", ApiKey),
            Self::AdminEvents | Self::AdminMetrics | Self::AdminDeletions => spec!("GET, HEAD", Admin),
            Self::AdminUser(_) => spec!("DELETE", Admin),
            Self::AdminItems => spec!("GET, HEAD, PUT", Admin),
            Self::Model(Action::Pointer) => spec!("GET, HEAD, PUT", Admin),
            Self::Model(Action::Activate | Action::Rollback | Action::Promote) => spec!("POST", Admin),
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// Anyone (CORS still applies).
    Open,
    /// `Authorization: Bearer <API_KEY>` when an `API_KEY` secret is set.
    ApiKey,
    /// `Authorization: Bearer <ADMIN_TOKEN>`; without that secret the route does not exist.
    Admin,
}

impl Guard {
    fn check(self, req: &Incoming, env: &Env) -> Result<(), ApiError> {
        match self {
            Self::Open => Ok(()),
            Self::ApiKey => auth::api_key(req, env),
            Self::Admin => auth::admin(req, env),
        }
    }
}

/// A route's methods (matched as raw strings, besides `OPTIONS`) and its guard.
#[derive(Debug, Clone, Copy)]
struct Spec {
    /// Comma-separated, as in `Allow`.
    methods: &'static str,
    /// The `Allow` header: the methods and `OPTIONS`.
    allow: &'static str,
    guard: Guard,
}

impl Spec {
    fn allows(&self, method: &str) -> bool {
        self.methods.split(", ").any(|m| m == method)
    }
}

enum Outcome {
    Reply(Reply),
    /// An error, with the route's `Allow` list for a 405.
    Error(ApiError, Option<&'static str>),
    /// A preflight answer, with the route's `Allow` list.
    Preflight(&'static str),
}

/// Answers one request: every error becomes a JSON error response. Fails only if workerd
/// refuses to build the response itself.
pub async fn handle(req: Incoming, env: &Env, ctx: &Context) -> Result<web_sys::Response, JsValue> {
    let config = config::get(env);
    let origin = req.header("origin");
    let mut compute_start = timing::now_ms();
    let mut served = None;
    let outcome = dispatch(&req, env, ctx, config, origin.as_deref(), &mut compute_start, &mut served).await;
    let compute_end = timing::now_ms();

    let mut headers = HeaderList::with_capacity(8);
    let (status, content_type, body, cache_control, work) = match outcome {
        Outcome::Reply(r) => {
            headers.extend(r.headers.into_iter().map(|(name, value)| (name, Cow::Owned(value))));
            (r.status, r.content_type, r.body, r.cache_control, r.work)
        }
        Outcome::Error(e, allow) => {
            if let Some(allow) = allow {
                headers.push(("allow", Cow::Borrowed(allow)));
            }
            if e.status() == 401 {
                headers.push(("www-authenticate", Cow::Borrowed("Bearer")));
            }
            (e.status(), "application/json", Cow::Owned(e.body()), "no-store", None)
        }
        Outcome::Preflight(allow) => {
            config.cors.apply_preflight(&mut headers, origin.as_deref(), allow);
            headers.push(("allow", Cow::Borrowed(allow)));
            (204, "", Cow::Borrowed(""), "no-store", None)
        }
    };
    if status != 204 {
        config.cors.apply(&mut headers, origin.as_deref());
        headers.push(("content-type", Cow::Borrowed(content_type)));
    }
    headers.push(("cache-control", Cow::Borrowed(cache_control)));
    headers.push(("x-content-type-options", Cow::Borrowed("nosniff")));
    headers.push(("server-timing", Cow::Owned(timing::header(compute_start, compute_end, work.as_deref()))));
    // The model that answered; else the current one, when one is loaded.
    if let Some(version) = served.or_else(store::current_version) {
        headers.push(("x-model-version", Cow::Owned(version)));
    }
    respond(status, &headers, (status != 204).then_some(body.as_bytes()))
}

/// Builds the response: status, body (copied into a JavaScript buffer) and headers.
fn respond(status: u16, headers: &HeaderList, body: Option<&[u8]>) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    let body = body.map(Uint8Array::from);
    let response = web_sys::Response::new_with_opt_js_u8_array_and_init(body.as_ref(), &init)?;
    let target = response.headers();
    for (name, value) in headers {
        target.set(name, value)?;
    }
    Ok(response)
}

async fn dispatch(
    req: &Incoming,
    env: &Env,
    ctx: &Context,
    config: &Config,
    origin: Option<&str>,
    compute_start: &mut f64,
    served: &mut Option<String>,
) -> Outcome {
    let path = req.path();
    let route = match Route::parse(path) {
        Ok(Some(route)) => route,
        Ok(None) => return Outcome::Error(ApiError::not_found(format!("no route for `{path}`")), None),
        Err(e) => return Outcome::Error(e, None),
    };
    let method = req.method.as_str();
    let spec = route.spec();
    if method == "OPTIONS" {
        if let Some(origin) = origin
            && config.cors.allow(Some(origin)).is_none()
        {
            let e = ApiError::new(ErrorCode::OriginNotAllowed, format!("origin `{origin}` is not allowed"));
            return Outcome::Error(e, None);
        }
        return Outcome::Preflight(spec.allow);
    }
    if !spec.allows(method) {
        let e = ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("`{method}` is not allowed on `{path}`; use {}", spec.methods),
        );
        return Outcome::Error(e, Some(spec.allow));
    }
    if let Err(e) = spec.guard.check(req, env) {
        return Outcome::Error(e, None);
    }
    match answer(req, env, ctx, config, route, compute_start, served).await {
        Ok(reply) => Outcome::Reply(reply),
        Err(e) => Outcome::Error(e, None),
    }
}

async fn answer(
    req: &Incoming,
    env: &Env,
    ctx: &Context,
    config: &Config,
    route: Route,
    compute_start: &mut f64,
    served: &mut Option<String>,
) -> Result<Reply, ApiError> {
    // The guard has already passed (see `Route::spec`).
    match route {
        Route::OpenApi => return Ok(docs::openapi()),
        Route::Docs => return Ok(docs::page()),
        Route::Model(action) => return model_admin::answer(req, env, config, action).await,
        // Events never wait for, or depend on, the model.
        Route::Events => return events::post(req, env).await,
        Route::AdminEvents => return events::list(req, env).await,
        Route::AdminItems if req.method == "PUT" => return catalogue::put(req, env, config).await,
        Route::AdminItems => return catalogue::get(req, env).await,
        Route::AdminMetrics => return metrics::get(req, env).await,
        Route::AdminUser(user) => return erasure::delete(env, config, &user).await,
        Route::AdminDeletions => return erasure::list(req, env).await,
        _ => {}
    }
    let status = store::get(env, config).await;
    if route == Route::Health {
        // The availability state is read when due here too, so /health shows what answers use.
        let current = match &status {
            store::Status::Ready(serving) => {
                catalogue::unavailable(env, config, serving, &serving.current).await;
                Some(serving.current.provenance.version.as_str())
            }
            store::Status::Unavailable(_) => None,
        };
        *compute_start = timing::now_ms();
        return health::get(&status, &store::report(config), &catalogue::report(config, current));
    }
    let serving = store::require(&status)?;
    // Until a model is picked for the request's user, errors carry the current version.
    *served = Some(serving.current.provenance.version.clone());
    let mut pick = |user: Option<&str>| {
        let model = serving.pick(user);
        *served = Some(model.provenance.version.clone());
        model
    };
    if route == Route::Recommend {
        let query = recommend::parse(&req.json_body(http::MAX_BODY_BYTES).await?)?;
        let model = pick(query.user_id());
        let hidden = match query.user_id() {
            Some(user) => erasure::hidden(env, config, model.ready().model, user).await,
            None => false,
        };
        let record = match query.user_id() {
            Some(user) if !hidden => users_kv::lookup(env, config, model.ready(), user).await?,
            _ => None,
        };
        let unavailable = catalogue::unavailable(env, config, serving, model).await;
        let trace = Trace::new(serving, model, timing::now_ms() as i64)?;
        *compute_start = timing::now_ms();
        let user = query.user_id().map(str::to_owned);
        let reply =
            recommend::run(model.ready(), query, hidden, unavailable, record.as_deref(), Some(&trace))?;
        return Ok(traced(reply, trace, user, "recommend", ctx, env, config));
    }
    let query = req.query_pairs()?;
    match route {
        Route::RecommendUser(user) => {
            let mut opts = recommend::get_options(&user, &query)?;
            let model = pick(Some(&user));
            let hidden = erasure::hidden(env, config, model.ready().model, &user).await;
            let record =
                if hidden { None } else { users_kv::lookup(env, config, model.ready(), &user).await? };
            opts.unavailable = catalogue::unavailable(env, config, serving, model).await;
            let trace = Trace::new(serving, model, timing::now_ms() as i64)?;
            *compute_start = timing::now_ms();
            let reply = recommend::get(model.ready(), &user, hidden, &opts, record.as_deref(), Some(&trace))?;
            Ok(traced(reply, trace, Some(user), "recommend", ctx, env, config))
        }
        Route::Similar(item) => {
            let n = similar::check(&item, &query)?;
            let model = pick(None);
            let unavailable = catalogue::unavailable(env, config, serving, model).await;
            let trace = Trace::new(serving, model, timing::now_ms() as i64)?;
            *compute_start = timing::now_ms();
            let reply = similar::get(model.ready(), &item, n, unavailable.as_deref(), Some(&trace))?;
            Ok(traced(reply, trace, None, "similar", ctx, env, config))
        }
        Route::Users => {
            let ready = pick(None).ready();
            erasure::sync(env, config).await;
            *compute_start = timing::now_ms();
            erasure::with_hidden(ready.model, |hidden, count| users::get(ready, &query, hidden, count))
        }
        Route::Health
        | Route::Recommend
        | Route::OpenApi
        | Route::Docs
        | Route::Model(_)
        | Route::Events
        | Route::AdminEvents
        | Route::AdminItems
        | Route::AdminMetrics
        | Route::AdminUser(_)
        | Route::AdminDeletions => Err(ApiError::not_found("no such route")),
    }
}

/// The answer with its `X-Recommendation-Id`, counted as an impression after it is sent (when
/// `IMPRESSIONS` is on).
fn traced(
    mut reply: Reply,
    trace: Trace,
    user_id: Option<String>,
    route: &str,
    ctx: &Context,
    env: &Env,
    config: &Config,
) -> Reply {
    reply.headers.push(("x-recommendation-id", trace.recommendation_id.clone()));
    if config.impressions {
        let served_at = timing::now_ms() as i64;
        trace::record(ctx, env, Impression { trace, user_id, route: route.to_owned(), served_at });
    }
    reply
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
