//! The queue message format: a slice of one accepted batch, as JSON text.
//!
//! A batch is split into messages of at most [`MAX_EVENTS_PER_MESSAGE`] events and
//! [`MAX_MESSAGE_BYTES`], all sent with one `send_batch` call, so a batch is enqueued whole or
//! not at all. The queue takes at most 100 messages of 128 KB each and 256 KB in all per call;
//! a batch whose messages would exceed [`MAX_BATCH_BYTES`] is refused (413) before anything is
//! sent. The body is sent as text, so its size is exactly the JSON's byte length.

use serde::{Deserialize, Serialize};
use serde_json::value::{RawValue, to_raw_value};

use super::body::Event;
use crate::error::{ApiError, ErrorCode};

/// Most events in one queue message.
pub const MAX_EVENTS_PER_MESSAGE: usize = 100;
/// Largest message body (the queue's limit is 128 KB).
pub const MAX_MESSAGE_BYTES: usize = 120_000;
/// Largest total of one `send_batch` call (the queue's limit is 256 KB).
pub const MAX_BATCH_BYTES: usize = 250_000;

/// One queue message: `Message<Vec<Event>>` as read back; packed with each event's JSON
/// encoded once, as `Message<&[Box<RawValue>]>`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Message<E> {
    /// When the Worker accepted the batch, Unix milliseconds.
    pub received_at: i64,
    pub events: E,
}

/// Splits a validated batch into message bodies, in order. Each event is encoded once; its
/// encoded size decides where a message ends.
pub fn pack(events: &[Event], received_at: i64) -> Result<Vec<String>, ApiError> {
    let internal = |e: serde_json::Error| {
        ApiError::new(ErrorCode::Internal, format!("cannot encode a queue message: {e}"))
    };
    let encoded = events.iter().map(to_raw_value).collect::<Result<Vec<_>, _>>().map_err(internal)?;
    let encode =
        |events: &[Box<RawValue>]| serde_json::to_string(&Message { received_at, events }).map_err(internal);
    let mut bodies = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, event) in encoded.iter().enumerate() {
        let size = event.get().len() + 1;
        if i > start && (i - start == MAX_EVENTS_PER_MESSAGE || bytes + size > MAX_MESSAGE_BYTES) {
            bodies.push(encode(&encoded[start..i])?);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < encoded.len() {
        bodies.push(encode(&encoded[start..])?);
    }
    let total: usize = bodies.iter().map(String::len).sum();
    if total > MAX_BATCH_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the batch takes {total} bytes in the queue, over its limit of {MAX_BATCH_BYTES}; send fewer or shorter events per request"
            ),
        ));
    }
    Ok(bodies)
}

/// Reads a message body back.
pub fn decode(body: &str) -> Result<Message<Vec<Event>>, serde_json::Error> {
    serde_json::from_str(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::events::body::Behavior;

    fn event(i: usize, id_len: usize) -> Event {
        Event {
            event_id: format!("e{i}"),
            user_id: "u".repeat(id_len),
            item_id: format!("I{i}"),
            behavior: Some(Behavior::Click),
            rating: i.is_multiple_of(2).then_some(4.5),
            timestamp: 1_733_100_000 + i as i64,
            recommendation_id: i.is_multiple_of(3).then(|| format!("rec-{i:032x}")),
            position: i.is_multiple_of(3).then_some(1 + i as u32 % 10),
        }
    }

    #[test]
    fn messages_hold_at_most_100_events_in_order_and_round_trip() {
        let events: Vec<Event> = (0..250).map(|i| event(i, 8)).collect();
        let bodies = pack(&events, 1_733_100_000_123).unwrap();
        assert_eq!(bodies.len(), 3);
        let decoded: Vec<Message<Vec<Event>>> = bodies.iter().map(|b| decode(b).unwrap()).collect();
        assert_eq!(decoded.iter().map(|m| m.events.len()).collect::<Vec<_>>(), [100, 100, 50]);
        assert!(decoded.iter().all(|m| m.received_at == 1_733_100_000_123));
        let back: Vec<Event> = decoded.into_iter().flat_map(|m| m.events).collect();
        assert_eq!(back, events);
    }

    #[test]
    fn messages_stay_under_the_queues_byte_limits() {
        // Events of about 740 bytes: 100 of them are over 120 KB, 350 over 250 KB.
        let events: Vec<Event> = (0..350).map(|i| event(i, 256).with_long_item()).collect();
        let bodies = pack(&events[..200], 0).unwrap();
        assert!(bodies.len() >= 2, "{}", bodies.len());
        assert!(bodies.iter().all(|b| b.len() <= MAX_MESSAGE_BYTES));
        assert_eq!(bodies.iter().map(|b| decode(b).unwrap().events.len()).sum::<usize>(), 200);
        let e = pack(&events, 0).unwrap_err();
        assert_eq!((e.status(), e.code.as_str()), (413, "payload_too_large"));
    }

    #[test]
    fn one_event_is_one_message() {
        assert_eq!(pack(&[event(0, 1)], 5).unwrap().len(), 1);
    }

    impl Event {
        fn with_long_item(mut self) -> Self {
            self.item_id = "i".repeat(256);
            self.event_id = format!("{:x<128}", self.event_id);
            self
        }
    }
}
