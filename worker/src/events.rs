//! The event path: `POST /events` validates a batch and sends it to the queue `EVENTS`; the
//! queue consumer (same Worker) writes each message to D1; `GET /admin/events` pages the log
//! out as NDJSON. None of it touches the model, so events work with no model loaded.

mod body;
mod d1;
mod message;

use std::borrow::Cow;

use serde::Serialize;
use worker::{Env, MessageBatch, MessageBuilder, MessageExt, QueueContentType, console_error};

use crate::error::{ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::{timing, trace};

/// The queue binding.
pub const QUEUE: &str = "EVENTS";
/// `GET /admin/events`: the largest and the default page.
const MAX_PAGE: usize = 5000;
const DEFAULT_PAGE: usize = 1000;
/// The largest cursor: JavaScript numbers are exact up to 2^53 - 1 (and `usize` on wasm32 is
/// 32 bits, which bounds it further there).
const MAX_CURSOR: u64 = (1 << 53) - 1;

#[derive(Serialize)]
struct Accepted<'a> {
    accepted: usize,
    event_ids: Vec<&'a str>,
}

/// `POST /events`: 202 once the whole batch is in the queue, or an error and nothing enqueued.
pub async fn post(req: &Incoming, env: &Env) -> Result<Reply, ApiError> {
    let bytes = req.json_body(body::MAX_BODY_BYTES).await?;
    let received_at = timing::now_ms() as i64;
    let events = body::parse(&bytes, received_at, || random_id("ev-", received_at))?;
    let mut messages: Vec<_> = message::pack(&events, received_at)?
        .into_iter()
        .map(|text| MessageBuilder::new(text).content_type(QueueContentType::Text).build())
        .collect();
    let unavailable = |e: worker::Error| {
        ApiError::new(
            ErrorCode::QueueUnavailable,
            format!("cannot enqueue the events, nothing was accepted: {e}"),
        )
    };
    let queue = env.queue(QUEUE).map_err(unavailable)?;
    // One message (a batch of up to 100 short events) goes out with `send`, several with one
    // `send_batch`; both are all or nothing. Under `wrangler dev` a `send` costs the local queue
    // less than a batch of one.
    match messages.pop() {
        Some(only) if messages.is_empty() => queue.send(only).await,
        Some(last) => {
            messages.push(last);
            queue.send_batch(messages).await
        }
        None => Ok(()),
    }
    .map_err(unavailable)?;
    let accepted =
        Accepted { accepted: events.len(), event_ids: events.iter().map(|e| e.event_id.as_str()).collect() };
    Ok(Reply::json(&accepted)?.with_status(202))
}

/// `GET /admin/events?after=CURSOR&limit=N` (the caller checks the admin token): NDJSON, oldest
/// first, with `X-Next-Cursor`.
pub async fn list(req: &Incoming, env: &Env) -> Result<Reply, ApiError> {
    let query = req.query_pairs()?;
    let max_cursor = usize::try_from(MAX_CURSOR).unwrap_or(usize::MAX);
    let after = http::int_param(&query, "after", 0, 0, max_cursor)?;
    let limit = http::int_param(&query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)?;
    let unavailable = |e: worker::Error| {
        ApiError::new(ErrorCode::StorageUnavailable, format!("cannot read the event log: {e}"))
    };
    let db = d1::database(env).map_err(unavailable)?;
    let rows = d1::page(&db, after as u64, limit).await.map_err(unavailable)?;
    let mut body = String::with_capacity(rows.len() * 200);
    for row in &rows {
        let line = serde_json::to_string(row)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot encode an event: {e}")))?;
        body.push_str(&line);
        body.push('\n');
    }
    let next = rows.last().map_or(after as u64, |row| row.seq);
    Ok(Reply {
        status: 200,
        content_type: "application/x-ndjson",
        body: Cow::Owned(body),
        cache_control: "no-store",
        work: Some(format!("{} events", rows.len())),
        headers: vec![("x-next-cursor", next.to_string())],
    })
}

/// The queue consumer: each message's events go to D1 in one transaction; the message is acked
/// when they are stored and retried otherwise (after `max_retries` the queue moves it to the
/// dead-letter queue). Never fails as a whole: an error returned from the handler makes the
/// queue retry the whole delivery, messages already acked included, so every failure is handled
/// here, message by message (the D1 write is idempotent by `event_id` either way).
pub async fn consume(batch: MessageBatch<String>, env: &Env) {
    let db = match d1::database(env) {
        Ok(db) => db,
        Err(e) => {
            console_error!("events: no D1 binding `{}`: {e}; retrying the batch", d1::BINDING);
            batch.retry_all();
            return;
        }
    };
    // Every decodable message of the delivery goes to D1 in one transaction; a message that
    // cannot be decoded is retried on its own (and ends in the dead-letter queue).
    let messages: Vec<_> = batch.raw_iter().collect();
    let mut decoded = Vec::with_capacity(messages.len());
    let mut impressions = Vec::new();
    for msg in &messages {
        match msg.body().as_string().map(|text| (message::decode(&text), text)) {
            Some((Ok(m), _)) => decoded.push((msg, m)),
            Some((Err(e), text)) => match serde_json::from_str::<trace::Impressions>(&text) {
                Ok(m) => impressions.push((msg, m.impressions)),
                Err(_) => {
                    console_error!("events: message {} is not an event batch: {e}; retrying", msg.id());
                    msg.retry();
                }
            },
            None => {
                console_error!("events: message {} is not text; retrying", msg.id());
                msg.retry();
            }
        }
    }
    let groups: Vec<(&[body::Event], i64)> =
        decoded.iter().map(|(_, m)| (&m.events[..], m.received_at)).collect();
    let served: Vec<&trace::Impression> = impressions.iter().flat_map(|(_, list)| list).collect();
    let handled = decoded.iter().map(|(msg, _)| *msg).chain(impressions.iter().map(|(msg, _)| *msg));
    match d1::insert(&db, &groups, &served, timing::now_ms() as i64).await {
        Ok(()) => handled.for_each(|msg| msg.ack()),
        Err(e) => {
            // Nothing was stored (one transaction); redelivery is safe (idempotent by event_id
            // and recommendation_id).
            console_error!(
                "events: D1 write of {} messages failed: {e}; retrying them",
                decoded.len() + impressions.len()
            );
            handled.for_each(|msg| msg.retry());
        }
    }
}

/// `prefix` (`ev-` for events, `rec-` for answers) and a UUIDv7 as 32 hex digits: `at_ms`, then 74 random
/// bits from the platform's `crypto.getRandomValues` (through [`RandomPool`]). Time-ordered IDs
/// land at the end of the `event_id` index in D1 (and MySQL) instead of on a random page of it,
/// so each write touches few pages.
pub fn random_id(prefix: &str, at_ms: i64) -> Result<String, ApiError> {
    let random = POOL.with_borrow_mut(RandomPool::take)?;
    let uuid =
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(at_ms).unwrap_or(0), &random).into_uuid();
    Ok(format!("{prefix}{}", uuid.simple()))
}

/// Random bytes per event ID (a UUIDv7 holds 74 random bits).
const ID_RANDOM_BYTES: usize = 10;

thread_local! {
    static POOL: std::cell::RefCell<RandomPool> = const { std::cell::RefCell::new(RandomPool::new()) };
}

/// Random bytes for event IDs, drawn from the platform's CSPRNG [`RandomPool::DRAW`] bytes at a
/// time and used up across the isolate's requests: one call across the JavaScript boundary per
/// 400 IDs instead of one per event (a call costs as much as validating a few events). Each
/// byte is used once. The bits only make IDs unique, they guard no secret, so holding them in
/// memory between requests is safe.
struct RandomPool {
    bytes: Vec<u8>,
    next: usize,
}

impl RandomPool {
    const DRAW: usize = 4000;

    const fn new() -> Self {
        Self { bytes: Vec::new(), next: 0 }
    }

    fn take(&mut self) -> Result<[u8; ID_RANDOM_BYTES], ApiError> {
        if self.next + ID_RANDOM_BYTES > self.bytes.len() {
            let mut fresh = vec![0u8; Self::DRAW];
            getrandom::fill(&mut fresh).map_err(|e| {
                ApiError::new(ErrorCode::Internal, format!("no randomness for an event ID: {e}"))
            })?;
            self.bytes = fresh;
            self.next = 0;
        }
        let mut out = [0u8; ID_RANDOM_BYTES];
        out.copy_from_slice(&self.bytes[self.next..self.next + ID_RANDOM_BYTES]);
        self.next += ID_RANDOM_BYTES;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{RandomPool, random_id};

    #[test]
    fn random_ids_are_ev_and_32_hex_digits_and_differ() {
        let a = random_id("ev-", 1_764_633_600_000).expect("randomness");
        let b = random_id("ev-", 1_764_633_600_000).expect("randomness");
        assert_eq!(a.len(), 35);
        assert!(
            a.starts_with("ev-") && a[3..].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        let uuid = uuid::Uuid::parse_str(&a[3..]).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 7);
        let (seconds, nanos) = uuid.get_timestamp().expect("a time").to_unix();
        assert_eq!((seconds, nanos), (1_764_633_600, 0));
    }

    #[test]
    fn ids_stay_distinct_across_draws() {
        let n = RandomPool::DRAW / super::ID_RANDOM_BYTES * 3 + 5;
        let all: HashSet<String> =
            (0..n).map(|_| random_id("ev-", 1_764_633_600_000).expect("randomness")).collect();
        assert_eq!(all.len(), n);
    }
}
