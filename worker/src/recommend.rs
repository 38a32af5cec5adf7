//! `POST /recommend` and `GET /recommend/{user_id}?n=10`, in the seed's shape.
//!
//! Every field is validated here, before the core is called: types and unknown fields by
//! serde, ranges and sizes below.

use edgerec_core::{Model, RecommendOptions, Recommendations, Source};
use serde::{Deserialize, Serialize};

use crate::error::{self, ApiError};
use crate::http::{self, Reply};
use crate::store::Ready;

/// `top_n` / `n` must be in `1..=MAX_TOP_N`.
const MAX_TOP_N: usize = 100;
/// Longest list of `exclude_items`, `categories` or `interactions`.
const MAX_LIST: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    user_id: Option<String>,
    top_n: Option<u64>,
    exclude_rated: Option<bool>,
    exclude_items: Option<Vec<String>>,
    categories: Option<Vec<String>>,
    interactions: Option<Vec<Interaction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Interaction {
    item_id: String,
    rating: f64,
}

#[derive(Serialize)]
struct Answer<'a> {
    user_id: Option<&'a str>,
    recommendations: Vec<Ranked<'a>>,
    total_count: usize,
    /// `popular` when the list is the popularity fallback (unknown user, or no known item).
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<&'static str>,
    /// Interactions whose item the model does not know (anonymous fold-in only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown_items: Vec<String>,
}

#[derive(Serialize)]
struct Ranked<'a> {
    rank: usize,
    item_id: &'a str,
    predicted_rating: f64,
}

/// A score rounded to 4 decimals, as the seed reports it.
pub fn round4(score: f32) -> f64 {
    (f64::from(score) * 1e4).round() / 1e4
}

/// `POST /recommend` with the (already size- and type-checked) body bytes.
pub fn post(ready: Ready, body: &[u8]) -> Result<Reply, ApiError> {
    let body: Body = serde_json::from_slice(body).map_err(|e| error::from_json_error(&e))?;
    let top_n = match body.top_n {
        None => 10,
        Some(n) if (1..=MAX_TOP_N as u64).contains(&n) => n as usize,
        Some(n) => return Err(ApiError::invalid(format!("`top_n` must be in 1..={MAX_TOP_N}, got {n}"))),
    };
    let exclude_items = list("exclude_items", body.exclude_items)?;
    let categories = body.categories.map(|c| list("categories", Some(c))).transpose()?;
    let opts = RecommendOptions {
        top_n,
        exclude_rated: body.exclude_rated.unwrap_or(true),
        exclude_items,
        categories,
    };
    let model = ready.model;
    match (body.user_id, body.interactions) {
        (Some(_), Some(_)) => Err(ApiError::invalid("give either `user_id` or `interactions`, not both")),
        (None, None) => Err(ApiError::invalid("give `user_id`, or `interactions` for an anonymous visitor")),
        (Some(user_id), None) => {
            http::check_id("user_id", &user_id)?;
            answer(model, Some(&user_id), model.recommend(&user_id, &opts)?)
        }
        (None, Some(interactions)) => {
            if interactions.len() > MAX_LIST {
                return Err(ApiError::invalid(format!("`interactions` holds more than {MAX_LIST} entries")));
            }
            let mut pairs = Vec::with_capacity(interactions.len());
            for (i, it) in interactions.into_iter().enumerate() {
                http::check_id(&format!("interactions[{i}].item_id"), &it.item_id)?;
                let rating = it.rating as f32;
                if !rating.is_finite() {
                    return Err(ApiError::invalid(format!("`interactions[{i}].rating` is out of range")));
                }
                pairs.push((it.item_id, rating));
            }
            answer(model, None, model.recommend_for_interactions(&pairs, &opts)?)
        }
    }
}

/// `GET /recommend/{user_id}?n=10&exclude_rated=true`.
pub fn get(ready: Ready, user_id: &str, query: &[(String, String)]) -> Result<Reply, ApiError> {
    http::check_id("user_id", user_id)?;
    let top_n = http::int_param(query, "n", 10, 1, MAX_TOP_N)?;
    let exclude_rated = http::bool_param(query, "exclude_rated", true)?;
    let opts = RecommendOptions { top_n, exclude_rated, ..RecommendOptions::default() };
    let model = ready.model;
    Ok(answer(model, Some(user_id), model.recommend(user_id, &opts)?)?.cacheable("public, max-age=60"))
}

fn list(name: &str, values: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let values = values.unwrap_or_default();
    if values.len() > MAX_LIST {
        return Err(ApiError::invalid(format!("`{name}` holds more than {MAX_LIST} entries")));
    }
    for (i, v) in values.iter().enumerate() {
        http::check_id(&format!("{name}[{i}]"), v)?;
    }
    Ok(values)
}

fn answer(model: &Model<'_>, user_id: Option<&str>, recs: Recommendations<'_>) -> Result<Reply, ApiError> {
    let work = match recs.source {
        Source::Personalized => format!("{} items scored, d={}", model.num_items(), model.dim()),
        Source::FoldIn => format!("fold-in, then {} items scored, d={}", model.num_items(), model.dim()),
        Source::Popular => "popularity fallback, no scoring".to_owned(),
    };
    let recommendations: Vec<Ranked<'_>> = recs
        .items
        .iter()
        .enumerate()
        .map(|(i, s)| Ranked { rank: i + 1, item_id: s.item_id, predicted_rating: round4(s.score) })
        .collect();
    let answer = Answer {
        user_id,
        total_count: recommendations.len(),
        recommendations,
        fallback: (recs.source == Source::Popular).then_some("popular"),
        unknown_items: recs.unknown_items,
    };
    Ok(Reply::json(&answer)?.with_work(work))
}

#[cfg(test)]
mod tests {
    use super::round4;

    #[test]
    fn scores_are_rounded_to_four_decimals() {
        assert_eq!(round4(4.875_649), 4.8756);
        assert_eq!(round4(5.0), 5.0);
        assert_eq!(round4(-0.123_46), -0.1235);
    }
}
