//! EdgeRec's Cloudflare Worker: the seed-compatible recommendation API at the edge.
//!
//! `lib.rs` only wires things together: `router` matches routes and methods, one module per
//! endpoint family answers, `store` holds the models (swapped when the R2 pointer moves), and
//! `config` the deployment's vars, read once per isolate. The queue consumer of `events`
//! runs in the same Worker.

mod auth;
mod catalogue;
mod config;
mod cors;
mod docs;
mod erasure;
mod error;
mod events;
mod health;
mod http;
mod json;
mod metrics;
mod model_admin;
mod recommend;
mod router;
mod similar;
#[cfg(test)]
mod snapshots;
mod store;
mod timing;
mod trace;
mod users;
mod users_kv;

use worker::{Context, Env, MessageBatch, event, web_sys};

/// Takes and returns the raw `web_sys` types: `worker::Request` would read the method, URL,
/// headers and `cf` object across the JavaScript boundary up front, and `worker::Response`
/// would build two extra `Headers` objects, on every request.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    Ok(router::handle(http::Incoming::new(req), &env, &ctx).await?)
}

/// The consumer of the `EVENTS` queue: writes the events to D1. Always `Ok`: failures are
/// retried per message (see [`events::consume`]).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    events::consume(batch, &env).await;
    Ok(())
}
