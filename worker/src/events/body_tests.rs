//! `POST /events` body parsing, and its agreement with the OpenAPI document.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use serde_json::{Value, json};

use super::{Behavior, Event, MAX_EVENTS, MAX_FUTURE_SECONDS, parse};
use crate::error::ApiError;

/// 2026-12-02T00:40:00Z, in milliseconds.
const NOW_MS: i64 = 1_796_172_000_123;
const NOW_S: i64 = 1_796_172_000;

fn ids() -> impl FnMut() -> Result<String, ApiError> {
    let mut n = 0;
    move || {
        n += 1;
        Ok(format!("ev-test{n}"))
    }
}

fn ok(body: Value) -> Vec<Event> {
    parse(body.to_string().as_bytes(), NOW_MS, ids()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

fn err(body: &str) -> (u16, &'static str, String) {
    let e = parse(body.as_bytes(), NOW_MS, ids()).expect_err(body);
    (e.status(), e.code.as_str(), e.message)
}

/// The error for a batch of one good event followed by `bad`: a 400 naming `events[1]`.
fn bad_second(bad: Value) -> String {
    let body = json!({"events": [{"user_id": "U1", "item_id": "I1", "behavior": "view"}, bad]});
    let (status, code, message) = err(&body.to_string());
    assert_eq!((status, code), (400, "invalid_request"), "{bad}: {message}");
    assert!(message.contains("events[1]"), "{bad}: {message}");
    message
}

fn openapi() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).unwrap()
}

#[test]
fn a_full_event_is_normalised() {
    let events = ok(json!({"events": [
        {"user_id": "U1", "item_id": "I1", "behavior": "purchase", "rating": 4.5,
         "timestamp": "2024-12-01T10:00:00.9+01:00", "event_id": "shop-42"},
        {"user_id": "U2", "item_id": "I2", "rating": 1, "timestamp": 1_700_000_000},
    ]}));
    assert_eq!(
        events[0],
        Event {
            event_id: "shop-42".into(),
            user_id: "U1".into(),
            item_id: "I1".into(),
            behavior: Some(Behavior::Purchase),
            rating: Some(4.5),
            timestamp: 1_733_043_600,
            recommendation_id: None,
            position: None,
        }
    );
    assert_eq!((events[1].behavior, events[1].rating, events[1].timestamp), (None, Some(1.0), 1_700_000_000));
}

#[test]
fn defaults_are_the_accept_time_and_a_generated_id_in_order() {
    let events = ok(json!({"events": [
        {"user_id": "U1", "item_id": "I1", "behavior": "view"},
        {"user_id": "U1", "item_id": "I2", "behavior": "click", "event_id": "mine"},
        {"user_id": "U1", "item_id": "I3", "behavior": "cart"},
    ]}));
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["ev-test1", "mine", "ev-test2"]);
    assert!(events.iter().all(|e| e.timestamp == NOW_S));
}

#[test]
fn timestamps_at_the_bounds() {
    let at = |t: Value| {
        ok(json!({"events": [{"user_id": "U", "item_id": "I", "rating": 3, "timestamp": t}]}))[0].timestamp
    };
    assert_eq!(at(json!(0)), 0);
    assert_eq!(at(json!("1970-01-01T00:00:00Z")), 0);
    assert_eq!(at(json!(NOW_S + MAX_FUTURE_SECONDS)), NOW_S + MAX_FUTURE_SECONDS);
    for bad in [
        json!(-1),
        json!(NOW_S + MAX_FUTURE_SECONDS + 1),
        json!(u64::MAX),
        json!(1.5),
        json!(1e9),
        json!("yesterday"),
        json!("2024-12-01"),
        json!("2024-12-01 10:00:00"),
        json!("1969-12-31T23:59:59Z"),
        json!("2999-01-01T00:00:00Z"),
        json!(true),
        json!({}),
    ] {
        let message = bad_second(json!({"user_id": "U", "item_id": "I", "rating": 3, "timestamp": bad}));
        assert!(message.starts_with("events[1].timestamp: "), "{bad}: {message}");
    }
}

#[test]
fn behavior_and_rating() {
    for bad in [
        json!({"user_id": "U", "item_id": "I"}),
        json!({"user_id": "U", "item_id": "I", "behavior": "like"}),
        json!({"user_id": "U", "item_id": "I", "behavior": "View"}),
        json!({"user_id": "U", "item_id": "I", "behavior": 1}),
        json!({"user_id": "U", "item_id": "I", "rating": 0}),
        json!({"user_id": "U", "item_id": "I", "rating": -1}),
        json!({"user_id": "U", "item_id": "I", "rating": 5.01}),
        json!({"user_id": "U", "item_id": "I", "rating": f64::MAX}),
        json!({"user_id": "U", "item_id": "I", "rating": "5"}),
    ] {
        bad_second(bad);
    }
    let message = bad_second(json!({"user_id": "U", "item_id": "I", "behavior": "like"}));
    assert!(message.starts_with("events[1].behavior: unknown variant `like`"), "{message}");
    assert!(bad_second(json!({"user_id": "U", "item_id": "I"})).contains("`behavior`"));
}

#[test]
fn behavior_names_agree_with_serde() {
    let names = [Behavior::View, Behavior::Click, Behavior::Cart, Behavior::Purchase]
        .map(|b| serde_json::to_value(b).unwrap());
    let documented = openapi()["components"]["schemas"]["Event"]["properties"]["behavior"]["enum"].clone();
    assert_eq!(documented, json!(names));
    assert_eq!(documented, json!(["view", "click", "cart", "purchase"]));
}

#[test]
fn ids_and_fields() {
    for (bad, field) in [
        (json!({"item_id": "I", "rating": 3}), "user_id"),
        (json!({"user_id": "", "item_id": "I", "rating": 3}), "user_id"),
        (json!({"user_id": "U".repeat(257), "item_id": "I", "rating": 3}), "user_id"),
        (json!({"user_id": 7, "item_id": "I", "rating": 3}), "user_id"),
        (json!({"user_id": "U", "rating": 3}), "item_id"),
        (json!({"user_id": "U", "item_id": ["I"], "rating": 3}), "item_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "event_id": ""}), "event_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "event_id": "a b"}), "event_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "event_id": "é"}), "event_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "event_id": "x".repeat(129)}), "event_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "event_id": 12}), "event_id"),
        (json!({"user_id": "U", "item_id": "I", "rating": 3, "when": 12}), "when"),
    ] {
        let message = bad_second(bad.clone());
        assert!(message.contains(&format!("events[1].{field}")), "{bad}: {message}");
    }
    assert_eq!(
        ok(json!({"events": [{"user_id": "U", "item_id": "I", "rating": 3, "event_id": "x".repeat(128)}]}))
            .len(),
        1
    );
    for bad in [json!("U,I,view"), json!(["U", "I", "view"]), json!(null), json!(5)] {
        let message = bad_second(bad.clone());
        assert!(message.starts_with("events[1]: "), "{bad}: {message}");
    }
}

#[test]
fn null_is_rejected_for_every_field() {
    let fields: Vec<String> = openapi()["components"]["schemas"]["Event"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(fields.len(), 8);
    for field in fields {
        let mut event = json!({"user_id": "U", "item_id": "I", "behavior": "view", "rating": 3, "timestamp": 1, "event_id": "e"});
        event[&field] = Value::Null;
        let message = bad_second(event);
        assert!(message.starts_with(&format!("events[1].{field}: is null")), "{field}: {message}");
    }
}

#[test]
fn the_batch_itself() {
    let one = json!({"user_id": "U", "item_id": "I", "behavior": "view"});
    assert_eq!(ok(json!({"events": vec![one.clone(); MAX_EVENTS]})).len(), MAX_EVENTS);
    let (status, code, _) = err(&json!({"events": vec![one.clone(); MAX_EVENTS + 1]}).to_string());
    assert_eq!((status, code), (413, "payload_too_large"));
    for bad in [
        "{}",
        r#"{"events": []}"#,
        r#"{"events": null}"#,
        r#"{"events": {}}"#,
        r#"{"events": [], "more": 1}"#,
        r#"[{"user_id": "U", "item_id": "I", "behavior": "view"}]"#,
        "null",
    ] {
        assert_eq!(err(bad).0, 400, "{bad}");
    }
    assert_eq!(err(r#"{"events": [{"user_id": "U""#).1, "invalid_json");
}

#[test]
fn the_first_bad_event_is_named() {
    let good = json!({"user_id": "U", "item_id": "I", "behavior": "view"});
    let mut events = vec![good; 10];
    events[3]["rating"] = json!(9);
    events[7]["behavior"] = json!("like");
    let (_, _, message) = err(&json!({"events": events}).to_string());
    assert!(message.starts_with("events[3].rating: "), "{message}");
}

#[test]
fn the_openapi_schema_lists_exactly_the_accepted_fields() {
    let message = bad_second(json!({"user_id": "U", "item_id": "I", "rating": 3, "__probe": 1}));
    let list = message.split("expected one of ").nth(1).unwrap_or_else(|| panic!("{message}"));
    let mut accepted: Vec<String> =
        list.split(", ").map(|f| f.split('`').nth(1).unwrap().to_owned()).collect();
    let schema = openapi()["components"]["schemas"]["Event"].clone();
    let mut documented: Vec<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
    accepted.sort();
    documented.sort();
    assert_eq!(documented, accepted);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["anyOf"], json!([{"required": ["behavior"]}, {"required": ["rating"]}]));
    let request = openapi()["components"]["schemas"]["EventsRequest"].clone();
    assert_eq!(request["properties"]["events"]["maxItems"].as_u64(), Some(MAX_EVENTS as u64));
}

#[test]
fn every_openapi_example_request_parses() {
    let doc = openapi();
    let examples = doc["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap();
    assert!(!examples.is_empty());
    for example in examples.values() {
        ok(example["value"].clone());
    }
}

#[test]
fn attribution_names_the_answer_a_click_cart_or_purchase_came_from() {
    let id = "rec-0190f5c2a1b27c3d8e9f00112233aabb";
    let events = ok(json!({"events": [
        {"user_id": "U1", "item_id": "I1", "behavior": "click", "recommendation_id": id, "position": 3},
        {"user_id": "U1", "item_id": "I1", "behavior": "purchase", "recommendation_id": id},
    ]}));
    assert_eq!((events[0].recommendation_id.as_deref(), events[0].position), (Some(id), Some(3)));
    assert_eq!((events[1].recommendation_id.as_deref(), events[1].position), (Some(id), None));
    for (event, needle) in [
        (
            json!({"user_id": "U", "item_id": "I", "behavior": "click", "recommendation_id": "nope"}),
            "recommendation_id",
        ),
        (
            json!({"user_id": "U", "item_id": "I", "behavior": "view", "recommendation_id": id}),
            "click, cart or purchase",
        ),
        (
            json!({"user_id": "U", "item_id": "I", "rating": 4, "recommendation_id": id}),
            "click, cart or purchase",
        ),
        (
            json!({"user_id": "U", "item_id": "I", "behavior": "click", "recommendation_id": id, "position": 0}),
            "position",
        ),
        (
            json!({"user_id": "U", "item_id": "I", "behavior": "click", "recommendation_id": id, "position": 1001}),
            "position",
        ),
        (
            json!({"user_id": "U", "item_id": "I", "behavior": "click", "position": 2}),
            "goes with a `recommendation_id`",
        ),
        (json!({"user_id": "U", "item_id": "I", "behavior": "click", "recommendation_id": null}), "null"),
    ] {
        let e = parse(json!({"events": [event]}).to_string().as_bytes(), NOW_MS, || Ok("ev".into()))
            .expect_err("bad");
        assert!(e.message.contains(needle), "{}", e.message);
    }
}
