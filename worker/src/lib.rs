//! EdgeRec's Cloudflare Worker: the seed-compatible recommendation API at the edge.
//!
//! `lib.rs` only wires things together: [`router`] matches routes and methods, one module per
//! endpoint family answers, [`store`] holds the models (swapped when the R2 pointer moves), and [`config`]
//! the deployment's vars, read once per isolate.

mod auth;
mod config;
mod cors;
mod docs;
mod error;
mod health;
mod http;
mod model_admin;
mod recommend;
mod router;
mod similar;
#[cfg(test)]
mod snapshots;
mod store;
mod timing;
mod users;

use worker::{Context, Env, event, web_sys};

/// Takes and returns the raw `web_sys` types: `worker::Request` would read the method, URL,
/// headers and `cf` object across the JavaScript boundary up front, and `worker::Response`
/// would build two extra `Headers` objects, on every request.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    Ok(router::handle(http::Incoming::new(req), &env).await?)
}
