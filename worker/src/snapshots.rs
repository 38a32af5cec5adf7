//! Snapshot tests (insta) of the API's JSON response shapes, built by the endpoint modules'
//! pure functions on a small fixture model. Scores are exact: the core's scoring is
//! deterministic, and the Worker rounds them to four decimals.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use edgerec_core::OwnedModel;

use crate::error::ApiError;
use crate::http::Reply;
use std::rc::Rc;

use crate::store::{Artifact, Provenance, Ready, Report, Served, Serving, Status};
use crate::{catalogue, health, recommend, similar, users};

/// The core's four-item fixture (three users, four items in three categories): a rating model,
/// so every list item has a predicted rating.
fn served(version: &str) -> Served {
    let mut b = edgerec_core::testing::four_items();
    b.created_at = Some("2026-12-01T00:00:00Z".into());
    let bytes = b.build().unwrap();
    let provenance = Provenance {
        source: "bundled",
        location: "fixture.safetensors".to_owned(),
        bytes: bytes.len(),
        version: version.to_owned(),
        loaded_at: "2026-12-02T00:00:00.000Z".to_owned(),
    };
    Served::new(Artifact::Owned(OwnedModel::from_vec(bytes).unwrap()), provenance, version.to_owned())
}

fn ready() -> Ready<'static> {
    Box::leak(Box::new(served("0123456789abcdef"))).ready()
}

/// The status line and the body exactly as sent (key order included).
fn show(reply: Result<Reply, ApiError>) -> String {
    match reply {
        Ok(r) => format!("{} {}\n{}", r.status, r.content_type, r.body),
        Err(e) => format!("{} application/json\n{}", e.status(), e.body()),
    }
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn post(body: &str) -> String {
    show(recommend::post(ready(), body.as_bytes()))
}

/// `GET /recommend/{user}` as the router runs it, with every item available.
fn get_recommend(
    ready: Ready<'_>,
    user: &str,
    query: &[(String, String)],
    record: Option<&edgerec_core::UserRecord>,
) -> Result<Reply, ApiError> {
    recommend::get(ready, user, false, &recommend::get_options(user, query)?, record, None)
}

/// `GET /items/{item}/similar` as the router runs it, with every item available.
fn get_similar(ready: Ready<'_>, item: &str, query: &[(String, String)]) -> Result<Reply, ApiError> {
    similar::get(ready, item, similar::check(item, query)?, None, None)
}

#[test]
fn recommend_for_a_known_user() {
    insta::assert_snapshot!(post(r#"{"user_id": "U1", "top_n": 3}"#));
    insta::assert_snapshot!("recommend_get", show(get_recommend(ready(), "U2", &query(&[("n", "2")]), None)));
}

#[test]
fn recommend_fallback_for_an_unknown_user() {
    insta::assert_snapshot!(post(r#"{"user_id": "nobody", "top_n": 2}"#));
}

#[test]
fn recommend_for_an_anonymous_visitor() {
    insta::assert_snapshot!(post(
        r#"{"interactions": [{"item_id": "FASH1", "rating": 5}, {"item_id": "NOPE", "rating": 1}], "top_n": 2}"#
    ));
}

#[test]
fn recommend_session() {
    insta::assert_snapshot!(post(
        r#"{"user_id": "U3", "interactions": [{"item_id": "SPRT1", "rating": 5}], "top_n": 3}"#
    ));
}

/// A deleted user's answers are an unknown user's (and, with interactions, a visitor's),
/// whatever the model holds on them: the same body but for `user_id`.
#[test]
fn a_deleted_user_is_served_as_unknown() {
    let as_unknown = |body: &str| {
        show(
            recommend::parse(body.as_bytes())
                .and_then(|q| recommend::run(ready(), q, true, None, None, None)),
        )
    };
    let unknown = post(r#"{"user_id": "nobody", "top_n": 2}"#).replace("nobody", "U1");
    assert_eq!(as_unknown(r#"{"user_id": "U1", "top_n": 2}"#), unknown);
    assert_ne!(post(r#"{"user_id": "U1", "top_n": 2}"#), unknown, "U1 is known to the model");
    let clicks = r#""interactions": [{"item_id": "SPRT1", "rating": 5}], "top_n": 3, "explain": true"#;
    let visitor = post(&format!("{{{clicks}}}")).replace(r#"{"user_id":null"#, r#"{"user_id":"U3""#);
    assert_eq!(as_unknown(&format!(r#"{{"user_id": "U3", {clicks}}}"#)), visitor);
    let opts = recommend::get_options("U2", &query(&[("n", "2")])).unwrap();
    let get = show(recommend::get(ready(), "U2", true, &opts, None, None));
    let unknown = show(get_recommend(ready(), "nobody", &query(&[("n", "2")]), None)).replace("nobody", "U2");
    assert_eq!(get, unknown);
}

#[test]
fn health_ready_and_unavailable() {
    let report = Report {
        refresh_seconds: 30,
        last_check: Some("2026-12-02T00:00:30.000Z".to_owned()),
        error: Some("the model `MODELS/models/x.safetensors` is invalid: truncated".to_owned()),
    };
    let serving = Serving {
        current: Rc::new(served("0123456789abcdef")),
        canary: Some((Rc::new(served("fedcba9876543210")), 30)),
    };
    let items = catalogue::Report {
        refresh_seconds: 10,
        version: Some(3),
        updated_at: Some(1_796_083_200_000),
        read_at: Some("2026-12-02T00:00:31.000Z".to_owned()),
        error: None,
        unavailable: Some(2),
    };
    insta::assert_snapshot!("health_ready", show(health::get(&Status::Ready(serving), &report, &items)));
    let unavailable = Status::Unavailable("no model was bundled".to_owned());
    let report = Report { refresh_seconds: 30, last_check: None, error: None };
    let items = catalogue::Report {
        refresh_seconds: 10,
        version: None,
        updated_at: None,
        read_at: None,
        error: Some("cannot read item availability: D1_ERROR: no such table: item_state".to_owned()),
        unavailable: None,
    };
    insta::assert_snapshot!("health_unavailable", show(health::get(&unavailable, &report, &items)));
}

#[test]
fn users_pages() {
    insta::assert_snapshot!(
        "users_first_page",
        show(users::get(ready(), &query(&[("limit", "2")]), &|_| false, 0))
    );
    let last = query(&[("limit", "2"), ("cursor", "U2")]);
    insta::assert_snapshot!("users_last_page", show(users::get(ready(), &last, &|_| false, 0)));
    // A deleted user is left out, of the pages and of the total.
    let page = show(users::get(ready(), &query(&[("limit", "2")]), &|id| id == "U2", 1));
    assert_eq!(
        page,
        r#"200 application/json
{"total_users":2,"user_ids":["U1","U3"],"next_cursor":null}"#
    );
}

#[test]
fn similar_items() {
    insta::assert_snapshot!(show(get_similar(ready(), "TECH1", &query(&[("n", "2")]))));
}

#[test]
fn error_bodies() {
    let cases = [
        ("unknown_item", show(get_similar(ready(), "NOPE", &[]))),
        ("null_field", post(r#"{"user_id": "U1", "top_n": null}"#)),
        ("invalid_json", post("{")),
        ("unknown_field", post(r#"{"user_id": "U1", "topn": 3}"#)),
        ("neither_user_nor_interactions", post("{}")),
        ("unknown_category", post(r#"{"user_id": "U1", "categories": ["food"]}"#)),
        // U1 saw one of the four items: three to give, so offset 3 is past the end.
        ("offset_past_end", post(r#"{"user_id": "U1", "offset": 3}"#)),
        ("bad_query_param", show(users::get(ready(), &query(&[("limit", "0")]), &|_| false, 0))),
        (
            "model_unavailable",
            show(Err(crate::store::require(&Status::Unavailable("no model".into())).err().unwrap())),
        ),
    ];
    for (name, shown) in cases {
        insta::assert_snapshot!(format!("error_{name}"), shown);
    }
}

#[test]
fn a_user_from_a_kv_record_gets_the_inline_users_answer() {
    let inline = ready();
    let (split, records) = match &Box::leak(Box::new(served("0123456789abcdef"))).artifact {
        Artifact::Owned(owned) => edgerec_core::split_users(owned.bytes()).unwrap(),
        Artifact::Bundled(_) => unreachable!("the fixture is owned"),
    };
    let external = OwnedModel::from_vec(split).unwrap();
    assert!(external.model().users_external());
    let provenance = Box::leak(Box::new(Provenance {
        source: "bundled",
        location: "split.safetensors".to_owned(),
        bytes: 0,
        version: "0123456789abcdef".to_owned(),
        loaded_at: String::new(),
    }));
    let external: &'static OwnedModel = Box::leak(Box::new(external));
    let split = Ready { model: external.model(), provenance };
    for (user, record) in &records {
        let bytes = record.encode();
        let record = edgerec_core::UserRecord::decode(&bytes, split.model).unwrap();
        let q = query(&[("n", "3")]);
        assert_eq!(
            show(get_recommend(split, user, &q, Some(&record))),
            show(get_recommend(inline, user, &q, None)),
            "{user}"
        );
    }
    // Without a record, a user the split artifact does not hold gets the popular fallback.
    assert!(show(get_recommend(split, "U1", &query(&[]), None)).contains("\"fallback\":\"popular\""));
}
