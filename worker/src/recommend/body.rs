//! The body of `POST /recommend`, read and validated into a [`Query`] before the core is called.
//!
//! serde checks the JSON types, unknown and duplicate fields; this module checks the rest:
//!
//! - every field may be left out, and its default applies, but no field may be `null` (as in
//!   the seed's FastAPI, where `null` is not a valid value of any field): a `null` is a 400
//!   that names the field;
//! - ranges and sizes;
//! - the one either/or rule: at least one of `user_id` and `interactions`. Both together mean
//!   "this known user, plus what they just did".
//!
//! `worker/src/openapi.json` describes the same rules; the tests below check that the two agree.

use edgerec_core::RecommendOptions;
use serde::Deserialize;

use crate::error::{self, ApiError};
use crate::http;
use crate::json::{Int, Object, nullable};

/// `top_n` / `n` must be in `1..=MAX_TOP_N`.
pub const MAX_TOP_N: usize = 100;
/// Longest list of `exclude_items`, `categories`, `candidates` or `interactions`.
const MAX_LIST: usize = 1000;
/// The largest `offset`: pages reach down to the core's deepest list, rank 1,000.
pub const MAX_OFFSET: usize = edgerec_core::MAX_TOP_N - MAX_TOP_N;

/// The raw body. Each field is `None` when left out and `Some(None)` when `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default, deserialize_with = "nullable")]
    user_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    top_n: Option<Option<Int>>,
    #[serde(default, deserialize_with = "nullable")]
    exclude_rated: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    exclude_items: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    categories: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    interactions: Option<Option<Vec<Object<Interaction>>>>,
    #[serde(default, deserialize_with = "nullable")]
    max_per_category: Option<Option<Int>>,
    #[serde(default, deserialize_with = "nullable")]
    candidates: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    offset: Option<Option<Int>>,
    #[serde(default, deserialize_with = "nullable")]
    explain: Option<Option<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Interaction {
    item_id: String,
    rating: f64,
}

/// A field's value, or `None` when left out; `null` is an error.
fn given<T>(name: &str, field: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match field {
        None => Ok(None),
        Some(Some(value)) => Ok(Some(value)),
        Some(None) => Err(ApiError::invalid(format!(
            "`{name}` is null; leave the field out to get its default, or give a value"
        ))),
    }
}

/// Whom the list is for.
#[derive(Debug, PartialEq)]
pub enum Who {
    /// A user ID alone: the user's trained factors (an unknown user gets popular items).
    User(String),
    /// Interactions alone: an anonymous visitor, folded in.
    Anonymous(Vec<(String, f32)>),
    /// A user ID plus what they just did, oldest first (`Model::recommend_session`).
    Session(String, Vec<(String, f32)>),
}

/// A validated `POST /recommend`.
#[derive(Debug, PartialEq)]
pub struct Query {
    pub who: Who,
    pub opts: RecommendOptions,
    /// Attach `because` to each item.
    pub explain: bool,
}

impl Query {
    /// The user the request is for, if any (it picks the canary or the current model).
    pub fn user_id(&self) -> Option<&str> {
        match &self.who {
            Who::User(user) | Who::Session(user, _) => Some(user),
            Who::Anonymous(_) => None,
        }
    }
}

/// Parses and validates the body bytes.
pub fn parse(bytes: &[u8]) -> Result<Query, ApiError> {
    let Object(body): Object<Body> = serde_json::from_slice(bytes).map_err(|e| error::from_json_error(&e))?;
    let top_n = match given("top_n", body.top_n)?.map(|Int(n)| n) {
        None => RecommendOptions::default().top_n,
        Some(n) if (1..=MAX_TOP_N as i128).contains(&n) => n as usize,
        Some(n) => return Err(ApiError::invalid(format!("`top_n` must be in 1..={MAX_TOP_N}, got {n}"))),
    };
    let exclude_rated = given("exclude_rated", body.exclude_rated)?.unwrap_or(true);
    let exclude_items =
        list("exclude_items", given("exclude_items", body.exclude_items)?.unwrap_or_default())?;
    let categories = given("categories", body.categories)?.map(|c| list("categories", c)).transpose()?;
    let max_per_category = match given("max_per_category", body.max_per_category)?.map(|Int(k)| k) {
        None => None,
        Some(k) if (1..=MAX_TOP_N as i128).contains(&k) => Some(k as usize),
        Some(k) => {
            return Err(ApiError::invalid(format!("`max_per_category` must be in 1..={MAX_TOP_N}, got {k}")));
        }
    };
    let candidates = given("candidates", body.candidates)?.map(|c| list("candidates", c)).transpose()?;
    let offset = match given("offset", body.offset)?.map(|Int(k)| k) {
        None => 0,
        Some(k) if (0..=MAX_OFFSET as i128).contains(&k) => k as usize,
        Some(k) => {
            return Err(ApiError::invalid(format!(
                "`offset` must be in 0..={MAX_OFFSET}: pages end at rank {}, got {k}",
                edgerec_core::MAX_TOP_N
            )));
        }
    };
    let opts = RecommendOptions {
        top_n,
        exclude_rated,
        exclude_items,
        categories,
        unavailable: None,
        max_per_category,
        candidates,
        offset,
    };

    let user_id = given("user_id", body.user_id)?;
    if let Some(user_id) = &user_id {
        http::check_id("user_id", user_id)?;
    }
    let interactions = given("interactions", body.interactions)?.map(interactions).transpose()?;
    let who = match (user_id, interactions) {
        (None, None) => {
            return Err(ApiError::invalid(
                "give `user_id`, `interactions` (an anonymous visitor), or both (a user plus what they just did)",
            ));
        }
        (Some(user_id), None) => Who::User(user_id),
        (None, Some(interactions)) => Who::Anonymous(interactions),
        (Some(user_id), Some(interactions)) => Who::Session(user_id, interactions),
    };
    let explain = given("explain", body.explain)?.unwrap_or(false);
    Ok(Query { who, opts, explain })
}

fn list(name: &str, values: Vec<String>) -> Result<Vec<String>, ApiError> {
    if values.len() > MAX_LIST {
        return Err(ApiError::invalid(format!("`{name}` holds more than {MAX_LIST} entries")));
    }
    for (i, v) in values.iter().enumerate() {
        http::check_id(format_args!("{name}[{i}]"), v)?;
    }
    Ok(values)
}

fn interactions(given: Vec<Object<Interaction>>) -> Result<Vec<(String, f32)>, ApiError> {
    if given.len() > MAX_LIST {
        return Err(ApiError::invalid(format!("`interactions` holds more than {MAX_LIST} entries")));
    }
    let mut pairs = Vec::with_capacity(given.len());
    for (i, Object(it)) in given.into_iter().enumerate() {
        http::check_id(format_args!("interactions[{i}].item_id"), &it.item_id)?;
        let rating = it.rating as f32;
        if !rating.is_finite() {
            return Err(ApiError::invalid(format!("`interactions[{i}].rating` is out of range")));
        }
        pairs.push((it.item_id, rating));
    }
    Ok(pairs)
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
