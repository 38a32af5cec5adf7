//! The Worker's stored events (one NDJSON line of `GET /admin/events` each) and their mapping to
//! a row of the trainer's interactions table.
//!
//! # The mapping
//!
//! The interactions table holds `rating TINYINT NOT NULL` (1..=5) and `behavior ENUM NOT NULL`,
//! while an event carries a behaviour, a rating in (0, 5], or both. The rules, consistent with
//! the demo generator and the dataset rules (ratings 1..=5, behaviour weights for ranking):
//!
//! - **rating given**: rounded to the nearest integer (halves away from zero) and clamped to
//!   1..=5, as the generator turns its rating signal into stars; so 0.2 is stored as 1, 4.5 as 5.
//! - **rating missing**: the rating the behaviour implies under the generator's
//!   [`BEHAVIOR_TABLE`]: `E[rating | behaviour]` with the ratings equally likely, rounded
//!   (view 3, click 3, cart 4, purchase 4). See [`implied_rating`].
//! - **behaviour missing**: `view`, the weakest signal; the default `--behavior-weights` give
//!   it weight 1, the same weight as a row without a behaviour.
//! - **timestamp**: Unix seconds, stored as a UTC `DATETIME`.
//! - **IDs and `event_id`**: stored unchanged; never trimmed or truncated.

pub use edgerec_core::wire::{MAX_EVENT_ID_BYTES, MAX_ID_BYTES, MAX_RATING, StoredEvent};

use crate::dataset::Behavior;
use crate::synthetic::generator::BEHAVIOR_TABLE;

/// Largest timestamp a `DATETIME` holds: 9999-12-31 23:59:59 UTC.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// A row of the interactions table, ready to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The event's position in the Worker's log (the cursor after it).
    pub seq: u64,
    /// Idempotency key (the table's UNIQUE `event_id`).
    pub event_id: String,
    /// User ID.
    pub user_id: String,
    /// Item ID.
    pub item_id: String,
    /// Stars, 1..=5.
    pub rating: u8,
    /// Behaviour.
    pub behavior: Behavior,
    /// Unix seconds, 0..=[`MAX_TIMESTAMP`].
    pub timestamp: i64,
}

/// The rating a behaviour implies when an event has none: `E[rating | behaviour]` under the
/// generator's [`BEHAVIOR_TABLE`] with the five ratings equally likely, rounded.
pub fn implied_rating(behavior: Behavior) -> u8 {
    let kind = behavior as usize;
    let (mut weight, mut sum) = (0.0, 0.0);
    for (r, probs) in BEHAVIOR_TABLE.iter().enumerate() {
        weight += probs[kind];
        sum += probs[kind] * (r + 1) as f64;
    }
    (sum / weight).round().clamp(1.0, 5.0) as u8
}

/// A stored rating in (0, 5] as stars: rounded, clamped to 1..=5.
pub fn stars(rating: f64) -> u8 {
    rating.round().clamp(1.0, 5.0) as u8
}

fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(format!("`{field}` is {} bytes, more than {MAX_ID_BYTES}", id.len()));
    }
    Ok(())
}

/// The row a stored event becomes, or why it cannot be one.
pub fn to_row(event: &StoredEvent) -> Result<Row, String> {
    let printable = event.event_id.bytes().all(|b| b.is_ascii_graphic());
    if event.event_id.is_empty() || event.event_id.len() > MAX_EVENT_ID_BYTES || !printable {
        return Err(format!(
            "`event_id` {:?} is not 1..={MAX_EVENT_ID_BYTES} bytes of printable ASCII",
            event.event_id
        ));
    }
    check_id("user_id", &event.user_id)?;
    check_id("item_id", &event.item_id)?;
    let behavior = event.behavior;
    let rating = match event.rating {
        None => None,
        Some(r) if r.is_finite() && r > 0.0 && r <= MAX_RATING => Some(stars(r)),
        Some(r) => return Err(format!("`rating` {r} is not in (0, {MAX_RATING}]")),
    };
    let (rating, behavior) = match (rating, behavior) {
        (Some(r), b) => (r, b.unwrap_or(Behavior::View)),
        (None, Some(b)) => (implied_rating(b), b),
        (None, None) => return Err("neither `behavior` nor `rating` is set".to_owned()),
    };
    if !(0..=MAX_TIMESTAMP).contains(&event.timestamp) {
        return Err(format!("`timestamp` {} is not in 0..={MAX_TIMESTAMP}", event.timestamp));
    }
    Ok(Row {
        seq: event.seq,
        event_id: event.event_id.clone(),
        user_id: event.user_id.clone(),
        item_id: event.item_id.clone(),
        rating,
        behavior,
        timestamp: event.timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(behavior: Option<&str>, rating: Option<f64>) -> StoredEvent {
        StoredEvent {
            seq: 7,
            event_id: "ev-1".into(),
            user_id: "U1".into(),
            item_id: "TECH1".into(),
            behavior: behavior.map(|b| Behavior::from_name(b).expect("a wire name")),
            rating,
            timestamp: 1_767_225_600,
            received_at: 1_767_225_600_123,
            stored_at: 1_767_225_600_456,
            recommendation_id: None,
            position: None,
        }
    }

    #[test]
    fn implied_ratings_follow_the_generator_table() {
        let implied: Vec<u8> = [Behavior::View, Behavior::Click, Behavior::Cart, Behavior::Purchase]
            .into_iter()
            .map(implied_rating)
            .collect();
        assert_eq!(implied, [3, 3, 4, 4]);
    }

    #[test]
    fn ratings_round_to_stars_within_one_to_five() {
        let cases = [(0.2, 1), (0.5, 1), (1.0, 1), (1.49, 1), (1.5, 2), (3.7, 4), (4.5, 5), (5.0, 5)];
        for (rating, want) in cases {
            let row = to_row(&event(None, Some(rating))).expect("valid");
            assert_eq!((row.rating, row.behavior), (want, Behavior::View), "{rating}");
        }
    }

    #[test]
    fn behaviour_and_rating_map_as_documented() {
        let row = to_row(&event(Some("purchase"), None)).expect("valid");
        assert_eq!((row.rating, row.behavior), (4, Behavior::Purchase));
        let row = to_row(&event(Some("view"), Some(2.0))).expect("valid");
        assert_eq!((row.rating, row.behavior), (2, Behavior::View));
        assert_eq!(row.timestamp, 1_767_225_600);
        assert_eq!(row.seq, 7);
    }

    #[test]
    fn events_the_table_cannot_take_are_rejected_with_the_field() {
        let bad = |e: StoredEvent, needle: &str| {
            let err = to_row(&e).expect_err("invalid");
            assert!(err.contains(needle), "{err}");
        };
        bad(event(None, None), "neither");
        bad(event(None, Some(0.0)), "`rating` 0");
        bad(event(None, Some(5.5)), "`rating` 5.5");
        bad(StoredEvent { timestamp: -1, ..event(Some("view"), None) }, "`timestamp` -1");
        bad(StoredEvent { timestamp: MAX_TIMESTAMP + 1, ..event(Some("view"), None) }, "`timestamp`");
        bad(StoredEvent { user_id: String::new(), ..event(Some("view"), None) }, "`user_id` is empty");
        bad(StoredEvent { item_id: "é".repeat(129), ..event(Some("view"), None) }, "`item_id` is 258 bytes");
        bad(StoredEvent { event_id: "has space".into(), ..event(Some("view"), None) }, "`event_id`");
        bad(StoredEvent { event_id: "e".repeat(129), ..event(Some("view"), None) }, "`event_id`");
        // 256 bytes of UTF-8 is fine: the Worker accepts it, so the trainer must too.
        let long = StoredEvent { user_id: "é".repeat(128), ..event(Some("view"), None) };
        assert_eq!(to_row(&long).expect("valid").user_id.len(), 256);
    }
}
