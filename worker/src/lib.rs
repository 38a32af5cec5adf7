//! EdgeRec's Cloudflare Worker: the seed-compatible recommendation API at the edge.
//!
//! `lib.rs` only wires things together: [`router`] matches routes and methods, one module per
//! endpoint family answers, and [`store`] holds the model, parsed once per isolate.

mod cors;
mod docs;
mod error;
mod health;
mod http;
mod recommend;
mod router;
mod similar;
mod store;
mod timing;
mod users;

use worker::{Context, Env, Request, Response, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(router::handle(req, &env).await)
}
