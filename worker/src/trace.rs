//! Traceable answers: every list from `/recommend`, `GET /recommend/{id}` and `similar` carries a
//! `recommendation_id` (body and `X-Recommendation-Id`), the model version and the variant that
//! answered, and is counted as one impression on the server. The impression goes through the
//! `EVENTS` queue after the answer has been sent (`ctx.waitUntil`), so no request waits for it;
//! the queue consumer stores it in D1 (`impressions`, idempotent by the ID). A click, cart or
//! purchase event that names the ID is attributed to the answer (`events.recommendation_id`).

use edgerec_core::wire::RECOMMENDATION_ID_PREFIX;
use serde::{Deserialize, Serialize};
use worker::{Context, Env, console_error};

use crate::error::ApiError;
use crate::events;
use crate::store::{Served, Serving};

/// Which model of a canary experiment answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Current,
    Canary,
}

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

/// Queues the impression once the answer is out; a failure is logged, never the request's.
pub fn record(ctx: &Context, env: &Env, impression: Impression) {
    let env = env.clone();
    ctx.wait_until(async move {
        let body = match serde_json::to_string(&Impressions { impressions: vec![impression] }) {
            Ok(body) => body,
            Err(e) => return console_error!("impressions: cannot encode one: {e}"),
        };
        let sent = match env.queue(events::QUEUE) {
            Ok(queue) => queue.send(body).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            console_error!("impressions: not queued: {e}");
        }
    });
}
