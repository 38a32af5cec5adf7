//! The `Recommender` class: a loaded model and the methods JavaScript calls on it.

use edgerec_core::OwnedModel;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::answer::{JsStrings, to_js};
use crate::dto::{
    BecauseOut, ExplainRequest, InfoOut, ItemMapOut, ItemOut, MapPointOut, RatedItemOut, RecommendForRequest,
    RecommendRequest, RecommendationsOut, ScoredItemOut,
};
use crate::{Error, Result, dto};

/// A model loaded from artifact bytes, answering queries in the caller's thread.
///
/// In JavaScript: `new Recommender(bytes)` with a `Uint8Array`; call `free()` when done.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Recommender {
    model: OwnedModel,
    /// JS strings reused across answers (filled by the JS API only).
    strings: JsStrings,
}

/// The native API: the same translation, without JavaScript values.
impl Recommender {
    /// Loads and validates an artifact.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        OwnedModel::from_vec(bytes)
            .map(|model| Self { model, strings: JsStrings::default() })
            .map_err(Error::Load)
    }

    /// `recommend()`: the user's list, shifted by the session's interactions when it has any.
    pub fn recommend_request(&self, req: &RecommendRequest) -> Result<RecommendationsOut<'_>> {
        let model = self.model.model();
        let opts = req.options();
        let recs = match req.interactions() {
            None => model.recommend(&req.user_id, &opts),
            Some(interactions) => model.recommend_session(&req.user_id, &interactions, &opts),
        }
        .map_err(Error::query("recommend"))?;
        Ok(RecommendationsOut::new(model, recs))
    }

    /// `recommendFor()`.
    pub fn recommend_for_request(&self, req: &RecommendForRequest) -> Result<RecommendationsOut<'_>> {
        let model = self.model.model();
        let recs = model
            .recommend_for_interactions(&req.interactions(), &req.options())
            .map_err(Error::query("recommendFor"))?;
        Ok(RecommendationsOut::new(model, recs))
    }

    /// `explain()`.
    pub fn explain_request(&self, req: &ExplainRequest) -> Result<Vec<Vec<BecauseOut<'_>>>> {
        let model = self.model.model();
        let items = req
            .item_ids
            .iter()
            .map(|id| model.item_index(id).ok_or_else(|| edgerec_core::Error::UnknownItem { id: id.clone() }))
            .collect::<edgerec_core::Result<Vec<usize>>>()
            .map_err(Error::query("explain"))?;
        let because = model
            .explain(req.user_id.as_deref(), &req.interactions(), &items)
            .map_err(Error::query("explain"))?;
        Ok(because
            .into_iter()
            .map(|b| b.into_iter().map(|x| BecauseOut { item_id: x.item_id, share: x.share }).collect())
            .collect())
    }

    /// `similar()`.
    pub fn similar_request(&self, item_id: &str, n: usize) -> Result<Vec<ScoredItemOut<'_>>> {
        let model = self.model.model();
        let items = model.similar_items(item_id, n, None).map_err(Error::query("similar"))?;
        Ok(items.into_iter().map(|i| ScoredItemOut::new(model, i)).collect())
    }

    /// `users()`.
    pub fn users_page(&self, offset: usize, limit: usize) -> Vec<&str> {
        self.model.model().user_ids(offset, limit).collect()
    }

    /// `items()`.
    pub fn items_page(&self, offset: usize, limit: usize) -> Vec<ItemOut<'_>> {
        let model = self.model.model();
        let start = offset.min(model.num_items());
        model
            .item_ids(offset, limit)
            .enumerate()
            .map(|(k, item_id)| ItemOut {
                item_id,
                index: start + k,
                category: model.item_category(start + k),
            })
            .collect()
    }

    /// `rated()`.
    pub fn rated_request(&self, user_id: &str) -> Result<Vec<RatedItemOut<'_>>> {
        let model = self.model.model();
        let user = model.user_index(user_id).ok_or_else(|| Error::Query {
            method: "rated",
            source: edgerec_core::Error::UnknownUser { id: user_id.to_owned() },
        })?;
        Ok(model
            .seen_items(user)
            .map(|(index, rating)| RatedItemOut {
                item_id: model.item_id(index),
                index,
                rating,
                category: model.item_category(index),
            })
            .collect())
    }

    /// `itemMap()`: the artifact's projection, or one the core computes from the item factors
    /// when the artifact leaves it out (`trainer train --item-map`).
    pub fn item_map(&self) -> ItemMapOut<'_> {
        let model = self.model.model();
        let xy = model.item_map();
        let points = xy
            .chunks_exact(2)
            .enumerate()
            .map(|(index, p)| MapPointOut {
                item_id: model.item_id(index),
                index,
                x: p[0],
                y: p[1],
                category: model.item_category(index),
            })
            .collect();
        ItemMapOut { categories: model.categories(), points, stored: model.item_projection(0).is_some() }
    }

    /// `info()`.
    pub fn model_info(&self) -> InfoOut {
        InfoOut::new(self.model.model().info(), self.model.bytes().len())
    }
}

/// Reads a request object with serde-wasm-bindgen, first rejecting keys the DTO does not
/// declare (serde-wasm-bindgen reads only the declared keys, so `deny_unknown_fields` alone
/// would not see a typo such as `topn`). The message is serde's own for an unknown field.
fn from_js<T: DeserializeOwned>(method: &'static str, value: JsValue) -> Result<T> {
    let invalid = |message: String| Error::Request { method, message };
    if value.is_object() && !js_sys::Array::is_array(&value) {
        let fields = dto::field_names::<T>();
        let keys = js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>());
        if let Some(key) = keys.iter().filter_map(|k| k.as_string()).find(|k| !fields.contains(&k.as_str())) {
            let expected = fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
            return Err(invalid(format!("unknown field `{key}`, expected one of {expected}")));
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// The JavaScript API.
#[wasm_bindgen]
impl Recommender {
    /// Loads a model from the bytes of a `.safetensors` artifact. Throws an `Error` that says
    /// what is wrong with a missing, truncated or corrupt file.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<Recommender, JsError> {
        Ok(Self::from_bytes(bytes)?)
    }

    /// Top-N items for a known user. An unknown user gets the popular items, with
    /// `source: "popular"` and a `reason`.
    ///
    /// With `interactions` (what the user just did in this session, oldest first), a known
    /// user's list is shifted by them at once, with no retraining, and their items are left
    /// out (`source: "session"`); an unknown user is folded in like an anonymous visitor.
    #[wasm_bindgen(js_name = recommend, unchecked_return_type = "Recommendations")]
    pub fn js_recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let req: RecommendRequest = from_js("recommend", request)?;
        let recs = self.recommend_request(&req)?;
        Ok(self.strings.recommendations("recommend", self.model.model(), &recs)?)
    }

    /// Top-N items for an anonymous visitor, folded in from their interactions with no
    /// retraining. With no known items it returns the popular items and says why.
    #[wasm_bindgen(js_name = recommendFor, unchecked_return_type = "Recommendations")]
    pub fn js_recommend_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendForRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let req: RecommendForRequest = from_js("recommendFor", request)?;
        let recs = self.recommend_for_request(&req)?;
        Ok(self.strings.recommendations("recommendFor", self.model.model(), &recs)?)
    }

    /// For each listed item, up to three of the user's (or the session's) items behind its
    /// score, largest share first: see `edgerec_core::Model::explain`.
    #[wasm_bindgen(js_name = explain, unchecked_return_type = "Because[][]")]
    pub fn js_explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ExplainRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let req: ExplainRequest = from_js("explain", request)?;
        Ok(to_js("explain", &self.explain_request(&req)?)?)
    }

    /// The `n` items most similar to `itemId` (cosine similarity of item factors).
    #[wasm_bindgen(js_name = similar, unchecked_return_type = "ScoredItem[]")]
    pub fn js_similar(
        &self,
        #[wasm_bindgen(js_name = itemId)] item_id: &str,
        n: u32,
    ) -> Result<JsValue, JsError> {
        let items = self.similar_request(item_id, n as usize)?;
        Ok(self.strings.scored_items(self.model.model(), &items).into())
    }

    /// Up to `limit` user IDs from position `offset`, in ID order.
    #[wasm_bindgen(js_name = users, unchecked_return_type = "string[]")]
    pub fn js_users(&self, offset: u32, limit: u32) -> Result<JsValue, JsError> {
        Ok(to_js("users", &self.users_page(offset as usize, limit as usize))?)
    }

    /// Up to `limit` items from position `offset`, in ID order, with their categories.
    #[wasm_bindgen(js_name = items, unchecked_return_type = "ItemSummary[]")]
    pub fn js_items(&self, offset: u32, limit: u32) -> Result<JsValue, JsError> {
        Ok(to_js("items", &self.items_page(offset as usize, limit as usize))?)
    }

    /// The items a known user rated in training, in index order. Throws for an unknown user.
    #[wasm_bindgen(js_name = rated, unchecked_return_type = "RatedItem[]")]
    pub fn js_rated(&self, #[wasm_bindgen(js_name = userId)] user_id: &str) -> Result<JsValue, JsError> {
        Ok(to_js("rated", &self.rated_request(user_id)?)?)
    }

    /// The 2-D item map: the artifact's, or computed from the item factors when it has none.
    #[wasm_bindgen(js_name = itemMap, unchecked_return_type = "ItemMap")]
    pub fn js_item_map(&self) -> Result<JsValue, JsError> {
        Ok(to_js("itemMap", &self.item_map())?)
    }

    /// Facts about the loaded model.
    #[wasm_bindgen(js_name = info, unchecked_return_type = "ModelInfo")]
    pub fn js_info(&self) -> Result<JsValue, JsError> {
        Ok(to_js("info", &self.model_info())?)
    }
}
