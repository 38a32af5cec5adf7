//! `POST /recommend` body parsing, and its agreement with the OpenAPI document.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use serde_json::{Value, json};

use super::{MAX_TOP_N, Query, Who, parse};

fn ok(body: Value) -> Query {
    parse(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

fn err(body: &str) -> (u16, &'static str, String) {
    let e = parse(body.as_bytes()).expect_err(body);
    (e.status(), e.code.as_str(), e.message)
}

fn openapi() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).unwrap()
}

fn request_schema() -> Value {
    openapi()["components"]["schemas"]["RecommendRequest"].clone()
}

#[test]
fn user_id_alone_is_the_users_list_with_the_seeds_defaults() {
    let q = ok(json!({"user_id": "U10001"}));
    assert_eq!(q.who, Who::User("U10001".into()));
    assert_eq!(q.opts, edgerec_core::RecommendOptions::default());
    let q = ok(json!({"user_id": "U10001", "top_n": 5, "exclude_rated": false}));
    assert_eq!((q.opts.top_n, q.opts.exclude_rated), (5, false));
}

#[test]
fn user_id_with_interactions_is_a_session_in_order() {
    let q = ok(
        json!({"user_id": "U1", "interactions": [{"item_id": "B", "rating": 1}, {"item_id": "A", "rating": 5}]}),
    );
    assert_eq!(q.who, Who::Session("U1".into(), vec![("B".into(), 1.0), ("A".into(), 5.0)]));
    let q = ok(json!({"user_id": "U1", "interactions": []}));
    assert_eq!(q.who, Who::Session("U1".into(), vec![]));
    let q = ok(json!({"interactions": [{"item_id": "A", "rating": 4.5}]}));
    assert_eq!(q.who, Who::Anonymous(vec![("A".into(), 4.5)]));
}

#[test]
fn neither_user_id_nor_interactions_is_a_400() {
    let (status, code, message) = err("{}");
    assert_eq!((status, code), (400, "invalid_request"));
    assert!(message.contains("`user_id`"), "{message}");
    assert_eq!(err(r#"{"top_n": 3}"#).0, 400);
}

/// Regression: `"top_n": null` used to mean the default and answer 200.
#[test]
fn top_n_null_is_a_400_naming_the_field() {
    let (status, code, message) = err(r#"{"user_id": "U10001", "top_n": null}"#);
    assert_eq!((status, code), (400, "invalid_request"));
    assert!(message.starts_with("`top_n` is null"), "{message}");
}

#[test]
fn null_is_rejected_for_every_field() {
    let fields = request_schema()["properties"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert!(fields.len() >= 6);
    for field in fields {
        let mut body = json!({"user_id": "U10001", "interactions": []});
        body[&field] = Value::Null;
        let (status, _, message) = err(&body.to_string());
        assert_eq!(status, 400, "{field}");
        assert!(message.starts_with(&format!("`{field}` is null")), "{field}: {message}");
    }
}

#[test]
fn malformed_interactions_are_400s_with_or_without_a_user() {
    for interactions in [
        r#"[{"item_id": "A"}]"#,
        r#"[{"item_id": "A", "rating": "5"}]"#,
        r#"[{"item_id": "A", "rating": 1e39}]"#,
        r#"[{"item_id": "", "rating": 1}]"#,
        r#"[{"item_id": null, "rating": 1}]"#,
        r#"[{"item_id": "A", "rating": 1, "when": 3}]"#,
        r#"[["A", 5]]"#,
        r#"{"A": 5}"#,
        r#""A""#,
    ] {
        for prefix in [r#""user_id": "U10001", "#, ""] {
            let body = format!(r#"{{{prefix}"interactions": {interactions}}}"#);
            let (status, code, _) = err(&body);
            assert_eq!((status, code), (400, "invalid_request"), "{body}");
        }
    }
    let many: Vec<Value> = (0..1001).map(|i| json!({"item_id": format!("I{i}"), "rating": 1})).collect();
    assert_eq!(err(&json!({"user_id": "U1", "interactions": many}).to_string()).0, 400);
}

#[test]
fn ranges_and_types_are_checked() {
    assert_eq!(ok(json!({"user_id": "U1", "top_n": MAX_TOP_N})).opts.top_n, MAX_TOP_N);
    // JSON Schema's integers: a number with no fraction is one, however it is written.
    for (body, n) in
        [(r#"{"user_id": "U1", "top_n": 58.0}"#, 58), (r#"{"user_id": "U1", "top_n": 5.8e1}"#, 58)]
    {
        assert_eq!(parse(body.as_bytes()).expect(body).opts.top_n, n, "{body}");
    }
    let paged = parse(br#"{"user_id": "U1", "offset": 10.0, "max_per_category": 2.0}"#).expect("integers");
    assert_eq!((paged.opts.offset, paged.opts.max_per_category), (10, Some(2)));
    for bad in [
        r#"{"user_id": "U1", "top_n": 0}"#,
        r#"{"user_id": "U1", "top_n": 101}"#,
        r#"{"user_id": "U1", "top_n": 9007199254740993}"#,
        r#"{"user_id": "U1", "top_n": 2.5}"#,
        r#"{"user_id": ""}"#,
        r#"{"user_id": "U1", "categories": [1]}"#,
        r#"{"user_id": "U1", "exclude_items": "A"}"#,
        r#"{"user_id": "U1", "topn": 5}"#,
        r#"{"user_id": "U1", "max_per_category": 0}"#,
        r#"{"user_id": "U1", "max_per_category": 101}"#,
        r#"{"user_id": "U1", "max_per_category": -1}"#,
        r#"{"user_id": "U1", "offset": 901}"#,
        r#"{"user_id": "U1", "offset": -1}"#,
        r#"{"user_id": "U1", "candidates": "A"}"#,
        r#"{"user_id": "U1", "candidates": [""]}"#,
        r#"{"user_id": "U1", "user_id": "U2"}"#,
        r#"["U1", 5]"#,
        r#"["U1"]"#,
        "null",
    ] {
        assert_eq!(err(bad).0, 400, "{bad}");
    }
    assert_eq!(err(r#"{"user_id": "U1""#).1, "invalid_json");
    let rules = ok(json!({"user_id": "U1", "max_per_category": 2, "candidates": ["A", "B"], "offset": 900}));
    assert_eq!(
        (rules.opts.max_per_category, rules.opts.candidates, rules.opts.offset),
        (Some(2), Some(vec!["A".to_owned(), "B".to_owned()]), 900)
    );
    let many: Vec<String> = (0..1001).map(|i| format!("I{i}")).collect();
    assert_eq!(err(&json!({"user_id": "U1", "candidates": many}).to_string()).0, 400);
}

/// The fields serde accepts, read from its own "unknown field" message.
fn accepted_fields() -> Vec<String> {
    let message = err(r#"{"__probe": 1}"#).2;
    let list = message.split("expected one of ").nth(1).unwrap_or_else(|| panic!("{message}"));
    list.split(", ").map(|f| f.split('`').nth(1).unwrap().to_owned()).collect()
}

#[test]
fn the_openapi_schema_lists_exactly_the_accepted_fields() {
    let schema = request_schema();
    let mut documented: Vec<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
    let mut accepted = accepted_fields();
    documented.sort();
    accepted.sort();
    assert_eq!(documented, accepted);
    assert_eq!(schema["additionalProperties"], false);
    // The either/or rule, and no `null` anywhere.
    assert_eq!(schema["anyOf"], json!([{"required": ["user_id"]}, {"required": ["interactions"]}]));
    for (name, property) in schema["properties"].as_object().unwrap() {
        assert!(!property.to_string().contains("\"null\""), "{name} admits null: {property}");
        let text = property["description"].as_str().unwrap_or_default();
        assert!(text.contains("null"), "{name}'s description says what null means: {text}");
    }
    let top_n = &schema["properties"]["top_n"];
    assert_eq!((top_n["minimum"].as_u64(), top_n["maximum"].as_u64()), (Some(1), Some(MAX_TOP_N as u64)));
}

#[test]
fn every_openapi_example_request_parses() {
    let doc = openapi();
    let examples =
        doc["paths"]["/recommend"]["post"]["requestBody"]["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
    assert!(examples.contains_key("session"));
    for (name, example) in examples {
        let q = ok(example["value"].clone());
        if name == "session" {
            assert!(matches!(q.who, Who::Session(..)), "{name}");
        }
    }
}
