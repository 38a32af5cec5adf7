//! Traceable answers: every list from `/recommend`, `GET /recommend/{id}` and `similar` carries a
//! `recommendation_id` (body and `X-Recommendation-Id`), the model version and the variant that
//! answered, and is counted as one impression on the server. No request waits for that: the
//! impressions of an isolate are gathered for [`FLUSH_MS`] and go to the `EVENTS` queue together,
//! sent by the first request of the group after its answer (`ctx.waitUntil`, which keeps the
//! isolate alive until the send is done, so none is left behind); one queue send per answer cost
//! a quarter of `/recommend`'s throughput under `wrangler dev` (docs/BENCHMARKS.md, section 13).
//! The queue consumer stores them in D1 (`impressions`, idempotent by the ID). A click, cart or
//! purchase event that names the ID is attributed to the answer (`events.recommendation_id`).

use std::cell::RefCell;
use std::time::Duration;

use edgerec_core::wire::RECOMMENDATION_ID_PREFIX;
use serde::{Deserialize, Serialize};
use worker::{Context, Delay, Env, MessageBuilder, QueueContentType, console_error};

use crate::error::ApiError;
use crate::events;
use crate::store::{Served, Serving};

pub use edgerec_core::wire::Variant;

/// What an answer is traced by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub recommendation_id: String,
    pub model_version: String,
    pub variant: Variant,
}

impl Trace {
    /// A new ID for an answer of `model`, one of `serving`'s models, at `now_ms`.
    pub fn new(serving: &Serving, model: &Served, now_ms: i64) -> Result<Self, ApiError> {
        let canary = serving.canary.as_ref().is_some_and(|(c, _)| std::ptr::eq(c.as_ref(), model));
        Ok(Self {
            recommendation_id: events::random_id(RECOMMENDATION_ID_PREFIX, now_ms)?,
            model_version: model.provenance.version.clone(),
            variant: if canary { Variant::Canary } else { Variant::Current },
        })
    }
}

/// One answer served: a row of `impressions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impression {
    #[serde(flatten)]
    pub trace: Trace,
    pub user_id: Option<String>,
    /// `recommend` or `similar`.
    pub route: String,
    /// Unix milliseconds.
    pub served_at: i64,
}

/// A queue message of impressions (the event batches are `{"received_at", "events"}`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Impressions {
    pub impressions: Vec<Impression>,
}

/// How long an isolate gathers impressions before one send.
pub const FLUSH_MS: u64 = 500;
/// Impressions per queue message (about 200 bytes each; a message takes 128 KB).
const PER_MESSAGE: usize = 400;
/// Messages per `send_batch` (the queue takes 100 and 256 KB a call).
const PER_SEND: usize = 2;

thread_local! {
    /// This isolate's impressions not sent yet (wasm is single-threaded).
    static PENDING: RefCell<Vec<Impression>> = const { RefCell::new(Vec::new()) };
}

/// Counts the answer: the first impression of a group schedules the group's send, after
/// [`FLUSH_MS`], in this request's `waitUntil`. A failure is logged, never the request's.
pub fn record(ctx: &Context, env: &Env, impression: Impression) {
    let first = PENDING.with_borrow_mut(|pending| {
        pending.push(impression);
        pending.len() == 1
    });
    if !first {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        Delay::from(Duration::from_millis(FLUSH_MS)).await;
        let group = PENDING.with_borrow_mut(std::mem::take);
        if let Err(e) = send(&env, group).await {
            console_error!("impressions: not queued: {e}");
        }
    });
}

async fn send(env: &Env, group: Vec<Impression>) -> worker::Result<()> {
    let queue = env.queue(events::QUEUE)?;
    let mut messages = Vec::new();
    for chunk in group.chunks(PER_MESSAGE) {
        let body = serde_json::to_string(&Impressions { impressions: chunk.to_vec() })
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        messages.push(MessageBuilder::new(body).content_type(QueueContentType::Text).build());
    }
    while !messages.is_empty() {
        let rest = messages.split_off(messages.len().min(PER_SEND));
        queue.send_batch(std::mem::replace(&mut messages, rest)).await?;
    }
    Ok(())
}
