//! The contracts the Worker and the trainer share on the wire, defined once here (both depend
//! on the core): the behaviours an event records, a stored event as `GET /admin/events` sends
//! it, the limits on IDs, event IDs and ratings, and `GET /admin/metrics`'s answer. The
//! Worker's OpenAPI document describes the same; its tests check the two agree.

use serde::{Deserialize, Serialize};

mod metrics;
mod pointer;
mod stats;

pub use metrics::{Comparison, MetricsReport, Rate, Variant, VariantMetrics};
pub use pointer::{Canary, Entry, MAX_HISTORY, Pointer, Published};
pub use stats::{difference, wilson};

/// Longest user or item ID, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 256;
/// Longest `event_id`, in bytes (printable ASCII).
pub const MAX_EVENT_ID_BYTES: usize = 128;
/// Highest rating an event may carry: ratings are in `(0, MAX_RATING]`.
pub const MAX_RATING: f64 = 5.0;

/// What every `recommendation_id` starts with; 32 lower-case hex digits (a UUIDv7) follow.
pub const RECOMMENDATION_ID_PREFIX: &str = "rec-";

/// Whether `id` has the shape of a `recommendation_id` the Worker issues: `rec-` and 32
/// lower-case hex digits.
pub fn is_recommendation_id(id: &str) -> bool {
    id.strip_prefix(RECOMMENDATION_ID_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// What a user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Looked at the item page.
    View,
    /// Clicked the item in a list.
    Click,
    /// Put it in the cart.
    Cart,
    /// Bought it.
    Purchase,
}

impl Behavior {
    /// Every behaviour, weakest first (the order of the discriminants).
    pub const ALL: [Self; 4] = [Self::View, Self::Click, Self::Cart, Self::Purchase];

    /// The name on the wire, in files and in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Click => "click",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
        }
    }

    /// The behaviour with exactly this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

/// One event as the Worker stores it and `GET /admin/events` sends it (one NDJSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in the event log: strictly increasing, never reused (the paging cursor).
    pub seq: u64,
    /// Idempotency key.
    pub event_id: String,
    /// User ID.
    pub user_id: String,
    /// Item ID.
    pub item_id: String,
    /// What the user did, if the event says.
    pub behavior: Option<Behavior>,
    /// A rating in `(0, MAX_RATING]`, if the event carries one.
    pub rating: Option<f64>,
    /// When it happened, Unix seconds.
    pub timestamp: i64,
    /// When the Worker accepted the batch, Unix milliseconds.
    pub received_at: i64,
    /// When it reached the log, Unix milliseconds.
    pub stored_at: i64,
    /// The answer this click, cart or purchase came from, as the client reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation_id: Option<String>,
    /// The item's rank in that answer (1 is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// One user deletion as the Worker records it and `GET /admin/deletions` sends it (one NDJSON
/// line): the user's events that happened at or before `deleted_at` are to be erased
/// everywhere, and a model whose training data had not seen the deletion applied must not
/// serve the user (see [`crate::names::META_ERASED_THROUGH`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDeletion {
    /// Position in the deletion log: strictly increasing, never reused (the paging cursor). A
    /// user deleted again gets a new `seq`, and the older line is gone.
    pub seq: u64,
    /// The deleted user.
    pub user_id: String,
    /// When the deletion was made, Unix milliseconds: events of the user whose `timestamp`
    /// (Unix seconds) is at most this, divided by 1000 and rounded down, are erased.
    pub deleted_at: i64,
}

impl StoredDeletion {
    /// The last event time (Unix seconds) the deletion covers.
    pub fn covers_until(&self) -> i64 {
        self.deleted_at.div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::Behavior;

    #[test]
    fn recommendation_ids_have_one_shape() {
        assert!(super::is_recommendation_id("rec-0190f5c2a1b27c3d8e9f00112233aabb"));
        for bad in [
            "rec-",
            "rec-0190F5C2A1B27C3D8E9F00112233AABB",
            "ev-0190f5c2a1b27c3d8e9f00112233aabb",
            "rec-0190f5c2a1b27c3d8e9f00112233aab",
        ] {
            assert!(!super::is_recommendation_id(bad), "{bad}");
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for b in Behavior::ALL {
            assert_eq!(Behavior::from_name(b.as_str()), Some(b));
            assert_eq!(serde_json::to_string(&b).ok(), Some(format!("\"{}\"", b.as_str())));
        }
        assert_eq!(Behavior::from_name("View"), None);
        assert_eq!(Behavior::ALL.map(|b| b as usize), [0, 1, 2, 3]);
    }
}
