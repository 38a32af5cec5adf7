//! The TypeScript typings (`src/typings.rs`, copied by wasm-bindgen into the generated `.d.ts`
//! and from there into `wasm/pkg-types/`) agree with the Rust DTOs they describe, so the two
//! cannot drift apart:
//!
//! - a request interface has the DTO's fields, in order; a key is optional (`?`) exactly when
//!   serde fills in a default, and typed `| null` exactly when serde accepts `null`;
//! - an answer interface has the keys, in order, that `Serialize` writes; every key that is
//!   `null` in a sample answer is typed `| null`, and every other value has the declared type.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::collections::BTreeMap;
use std::fmt;

use edgerec_core::{ModelBuilder, ModelKind, SequenceBlock, SequenceParts};
use edgerec_wasm::Recommender;
use edgerec_wasm::dto::{self, ExplainRequest, Interaction, RecommendForRequest, RecommendRequest};
use serde::Serialize;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

/// One declared key: its name, whether it is optional (`?`), and its type.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    optional: bool,
    ty: String,
}

/// The interfaces declared in `src/typings.rs`, by name, keys in order.
fn interfaces() -> BTreeMap<String, Vec<Key>> {
    let source = include_str!("../src/typings.rs");
    let ts = source.split("r#\"").nth(1).unwrap().split("\"#").next().unwrap();
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<Key>)> = None;
    for line in ts.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("export interface ") {
            current = Some((name.trim_end_matches(" {").to_owned(), Vec::new()));
        } else if line == "}" {
            let (name, keys) = current.take().unwrap();
            out.insert(name, keys);
        } else if let Some((_, keys)) = current.as_mut() {
            if line.starts_with("/*") || line.starts_with('*') || line.is_empty() {
                continue;
            }
            let (name, ty) = line.trim_end_matches(';').split_once(": ").unwrap();
            let optional = name.ends_with('?');
            keys.push(Key { name: name.trim_end_matches('?').to_owned(), optional, ty: ty.to_owned() });
        }
    }
    out
}

fn interface(name: &str) -> Vec<Key> {
    interfaces().remove(name).unwrap_or_else(|| panic!("no `interface {name}` in typings.rs"))
}

fn names(keys: &[Key]) -> Vec<&str> {
    keys.iter().map(|k| k.name.as_str()).collect()
}

/// Checks a request interface against its DTO, starting from a complete, valid request.
fn check_request<T: DeserializeOwned>(ts: &str, full: Value) {
    let keys = interface(ts);
    assert_eq!(names(&keys), dto::field_names::<T>(), "interface {ts}: keys");
    let reads = |v: Value| serde_json::from_value::<T>(v).is_ok();
    assert!(reads(full.clone()), "{ts}: {full}");
    for key in &keys {
        let mut without = full.clone();
        without.as_object_mut().unwrap().remove(&key.name);
        assert_eq!(key.optional, reads(without), "{ts}.{}: optional in TS iff it has a default", key.name);
        let mut null = full.clone();
        null[&key.name] = Value::Null;
        let nullable = key.ty.ends_with(" | null");
        assert_eq!(nullable, reads(null), "{ts}.{}: `| null` in TS iff serde accepts null", key.name);
    }
}

#[test]
fn request_typings_match_the_dtos() {
    let interaction = json!({"itemId": "A", "rating": 4.5});
    check_request::<Interaction>("Interaction", interaction.clone());
    let common = json!({"topN": 3, "excludeRated": false, "excludeItems": ["B"], "categories": ["x"],
        "maxPerCategory": 2, "candidates": ["A"], "offset": 1});
    let mut recommend = json!({"userId": "U1", "interactions": [interaction.clone()]});
    recommend.as_object_mut().unwrap().extend(common.as_object().unwrap().clone());
    check_request::<RecommendRequest>("RecommendRequest", recommend);
    let mut recommend_for = json!({"interactions": [interaction]});
    recommend_for.as_object_mut().unwrap().extend(common.as_object().unwrap().clone());
    check_request::<RecommendForRequest>("RecommendForRequest", recommend_for);
    let explain = json!({"userId": "U1", "interactions": [{"itemId": "A", "rating": 1}], "itemIds": ["B"]});
    check_request::<ExplainRequest>("ExplainRequest", explain);
}

/// The keys of a serialized object, in the order they are written.
fn ordered_keys<T: Serialize>(value: &T) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    let Keys(keys) = serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap();
    keys
}

/// Whether a JSON value has the declared TypeScript type (named interfaces count as objects).
fn has_type(value: &Value, ty: &str) -> bool {
    let ty = ty.trim_end_matches(" | null");
    match value {
        Value::Null => false,
        Value::Bool(_) => ty == "boolean",
        Value::Number(_) => ty == "number",
        Value::String(s) => {
            ty == "string" || ty == "Source" || ty.split(" | ").any(|t| t == format!("\"{s}\""))
        }
        Value::Array(_) => ty.ends_with("[]") || ty.starts_with('['),
        Value::Object(_) => ty.starts_with(char::is_uppercase),
    }
}

/// Checks an answer interface against a serialized sample.
fn check_answer<T: Serialize>(ts: &str, sample: &T) {
    let keys = interface(ts);
    assert_eq!(names(&keys), ordered_keys(sample), "interface {ts}: keys in order");
    let value = serde_json::to_value(sample).unwrap();
    for key in &keys {
        assert!(!key.optional, "{ts}.{}: answers always carry every key", key.name);
        let v = &value[&key.name];
        let ok = if v.is_null() { key.ty.ends_with(" | null") } else { has_type(v, &key.ty) };
        assert!(ok, "{ts}.{}: {v} is not a `{}`", key.name, key.ty);
    }
}

/// A model with categories, a projection and a rating range, or with none of them.
fn model(full: bool) -> Recommender {
    let mut b = ModelBuilder::new(ModelKind::Rating, 2);
    b.user_ids = vec!["U1".into(), "U2".into()];
    b.item_ids = vec!["A".into(), "B".into(), "C".into()];
    b.user_factors = vec![1.0, 0.0, 0.0, 1.0];
    b.item_factors = vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5];
    b.user_bias = vec![0.0; 2];
    b.item_bias = vec![0.0; 3];
    b.seen = vec![(0, 0, 5.0)];
    if full {
        b.rating_range = Some((1.0, 5.0));
        b.item_categories = Some(vec!["x".into(), "y".into(), "y".into()]);
        b.item_projection = Some(vec![0.0, 0.0, 1.0, 1.0, 0.5, 0.5]);
        b.created_at = Some("2026-12-01T00:00:00Z".into());
    }
    Recommender::from_bytes(b.build().unwrap()).unwrap()
}

/// A ranking model with a one-block sequence network (format v4).
fn sequence_model() -> Recommender {
    let d = 2;
    let mut b = ModelBuilder::new(ModelKind::Ranking, d);
    b.user_ids = vec!["U1".into(), "U2".into()];
    b.item_ids = vec!["A".into(), "B".into(), "C".into()];
    b.user_factors = vec![1.0, 0.0, 0.0, 1.0];
    b.item_factors = vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5];
    b.user_bias = vec![0.0; 2];
    b.item_bias = vec![0.0; 3];
    b.seen = vec![(0, 0, 1.0), (1, 2, 1.0)];
    let v = |x: f32| vec![x; d];
    let w = || vec![0.5; d * d];
    let block = SequenceBlock {
        ln1_g: v(1.0),
        ln1_b: v(0.0),
        q_w: w(),
        q_b: v(0.0),
        k_w: w(),
        k_b: v(0.0),
        v_w: w(),
        v_b: v(0.0),
        o_w: w(),
        o_b: v(0.0),
        ln2_g: v(1.0),
        ln2_b: v(0.0),
        ff1_w: w(),
        ff1_b: v(0.0),
        ff2_w: w(),
        ff2_b: v(0.0),
    };
    b.sequence = Some(SequenceParts {
        max_len: 3,
        blocks: vec![block],
        positions: vec![0.1; 3 * d],
        final_g: v(1.0),
        final_b: v(0.0),
        history: vec![vec![0], vec![2]],
    });
    Recommender::from_bytes(b.build().unwrap()).unwrap()
}

#[test]
fn answer_typings_match_the_dtos() {
    for full in [true, false] {
        let r = model(full);
        let req: RecommendRequest = serde_json::from_value(json!({"userId": "U1"})).unwrap();
        let recs = r.recommend_request(&req).unwrap();
        check_answer("Recommendations", &recs);
        check_answer("ScoredItem", &recs.items[0]);
        let req: RecommendRequest = serde_json::from_value(json!({"userId": "nobody"})).unwrap();
        check_answer("Recommendations", &r.recommend_request(&req).unwrap());
        check_answer("ScoredItem", &r.similar_request("A", 1).unwrap()[0]);
        check_answer("ItemSummary", &r.items_page(0, 1)[0]);
        check_answer("RatedItem", &r.rated_request("U1").unwrap()[0]);
        check_answer("ModelInfo", &r.model_info());
        let listed: Vec<String> = recs.items.iter().map(|i| i.item_id.to_owned()).collect();
        let req: ExplainRequest = serde_json::from_value(json!({"userId": "U1", "itemIds": listed})).unwrap();
        let explained = r.explain_request(&req).unwrap();
        let because = explained.iter().flatten().next().expect("a listed item has a reason");
        check_answer("Because", because);
        let map = r.item_map();
        check_answer("ItemMap", &map);
        check_answer("MapPoint", &map.points[0]);
    }
    check_answer("RecencyInfo", &edgerec_core::RecencyInfo { weight: 0.5, decay: 0.8, window: 4 });
    let info = sequence_model().model_info();
    check_answer("ModelInfo", &info);
    check_answer("SequenceInfo", &info.sequence.unwrap());
}

/// Every interface is checked by one of the tests above.
#[test]
fn every_interface_is_checked() {
    let checked = [
        "Interaction",
        "RecommendRequest",
        "RecommendForRequest",
        "ExplainRequest",
        "Because",
        "Recommendations",
        "ScoredItem",
        "ItemSummary",
        "RatedItem",
        "ModelInfo",
        "ItemMap",
        "MapPoint",
        "RecencyInfo",
        "SequenceInfo",
    ];
    let declared: Vec<String> = interfaces().into_keys().collect();
    for name in &declared {
        assert!(checked.contains(&name.as_str()), "interface {name} has no check");
    }
}
