//! Request objects read from JavaScript into the [`dto`](crate::dto) types.
//!
//! serde-wasm-bindgen defines what a request means: [`from_js`] reads any value through it and
//! reports what is wrong in its words. The hot requests, `recommend()` (with or without a
//! session's `interactions`) and `recommendFor()`, first try a direct reader that accepts only
//! the ordinary shapes (strings, numbers, booleans, arrays) and reads them the way
//! serde-wasm-bindgen would, with the key names made into JS strings once; anything else,
//! including every malformed request, falls back to serde-wasm-bindgen, so results and error
//! messages are the same either way.

use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::dto::{Interaction, RecommendForRequest, RecommendRequest, default_exclude_rated, default_top_n};
use crate::{Error, Result};

#[wasm_bindgen]
extern "C" {
    /// Any object, read by key (`obj[key]`, prototype chain included, as serde-wasm-bindgen
    /// reads struct fields).
    type Fields;

    #[wasm_bindgen(method, indexing_getter)]
    fn get(this: &Fields, key: &JsValue) -> JsValue;
}

/// Reads a request object, rejecting keys outside `fields` (serde-wasm-bindgen reads only the
/// declared keys, so `deny_unknown_fields` alone would not see a typo).
pub(crate) fn from_js<T: DeserializeOwned>(
    method: &'static str,
    fields: &[&str],
    value: JsValue,
) -> Result<T> {
    if value.is_object() && !js_sys::Array::is_array(&value) {
        let keys = js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>());
        if let Some(key) = keys.iter().filter_map(|k| k.as_string()).find(|k| !fields.contains(&k.as_str())) {
            let expected = fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
            return Err(Error::Request {
                method,
                message: format!("unknown field `{key}`, expected one of {expected}"),
            });
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::Request { method, message: e.to_string() })
}

/// The argument of `recommend()`.
pub(crate) fn recommend(value: JsValue) -> Result<RecommendRequest> {
    match KEYS.with(|k| k.recommend(&value)) {
        Some(req) => Ok(req),
        None => from_js("recommend", RecommendRequest::FIELDS, value),
    }
}

/// The argument of `recommendFor()`.
pub(crate) fn recommend_for(value: JsValue) -> Result<RecommendForRequest> {
    match KEYS.with(|k| k.recommend_for(&value)) {
        Some(req) => Ok(req),
        None => from_js("recommendFor", RecommendForRequest::FIELDS, value),
    }
}

thread_local! {
    static KEYS: Keys = Keys::new();
}

/// The request keys as JS strings, in the order of the DTOs' `FIELDS`.
struct Keys {
    recommend: Vec<JsValue>,
    recommend_for: Vec<JsValue>,
    item_id: JsValue,
    rating: JsValue,
}

/// A field as the direct reader sees it.
enum Field {
    /// Not in the object: the default applies.
    Missing,
    /// Present with this value.
    Value(JsValue),
}

impl Keys {
    fn new() -> Self {
        let js = |fields: &[&str]| fields.iter().map(|f| JsValue::from_str(f)).collect();
        Self {
            recommend: js(RecommendRequest::FIELDS),
            recommend_for: js(RecommendForRequest::FIELDS),
            item_id: JsValue::from_str("itemId"),
            rating: JsValue::from_str("rating"),
        }
    }

    /// The fields of a plain object with no keys outside `keys`, or `None`. An `undefined`
    /// value counts as missing only if the key is not `in` the object, as in serde-wasm-bindgen.
    fn fields<const N: usize>(value: &JsValue, keys: &[JsValue]) -> Option<[Field; N]> {
        if !value.is_object() || js_sys::Array::is_array(value) {
            return None;
        }
        let own = js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>());
        for k in 0..own.length() {
            let key = own.get(k);
            if !keys.contains(&key) {
                return None;
            }
        }
        let obj: &Fields = value.unchecked_ref();
        let mut out = [const { Field::Missing }; N];
        for (slot, key) in out.iter_mut().zip(keys) {
            let v = obj.get(key);
            if !v.is_undefined() {
                *slot = Field::Value(v);
            } else if key.js_in(value) {
                return None;
            }
        }
        Some(out)
    }

    fn recommend(&self, value: &JsValue) -> Option<RecommendRequest> {
        let [user_id, top_n, exclude_rated, exclude_items, categories, interactions] =
            Self::fields(value, &self.recommend)?;
        Some(RecommendRequest {
            user_id: string(required(user_id)?)?,
            top_n: optional(top_n, default_top_n(), index)?,
            exclude_rated: optional(exclude_rated, default_exclude_rated(), |v| v.as_bool())?,
            exclude_items: optional(exclude_items, Vec::new(), strings)?,
            categories: optional(categories, None, nullable_strings)?,
            interactions: optional(interactions, None, |v| {
                if v.is_null() { Some(None) } else { self.interactions(&v).map(Some) }
            })?,
        })
    }

    fn recommend_for(&self, value: &JsValue) -> Option<RecommendForRequest> {
        let [interactions, top_n, exclude_rated, exclude_items, categories] =
            Self::fields(value, &self.recommend_for)?;
        Some(RecommendForRequest {
            interactions: self.interactions(&required(interactions)?)?,
            top_n: optional(top_n, default_top_n(), index)?,
            exclude_rated: optional(exclude_rated, default_exclude_rated(), |v| v.as_bool())?,
            exclude_items: optional(exclude_items, Vec::new(), strings)?,
            categories: optional(categories, None, nullable_strings)?,
        })
    }

    fn interactions(&self, value: &JsValue) -> Option<Vec<Interaction>> {
        array(value, |v| self.interaction(v))
    }

    /// `{itemId, rating}`; as in serde-wasm-bindgen, nested objects may carry other keys.
    fn interaction(&self, value: JsValue) -> Option<Interaction> {
        if !value.is_object() || js_sys::Array::is_array(&value) {
            return None;
        }
        let obj: &Fields = value.unchecked_ref();
        let (item_id, rating) = (obj.get(&self.item_id), obj.get(&self.rating));
        Some(Interaction { item_id: item_id.as_string()?, rating: rating.as_f64()? as f32 })
    }
}

fn required(field: Field) -> Option<JsValue> {
    match field {
        Field::Missing => None,
        Field::Value(v) => Some(v),
    }
}

fn optional<T>(field: Field, default: T, read: impl FnOnce(JsValue) -> Option<T>) -> Option<T> {
    match field {
        Field::Missing => Some(default),
        Field::Value(v) => read(v),
    }
}

fn string(value: JsValue) -> Option<String> {
    value.as_string()
}

/// A `usize` as serde-wasm-bindgen reads one: a non-negative safe integer that fits.
fn index(value: JsValue) -> Option<usize> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    let v = value.as_f64()?;
    let fits = v.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&v) && v <= usize::MAX as f64;
    fits.then_some(v as usize)
}

fn array<T>(value: &JsValue, read: impl FnMut(JsValue) -> Option<T>) -> Option<Vec<T>> {
    let array: &js_sys::Array = value.dyn_ref()?;
    (0..array.length()).map(|k| array.get(k)).map(read).collect()
}

fn strings(value: JsValue) -> Option<Vec<String>> {
    array(&value, string)
}

fn nullable_strings(value: JsValue) -> Option<Option<Vec<String>>> {
    if value.is_null() { Some(None) } else { strings(value).map(Some) }
}
