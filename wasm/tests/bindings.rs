//! The bindings as JavaScript sees them, run in Node by `wasm-bindgen-test-runner`:
//! plain camelCase objects out, JavaScript `Error`s with readable messages for bad input.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use edgerec_wasm::Recommender;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// The core's four-item fixture (three users, four items in three categories), with a projection.
fn model_bytes() -> Vec<u8> {
    let mut b = edgerec_core::testing::four_items();
    b.item_projection = Some(vec![0.0, 1.0, 0.5, 0.5, 1.0, 0.0, 0.9, 0.1]);
    b.build().unwrap()
}

fn recommender() -> Recommender {
    Recommender::new(model_bytes()).map_err(JsValue::from).unwrap()
}

fn js(v: Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

fn rust(v: JsValue) -> Value {
    serde_wasm_bindgen::from_value(v).unwrap()
}

/// The thrown value must be a real JavaScript `Error`; returns its message.
fn error_message(e: JsError) -> String {
    let v = JsValue::from(e);
    let err: &js_sys::Error = v.dyn_ref().expect("a JavaScript Error");
    String::from(err.message())
}

#[wasm_bindgen_test]
fn recommend_returns_camel_case_plain_objects() {
    let r = recommender();
    let out = rust(r.js_recommend(js(json!({"userId": "U1", "topN": 2}))).unwrap());
    assert_eq!(out["source"], "personalized");
    assert_eq!(out["reason"], Value::Null);
    assert_eq!(out["unknownItems"], json!([]));
    let items = out["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // U1 rated TECH1, which is excluded by default; TECH2 is the best of the rest.
    assert_eq!(items[0]["itemId"], "TECH2");
    assert_eq!(items[0]["category"], "tech");
    assert!(items[0]["score"].as_f64().unwrap() > items[1]["score"].as_f64().unwrap());
}

/// The keys of a JS object, in order.
fn keys(v: &JsValue) -> Vec<String> {
    js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).iter().map(|k| k.as_string().unwrap()).collect()
}

/// Answers are plain objects with the keys, in the order, of the typings (and of serde).
#[wasm_bindgen_test]
fn answers_have_the_typed_keys_in_order() {
    let r = recommender();
    for _ in 0..2 {
        // The second round reuses the cached item strings.
        let out = r.js_recommend(js(json!({"userId": "U1", "topN": 2}))).unwrap();
        assert_eq!(keys(&out), ["items", "source", "reason", "unknownItems"]);
        assert_eq!(
            js_sys::Object::get_prototype_of(&out),
            js_sys::Object::get_prototype_of(&js_sys::Object::new())
        );
        let items = js_sys::Reflect::get(&out, &"items".into()).unwrap();
        assert!(js_sys::Array::is_array(&items));
        assert_eq!(
            keys(&js_sys::Reflect::get(&items, &0.into()).unwrap()),
            ["itemId", "index", "score", "predictedRating", "category"]
        );
        let similar = r.js_similar("TECH1", 2).unwrap();
        assert!(js_sys::Array::is_array(&similar));
        assert_eq!(
            keys(&js_sys::Reflect::get(&similar, &1.into()).unwrap()),
            ["itemId", "index", "score", "predictedRating", "category"]
        );
    }
}

/// Requests are read like serde-wasm-bindgen reads them, whatever their shape: `null`
/// categories mean all, keys on the prototype chain count, a key set to `undefined` is not a
/// missing key, nested interactions may carry other keys.
#[wasm_bindgen_test]
fn requests_read_the_same_whatever_their_shape() {
    let r = recommender();
    let plain = rust(r.js_recommend(js(json!({"userId": "U1", "topN": 2}))).unwrap());
    let null_categories = json!({"userId": "U1", "topN": 2, "categories": null, "excludeItems": []});
    assert_eq!(rust(r.js_recommend(js(null_categories)).unwrap()), plain);
    let inherited = js_sys::Object::create(js(json!({"topN": 2})).unchecked_ref::<js_sys::Object>());
    js_sys::Reflect::set(&inherited, &"userId".into(), &"U1".into()).unwrap();
    assert_eq!(rust(r.js_recommend(inherited.into()).unwrap()), plain);

    let undefined_top_n = js(json!({"userId": "U1"}));
    js_sys::Reflect::set(&undefined_top_n, &"topN".into(), &JsValue::UNDEFINED).unwrap();
    let msg = error_message(r.js_recommend(undefined_top_n).unwrap_err());
    assert!(msg.starts_with("recommend(): invalid request"), "{msg}");
    for bad in [
        json!({"userId": "U1", "topN": 4_294_967_296_u64}),
        json!({"userId": "U1", "excludeItems": ["TECH2", 7]}),
        json!({"userId": "U1", "excludeItems": null}),
        json!({"userId": "U1", "excludeRated": 1}),
        json!({"userId": 1}),
        json!([]),
    ] {
        let msg = error_message(r.js_recommend(js(bad.clone())).unwrap_err());
        assert!(msg.starts_with("recommend(): invalid request"), "{bad}: {msg}");
    }

    let extra = json!({"interactions": [{"itemId": "FASH1", "rating": 5, "note": "liked it"}], "topN": 2});
    let plain = json!({"interactions": [{"itemId": "FASH1", "rating": 5}], "topN": 2});
    assert_eq!(rust(r.js_recommend_for(js(extra)).unwrap()), rust(r.js_recommend_for(js(plain)).unwrap()));
    for bad in [
        json!({"interactions": [{"itemId": "FASH1", "rating": "5"}]}),
        json!({"interactions": [["FASH1", 5]]}),
        json!({"interactions": {"itemId": "FASH1", "rating": 5}}),
    ] {
        let msg = error_message(r.js_recommend_for(js(bad.clone())).unwrap_err());
        assert!(msg.starts_with("recommendFor(): invalid request"), "{bad}: {msg}");
    }
}

#[wasm_bindgen_test]
fn recommend_honours_exclude_rated_and_categories() {
    let r = recommender();
    let req = json!({"userId": "U1", "topN": 1, "excludeRated": false});
    let out = rust(r.js_recommend(js(req)).unwrap());
    assert_eq!(out["items"][0]["itemId"], "TECH1");
    let req = json!({"userId": "U1", "topN": 4, "categories": ["sports"], "excludeItems": ["TECH2"]});
    let out = rust(r.js_recommend(js(req)).unwrap());
    assert_eq!(out["items"].as_array().unwrap().len(), 1);
    assert_eq!(out["items"][0]["itemId"], "SPRT1");
}

#[wasm_bindgen_test]
fn recommend_honours_the_business_rules() {
    let r = recommender();
    let all = rust(r.js_recommend(js(json!({"userId": "U1", "topN": 4, "excludeRated": false}))).unwrap());
    let ids = |out: &Value| -> Vec<String> {
        out["items"].as_array().unwrap().iter().map(|i| i["itemId"].as_str().unwrap().to_owned()).collect()
    };
    let all = ids(&all);
    // One item a category: the two tech items cannot both be in.
    let capped = json!({"userId": "U1", "topN": 4, "excludeRated": false, "maxPerCategory": 1});
    let capped = ids(&rust(r.js_recommend(js(capped)).unwrap()));
    assert_eq!(capped.len(), 3);
    assert_eq!(capped.iter().filter(|id| id.starts_with("TECH")).count(), 1);
    // The next page of the same ranking, and the caller's candidates in ranking order.
    let page = json!({"userId": "U1", "topN": 2, "excludeRated": false, "offset": 2});
    assert_eq!(ids(&rust(r.js_recommend(js(page)).unwrap())), all[2..]);
    // A later page with nothing left at or after its offset throws; the last item is a page.
    let last = json!({"userId": "U1", "topN": 2, "excludeRated": false, "offset": 3});
    assert_eq!(ids(&rust(r.js_recommend(js(last)).unwrap())), all[3..]);
    let past = json!({"userId": "U1", "topN": 2, "excludeRated": false, "offset": 4});
    assert_eq!(
        error_message(r.js_recommend(js(past)).unwrap_err()),
        "recommend(): offset 4 is past the end: this query has 4 items to recommend"
    );
    let mine = json!({"userId": "U1", "excludeRated": false, "candidates": [all[3], "NOPE", all[1]]});
    let out = rust(r.js_recommend(js(mine)).unwrap());
    assert_eq!(ids(&out), [all[1].clone(), all[3].clone()]);
    assert_eq!(out["unknownItems"], json!(["NOPE"]));
}

#[wasm_bindgen_test]
fn unknown_user_gets_popular_items_with_a_reason() {
    let out = rust(recommender().js_recommend(js(json!({"userId": "nobody"}))).unwrap());
    assert_eq!(out["source"], "popular");
    assert!(out["reason"].as_str().unwrap().contains("nobody"));
}

#[wasm_bindgen_test]
fn bad_requests_throw_errors_that_name_the_problem() {
    let r = recommender();
    let cases = [
        (json!({"topN": 3}), "missing field `userId`"),
        (json!({"userId": "U1", "topn": 3}), "unknown field `topn`, expected one of `userId`"),
        (json!({"userId": "U1", "topN": 2.5}), "recommend(): invalid request"),
        (json!({"userId": "U1", "topN": -1}), "recommend(): invalid request"),
        (json!({"userId": "U1", "topN": 0}), "n must be in 1..=1000"),
        (json!({"userId": "U1", "topN": "ten"}), "recommend(): invalid request"),
        (json!({"userId": "U1", "categories": ["food"]}), "unknown category `food`"),
    ];
    for (req, expected) in cases {
        let msg = error_message(r.js_recommend(js(req.clone())).unwrap_err());
        assert!(msg.contains(expected), "{req}: {msg}");
    }
    let msg = error_message(r.js_recommend(JsValue::UNDEFINED).unwrap_err());
    assert!(msg.starts_with("recommend(): invalid request"), "{msg}");
}

#[wasm_bindgen_test]
fn corrupt_and_empty_models_throw_readable_errors() {
    for bytes in [Vec::new(), b"definitely not a model".to_vec(), model_bytes()[..100].to_vec()] {
        let msg = error_message(Recommender::new(bytes).unwrap_err());
        assert!(msg.starts_with("could not load the model: "), "{msg}");
    }
}

#[wasm_bindgen_test]
fn recommend_for_folds_in_and_reports_unknown_items() {
    let r = recommender();
    let req = json!({
        "interactions": [{"itemId": "FASH1", "rating": 5}, {"itemId": "SPRT1", "rating": 4}, {"itemId": "NOPE", "rating": 1}],
        "topN": 2
    });
    let out = rust(r.js_recommend_for(js(req)).unwrap());
    assert_eq!(out["source"], "fold_in");
    assert_eq!(out["unknownItems"], json!(["NOPE"]));
    let ids: Vec<&str> =
        out["items"].as_array().unwrap().iter().map(|i| i["itemId"].as_str().unwrap()).collect();
    assert!(!ids.contains(&"FASH1") && !ids.contains(&"SPRT1"), "{ids:?}");

    let empty = rust(r.js_recommend_for(js(json!({"interactions": []}))).unwrap());
    assert_eq!(empty["source"], "popular");
    let msg =
        error_message(r.js_recommend_for(js(json!({"interactions": [{"itemId": "FASH1"}]}))).unwrap_err());
    assert!(msg.contains("missing field `rating`"), "{msg}");
}

#[wasm_bindgen_test]
fn similar_items_and_errors() {
    let r = recommender();
    let out = rust(r.js_similar("TECH1", 2).unwrap());
    assert_eq!(out[0]["itemId"], "TECH2");
    assert_eq!(out.as_array().unwrap().len(), 2);
    assert_eq!(error_message(r.js_similar("NOPE", 2).unwrap_err()), "similar(): unknown item `NOPE`");
    assert!(error_message(r.js_similar("TECH1", 0).unwrap_err()).contains("n must be in 1..=1000"));
}

#[wasm_bindgen_test]
fn pages_rated_items_map_and_info() {
    let r = recommender();
    assert_eq!(rust(r.js_users(1, 10).unwrap()), json!(["U2", "U3"]));
    assert_eq!(rust(r.js_users(10, 10).unwrap()), json!([]));
    let items = rust(r.js_items(3, 5).unwrap());
    assert_eq!(items, json!([{"itemId": "TECH2", "index": 3, "category": "tech"}]));
    assert_eq!(
        rust(r.js_rated("U2").unwrap()),
        json!([{"itemId": "FASH1", "index": 0, "rating": 4, "category": "fashion"}])
    );
    assert!(error_message(r.js_rated("nobody").unwrap_err()).contains("unknown user `nobody`"));

    let map = rust(r.js_item_map().unwrap());
    assert_eq!(map["categories"], json!(["fashion", "sports", "tech"]));
    assert_eq!(map["points"][2], json!({"itemId": "TECH1", "index": 2, "x": 1, "y": 0, "category": "tech"}));
    assert_eq!(map["stored"], true);

    let info = rust(r.js_info().unwrap());
    assert_eq!(info["numUsers"], 3);
    assert_eq!(info["numItems"], 4);
    assert_eq!(info["kind"], "rating");
    assert_eq!(info["ratingRange"], json!([1, 5]));
    assert_eq!(info["hasProjection"], true);
    assert_eq!(info["modelBytes"], model_bytes().len());
}

/// Damaged artifacts: every call returns a value or throws an `Error`; none traps (a trap would
/// abort this test run).
#[wasm_bindgen_test]
fn damaged_models_never_trap() {
    let good = model_bytes();
    let (mut loaded, mut rejected) = (0, 0);
    for k in 0..400usize {
        let mut bytes = good.clone();
        let at = (k * 7919) % bytes.len();
        bytes[at] ^= [0xA5, 0xFF, 0x01, 0x80][k % 4];
        if k % 5 == 0 {
            bytes.truncate((k * 131) % good.len());
        }
        let Ok(r) = Recommender::new(bytes) else {
            rejected += 1;
            continue;
        };
        loaded += 1;
        let _ = r.js_recommend(js(json!({"userId": "U1", "topN": 3})));
        let _ = r.js_recommend_for(js(json!({"interactions": [{"itemId": "FASH1", "rating": 5}]})));
        let _ = r.js_similar("TECH1", 3);
        let _ = r.js_rated("U2");
        let _ = r.js_item_map();
        let _ = r.js_info();
    }
    assert!(rejected > 0 && loaded > 0 && loaded + rejected == 400, "loaded {loaded}, rejected {rejected}");
}

/// `recommend()` with a session's interactions: the list changes, the clicked items are left
/// out, and a request with a key on the prototype chain reads the same.
#[wasm_bindgen_test]
fn recommend_with_interactions_shifts_a_known_users_list() {
    let r = recommender();
    let plain = rust(r.js_recommend(js(json!({"userId": "U3", "topN": 4}))).unwrap());
    let clicks = json!([{"itemId": "FASH1", "rating": 5}, {"itemId": "SPRT1", "rating": 5}]);
    let req = json!({"userId": "U3", "topN": 4, "interactions": clicks});
    let session = rust(r.js_recommend(js(req)).unwrap());
    assert_eq!(session["source"], "session");
    assert_ne!(session["items"], plain["items"]);
    let ids: Vec<&str> =
        session["items"].as_array().unwrap().iter().map(|i| i["itemId"].as_str().unwrap()).collect();
    assert!(!ids.contains(&"FASH1") && !ids.contains(&"SPRT1"), "{ids:?}");
    assert!(session["items"][0]["predictedRating"].is_number());

    // The same request with a key on the prototype chain.
    let inherited = js_sys::Object::create(js(json!({"topN": 4})).unchecked_ref::<js_sys::Object>());
    js_sys::Reflect::set(&inherited, &"userId".into(), &"U3".into()).unwrap();
    js_sys::Reflect::set(&inherited, &"interactions".into(), &js(clicks)).unwrap();
    assert_eq!(rust(r.js_recommend(inherited.into()).unwrap()), session);

    let null = rust(r.js_recommend(js(json!({"userId": "U3", "topN": 4, "interactions": null}))).unwrap());
    assert_eq!(null, plain);
    let msg = error_message(
        r.js_recommend(js(json!({"userId": "U3", "interactions": [{"itemId": "FASH1"}]}))).unwrap_err(),
    );
    assert!(msg.contains("missing field `rating`"), "{msg}");
}
