//! The translation layer natively (no JavaScript): request defaults, response shapes, error
//! messages. `tests/bindings.rs` checks the same through the JS boundary in Node.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use edgerec_core::{ModelBuilder, ModelKind};
use edgerec_wasm::Recommender;
use edgerec_wasm::dto::{RecommendForRequest, RecommendRequest};
use serde_json::{Value, json};

fn model(projection: bool) -> Recommender {
    let mut b = ModelBuilder::new(ModelKind::Rating, 2);
    b.global_bias = 3.5;
    b.rating_range = Some((1.0, 5.0));
    b.user_ids = vec!["U1".into(), "U2".into()];
    b.item_ids = vec!["A".into(), "B".into(), "C".into()];
    b.user_factors = vec![1.0, 0.0, 0.0, 1.0];
    b.item_factors = vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5];
    b.user_bias = vec![0.0; 2];
    b.item_bias = vec![0.0; 3];
    b.seen = vec![(0, 0, 5.0)];
    if projection {
        b.item_projection = Some(vec![0.0, 0.0, 1.0, 1.0, 0.5, 0.5]);
    }
    Recommender::from_bytes(b.build().unwrap()).unwrap()
}

#[test]
fn request_defaults_follow_the_core() {
    let req: RecommendRequest = serde_json::from_value(json!({"userId": "U1"})).unwrap();
    assert_eq!(req.options(), edgerec_core::RecommendOptions::default());
    let req: RecommendForRequest =
        serde_json::from_value(json!({"interactions": [{"itemId": "A", "rating": 4.5}]})).unwrap();
    assert_eq!(req.interactions(), vec![("A", 4.5)]);
    assert_eq!(req.options(), edgerec_core::RecommendOptions::default());
}

#[test]
fn responses_serialize_with_camel_case_keys() {
    let r = model(false);
    let req = RecommendRequest {
        user_id: "U1".into(),
        top_n: 2,
        exclude_rated: true,
        exclude_items: vec![],
        categories: None,
        max_per_category: None,
        candidates: None,
        offset: 0,
        interactions: None,
    };
    let out: Value = serde_json::to_value(r.recommend_request(&req).unwrap()).unwrap();
    assert_eq!(out["source"], "personalized");
    assert_eq!(out["unknownItems"], json!([]));
    assert_eq!(out["items"][0]["itemId"], "C");
    assert_eq!(out["items"][0]["category"], Value::Null);
    let info: Value = serde_json::to_value(r.model_info()).unwrap();
    assert_eq!(info["numItems"], 3);
    assert_eq!(info["hasProjection"], false);
    // Without a stored projection the map is computed from the factors: every item has a point.
    let computed = r.item_map();
    assert!(!computed.stored && computed.points.len() == 3);
    assert!(computed.points.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    let full = model(true);
    let stored = full.item_map();
    assert!(stored.stored);
    assert_eq!(
        stored.points.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>(),
        [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]
    );
}

#[test]
fn pages_keep_dense_indices() {
    let r = model(false);
    let page: Vec<(String, usize)> =
        r.items_page(1, 10).iter().map(|i| (i.item_id.to_owned(), i.index)).collect();
    assert_eq!(page, vec![("B".to_owned(), 1), ("C".to_owned(), 2)]);
    assert!(r.items_page(usize::MAX, usize::MAX).is_empty());
    assert_eq!(r.users_page(0, 1), vec!["U1"]);
}

#[test]
fn errors_name_the_method_and_the_problem() {
    let r = model(false);
    assert_eq!(r.similar_request("Z", 3).unwrap_err().to_string(), "similar(): unknown item `Z`");
    assert_eq!(r.rated_request("nobody").unwrap_err().to_string(), "rated(): unknown user `nobody`");
    let e = Recommender::from_bytes(b"nope".to_vec()).unwrap_err().to_string();
    assert!(e.starts_with("could not load the model: not a valid safetensors file"), "{e}");
}

#[test]
fn recommend_with_interactions_is_a_session() {
    let r = model(false);
    let req = |v: Value| -> RecommendRequest { serde_json::from_value(v).unwrap() };
    let ids = |req: &RecommendRequest| -> (String, Vec<String>) {
        let out = r.recommend_request(req).unwrap();
        let source = serde_json::to_value(out.source).unwrap().as_str().unwrap().to_owned();
        (source, out.items.iter().map(|i| i.item_id.to_owned()).collect())
    };
    // U1 rated A in training; a session click on B leaves only C.
    let plain = ids(&req(json!({"userId": "U1", "topN": 3})));
    assert_eq!(plain, ("personalized".to_owned(), vec!["C".to_owned(), "B".to_owned()]));
    let session =
        ids(&req(json!({"userId": "U1", "topN": 3, "interactions": [{"itemId": "B", "rating": 5}]})));
    assert_eq!(session, ("session".to_owned(), vec!["C".to_owned()]));
    // No interactions, or `null`, is the plain list.
    assert_eq!(ids(&req(json!({"userId": "U1", "topN": 3, "interactions": []}))), plain);
    assert_eq!(ids(&req(json!({"userId": "U1", "topN": 3, "interactions": null}))), plain);
    // An unknown user with interactions is folded in like an anonymous visitor.
    let unknown = ids(&req(json!({"userId": "nobody", "interactions": [{"itemId": "B", "rating": 5}]})));
    assert_eq!(unknown.0, "fold_in");
    assert!(!unknown.1.contains(&"B".to_owned()));
}

#[test]
fn predicted_ratings_are_given_for_rating_models_only_in_lists() {
    let r = model(false);
    let req: RecommendRequest = serde_json::from_value(json!({"userId": "U2", "topN": 3})).unwrap();
    let out: Value = serde_json::to_value(r.recommend_request(&req).unwrap()).unwrap();
    for item in out["items"].as_array().unwrap() {
        assert_eq!(item["predictedRating"], item["score"], "a rating model predicts its score: {item}");
    }
    let similar: Value = serde_json::to_value(r.similar_request("A", 2).unwrap()).unwrap();
    assert_eq!(similar[0]["predictedRating"], Value::Null);
    let info: Value = serde_json::to_value(r.model_info()).unwrap();
    assert_eq!((&info["recency"], &info["ratingHeadDim"]), (&Value::Null, &Value::Null));
    assert_eq!(info["sequence"], Value::Null, "a model without a sequence network says so");
}
