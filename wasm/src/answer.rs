//! Query answers as JavaScript values, built without a serializer on the hot path.
//!
//! `recommend()`, `recommendFor()` and `similar()` run once per user interaction, and with a
//! few hundred items the boundary used to cost as much as the scoring: serde-wasm-bindgen
//! decodes every item ID and category name from UTF-8 into a new JS string on every call, and
//! sets every field with its own call across the boundary. Here each item is one call to a
//! small JS function whose object literal gives the same plain object (same keys, same order)
//! as `Serialize` on the [`dto`](crate::dto) types, so the TypeScript typings are unchanged.
//! Everything else (pages, the item map, info) still goes through serde-wasm-bindgen: those
//! calls are rare and large.
//!
//! In a catalogue of up to [`CACHED_CATALOGUE_MAX`] items, the item IDs and categories become JS
//! strings once, the first time an item is returned: there items come back again and again, and
//! the kept strings stay few. In a larger one they are made anew on every call: on a 1M-item
//! catalogue, where most answers hold items not returned before, keeping them cost 3–10 µs a
//! call (V8 moving each kept string out of its young generation) against the 1–2 µs that making
//! ten short strings costs, and the kept strings would grow towards the whole catalogue
//! (`docs/notes/scale-experiments.md`).

use std::cell::RefCell;

use edgerec_core::{Model, Source};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::dto::{RecommendationsOut, ScoredItemOut};
use crate::{Error, Result};

#[wasm_bindgen(inline_js = r#"
export function pushScoredItem(items, itemId, index, score, predictedRating, category) {
  items.push({ itemId, index, score, predictedRating: predictedRating ?? null, category });
}
export function recommendations(items, source, reason, unknownItems) {
  return { items, source, reason, unknownItems };
}
"#)]
extern "C" {
    /// Appends `{itemId, index, score, predictedRating, category}` (a `ScoredItem`) to
    /// `items`; wasm-bindgen passes `None` as `undefined`, which becomes `null`.
    #[wasm_bindgen(js_name = pushScoredItem)]
    fn push_scored_item(
        items: &js_sys::Array,
        item_id: &JsValue,
        index: u32,
        score: f32,
        predicted_rating: Option<f32>,
        category: &JsValue,
    );

    /// `{items, source, reason, unknownItems}` (a `Recommendations`).
    fn recommendations(
        items: &js_sys::Array,
        source: &JsValue,
        reason: &JsValue,
        unknown_items: &JsValue,
    ) -> JsValue;
}

/// The largest catalogue whose item strings [`JsStrings`] keeps (see the module docs).
pub(crate) const CACHED_CATALOGUE_MAX: usize = 1 << 16;

/// JavaScript strings for what answers repeat: each item's ID and category, made the first
/// time the item is returned (in a catalogue of up to [`CACHED_CATALOGUE_MAX`] items), and the
/// `source` names. Empty until the first JS call, so the native API never touches it.
#[derive(Default)]
pub(crate) struct JsStrings {
    /// `(itemId, category or null)` by dense item index; sized to the model on first use, and
    /// left empty for a catalogue over [`CACHED_CATALOGUE_MAX`].
    items: RefCell<Vec<Option<(JsValue, JsValue)>>>,
    /// By [`source_slot`].
    sources: RefCell<[Option<JsValue>; 4]>,
}

impl std::fmt::Debug for JsStrings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.items.borrow().iter().filter(|s| s.is_some()).count();
        f.debug_struct("JsStrings").field("cached_items", &cached).finish_non_exhaustive()
    }
}

/// Any serializable answer, through serde-wasm-bindgen (JSON-compatible: maps become plain
/// objects).
pub(crate) fn to_js<T: Serialize + ?Sized>(method: &'static str, value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Output { method, message: e.to_string() })
}

fn source_slot(source: Source) -> usize {
    match source {
        Source::Personalized => 0,
        Source::FoldIn => 1,
        Source::Popular => 2,
        Source::Session => 3,
    }
}

impl JsStrings {
    /// A `ScoredItem[]`.
    pub(crate) fn scored_items(&self, model: &Model<'_>, items: &[ScoredItemOut<'_>]) -> js_sys::Array {
        let make = |item: &ScoredItemOut<'_>| {
            let category = item.category.map_or(JsValue::NULL, JsValue::from_str);
            (JsValue::from_str(item.item_id), category)
        };
        // Dense indices fit in u32: wasm32's usize is 32 bits wide.
        let push = |out: &js_sys::Array, item: &ScoredItemOut<'_>, (id, category): &(JsValue, JsValue)| {
            push_scored_item(out, id, item.index as u32, item.score, item.predicted_rating, category);
        };
        let out = js_sys::Array::new();
        if model.num_items() > CACHED_CATALOGUE_MAX {
            items.iter().for_each(|item| push(&out, item, &make(item)));
            return out;
        }
        let mut cache = self.items.borrow_mut();
        if cache.len() != model.num_items() {
            cache.clear();
            cache.resize_with(model.num_items(), || None);
        }
        for item in items {
            push(&out, item, cache[item.index].get_or_insert_with(|| make(item)));
        }
        out
    }

    /// A `Recommendations`.
    pub(crate) fn recommendations(
        &self,
        method: &'static str,
        model: &Model<'_>,
        recs: &RecommendationsOut<'_>,
    ) -> Result<JsValue> {
        let items = self.scored_items(model, &recs.items);
        let source = {
            let mut sources = self.sources.borrow_mut();
            let slot = &mut sources[source_slot(recs.source)];
            match slot {
                Some(source) => source.clone(),
                // The name as the core spells it (serde), made once.
                None => slot.insert(to_js(method, &recs.source)?).clone(),
            }
        };
        let reason = recs.reason.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        let unknown_items = if recs.unknown_items.is_empty() {
            js_sys::Array::new().into()
        } else {
            to_js(method, &recs.unknown_items)?
        };
        Ok(recommendations(&items, &source, &reason, &unknown_items))
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
#[allow(clippy::unwrap_used)] // Tests fail loudly by design.
mod tests {
    use edgerec_core::{ModelBuilder, ModelKind};
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::CACHED_CATALOGUE_MAX;
    use crate::Recommender;
    use crate::dto::RecommendRequest;

    /// `items` items in two categories (one ID and one category not ASCII), d = 2, two users.
    fn recommender(items: usize) -> Recommender {
        let mut b = ModelBuilder::new(ModelKind::Ranking, 2);
        b.user_ids = vec!["U1".into(), "U2".into()];
        b.item_ids = (0..items).map(|i| format!("I{i:06}")).collect();
        b.item_ids[items - 1] = "Ïtem-ü".into();
        let category = |i: usize| if i.is_multiple_of(3) { "mode-été" } else { "tech" };
        b.item_categories = Some((0..items).map(|i| category(i).into()).collect());
        b.user_factors = vec![1.0, 0.0, 0.3, 1.0];
        b.item_factors = (0..2 * items).map(|k| ((k * 7919) % 1009) as f32 / 1009.0).collect();
        b.item_factors[2 * (items - 1)..].fill(2.0);
        b.user_bias = vec![0.0; 2];
        b.item_bias = vec![0.0; items];
        Recommender::new(b.build().unwrap()).map_err(JsValue::from).unwrap()
    }

    /// Below and above the cache's limit, first and repeated answers: the JS items are the
    /// native answer's (IDs, categories, indices, scores).
    #[wasm_bindgen_test]
    fn items_are_the_native_answers_with_and_without_the_cache() {
        for items in [CACHED_CATALOGUE_MAX, CACHED_CATALOGUE_MAX + 1] {
            let rec = recommender(items);
            for user in ["U1", "U2", "U1"] {
                let req = RecommendRequest {
                    user_id: user.into(),
                    top_n: 10,
                    exclude_rated: true,
                    exclude_items: Vec::new(),
                    categories: None,
                    max_per_category: None,
                    candidates: None,
                    offset: 0,
                    interactions: None,
                };
                let want = rec.recommend_request(&req).unwrap();
                let request = format!(r#"{{"userId": "{user}", "topN": 10, "excludeRated": true}}"#);
                let answer = rec.js_recommend(js_sys::JSON::parse(&request).unwrap()).map_err(JsValue::from);
                let got: serde_json::Value = serde_wasm_bindgen::from_value(answer.unwrap()).unwrap();
                let got = got["items"].as_array().unwrap();
                assert_eq!(got.len(), 10, "{items} items, {user}");
                assert_eq!(got[0]["itemId"], "Ïtem-ü", "{items} items, {user}");
                for (g, w) in got.iter().zip(&want.items) {
                    assert_eq!(g["itemId"], w.item_id);
                    assert_eq!(g["category"], w.category.unwrap());
                    assert_eq!(g["index"], w.index);
                    assert_eq!(g["score"].as_f64().unwrap() as f32, w.score);
                }
            }
        }
    }
}
