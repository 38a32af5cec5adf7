//! Query answers as JavaScript values, built without a serializer on the hot path.
//!
//! `recommend()`, `recommendFor()` and `similar()` run once per user interaction, and with a
//! few hundred items the boundary used to cost as much as the scoring: serde-wasm-bindgen
//! decodes every item ID and category name from UTF-8 into a new JS string on every call, and
//! sets every field with its own call across the boundary. Here the item IDs and categories
//! become JS strings once, the first time an item is returned, and each item is one call to a
//! small JS function whose object literal gives the same plain object (same keys, same order)
//! as `Serialize` on the [`dto`](crate::dto) types, so the TypeScript typings are unchanged.
//! Everything else (pages, the item map, info) still goes through serde-wasm-bindgen: those
//! calls are rare and large.

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

/// JavaScript strings for what answers repeat: each item's ID and category, made the first
/// time the item is returned, and the `source` names. Empty until the first JS call, so the
/// native API never touches it.
#[derive(Default)]
pub(crate) struct JsStrings {
    /// `(itemId, category or null)` by dense item index; sized to the model on first use.
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
        let mut cache = self.items.borrow_mut();
        if cache.len() != model.num_items() {
            cache.clear();
            cache.resize_with(model.num_items(), || None);
        }
        let out = js_sys::Array::new();
        for item in items {
            let (id, category) = cache[item.index].get_or_insert_with(|| {
                let category = item.category.map_or(JsValue::NULL, JsValue::from_str);
                (JsValue::from_str(item.item_id), category)
            });
            // Dense indices fit in u32: wasm32's usize is 32 bits wide.
            push_scored_item(&out, id, item.index as u32, item.score, item.predicted_rating, category);
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
