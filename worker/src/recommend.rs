//! `POST /recommend` and `GET /recommend/{user_id}?n=10`, in the seed's shape.
//!
//! The body is validated in [`body`] before the core is called. `user_id` alone is the user's
//! list, `interactions` alone an anonymous visitor's (fold-in), and both together the user's list
//! shifted by what they just did (`Model::recommend_session`).

mod body;

use std::sync::Arc;

use edgerec_core::{Because, Model, RecommendOptions, Recommendations, Source, Unavailable, UserRecord};
use serde::Serialize;

use crate::error::ApiError;
use crate::http::{self, Reply};
use crate::store::Ready;
use crate::trace::Trace;
pub use body::Query;
use body::{MAX_TOP_N, Who};

#[derive(Serialize)]
struct Answer<'a> {
    user_id: Option<&'a str>,
    recommendations: Vec<Ranked<'a>>,
    total_count: usize,
    /// `popular` when the list is the popularity fallback (unknown user, or no known item).
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<&'static str>,
    /// Interactions whose item the model does not know (when interactions were given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown_items: Vec<String>,
    /// `recommendation_id`, `model_version` and `variant` (see `trace`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    trace: Option<&'a Trace>,
}

#[derive(Serialize)]
struct Ranked<'a> {
    rank: usize,
    item_id: &'a str,
    predicted_rating: f64,
    /// With `"explain": true`: up to three of the user's items behind this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    because: Option<Vec<Reason<'a>>>,
}

#[derive(Serialize)]
struct Reason<'a> {
    item_id: &'a str,
    /// Its share of the positive contributions to the item's score, rounded to 4 decimals.
    share: f64,
}

/// A score rounded to 4 decimals, as the seed reports it.
pub fn round4(score: f32) -> f64 {
    (f64::from(score) * 1e4).round() / 1e4
}

/// `POST /recommend` with the (already size- and type-checked) body bytes.
#[cfg(test)]
pub fn post(ready: Ready<'_>, body: &[u8]) -> Result<Reply, ApiError> {
    run(ready, parse(body)?, false, None, None, None)
}

/// Validates the body of `POST /recommend` (before a model is chosen for its user).
pub fn parse(body: &[u8]) -> Result<Query, ApiError> {
    body::parse(body)
}

/// Answers a validated `POST /recommend` with the model chosen for it, the items it must not
/// serve now, and the user's KV record when the model keeps its users outside the artifact
/// (`users_kv`). With `as_unknown` (a deleted user, see `erasure`) the model's stored data on
/// the user is not used: the answer is an unknown user's, with the request's `interactions`
/// folded in as a visitor's.
pub fn run(
    ready: Ready<'_>,
    query: Query,
    as_unknown: bool,
    unavailable: Option<Arc<Unavailable>>,
    record: Option<&UserRecord>,
    trace: Option<&Trace>,
) -> Result<Reply, ApiError> {
    let Query { who, mut opts, explain } = query;
    opts.unavailable = unavailable;
    let model = ready.model;
    let (user_id, interactions, recs) = match &who {
        Who::User(user_id) | Who::Session(user_id, _) if as_unknown => {
            let interactions = match &who {
                Who::Session(_, interactions) => &interactions[..],
                _ => &[][..],
            };
            let recs = if interactions.is_empty() {
                model.recommend_unknown(&opts)?
            } else {
                model.recommend_for_interactions(interactions, &opts)?
            };
            (Some(user_id.as_str()), interactions, recs)
        }
        Who::User(user_id) => (Some(user_id.as_str()), &[][..], for_user(model, user_id, record, &opts)?),
        Who::Anonymous(interactions) => {
            (None, &interactions[..], model.recommend_for_interactions(interactions, &opts)?)
        }
        Who::Session(user_id, interactions) => (
            Some(user_id.as_str()),
            &interactions[..],
            match record {
                Some(record) => model.recommend_record_session(record, interactions, &opts)?,
                None => model.recommend_session(user_id, interactions, &opts)?,
            },
        ),
    };
    let because = if explain && recs.source != Source::Popular {
        let items: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
        Some(match (record, &who) {
            (Some(record), Who::User(_)) => model.explain_record(record, &items)?,
            _ => model.explain(user_id.filter(|_| !as_unknown), interactions, &items)?,
        })
    } else {
        // The popular fallback is not drawn from anyone's history: no reasons, but the field.
        explain.then(|| vec![Vec::new(); recs.items.len()])
    };
    answer(model, user_id, recs, because, trace)
}

/// The validated options of `GET /recommend/{user_id}?n=10&exclude_rated=true`.
pub fn get_options(user_id: &str, query: &[(String, String)]) -> Result<RecommendOptions, ApiError> {
    http::check_id("user_id", user_id)?;
    let top_n = http::int_param(query, "n", 10, 1, MAX_TOP_N)?;
    let exclude_rated = http::bool_param(query, "exclude_rated", true)?;
    Ok(RecommendOptions { top_n, exclude_rated, ..RecommendOptions::default() })
}

/// `GET /recommend/{user_id}` with its options (with the user's KV record, if any); with
/// `as_unknown`, an unknown user's list whatever the model holds (see [`run`]).
pub fn get(
    ready: Ready<'_>,
    user_id: &str,
    as_unknown: bool,
    opts: &RecommendOptions,
    record: Option<&UserRecord>,
    trace: Option<&Trace>,
) -> Result<Reply, ApiError> {
    let model = ready.model;
    // Not cacheable by the browser for long: availability may change within the minute.
    let cache = if opts.unavailable.is_some() { "no-store" } else { "public, max-age=60" };
    let recs =
        if as_unknown { model.recommend_unknown(opts)? } else { for_user(model, user_id, record, opts)? };
    Ok(answer(model, Some(user_id), recs, None, trace)?.cacheable(cache))
}

/// A user's list: from their record when there is one, else as the artifact knows them.
fn for_user<'m>(
    model: &'m Model<'_>,
    user_id: &str,
    record: Option<&UserRecord>,
    opts: &RecommendOptions,
) -> Result<Recommendations<'m>, ApiError> {
    Ok(match record {
        Some(record) => model.recommend_record(record, opts)?,
        None => model.recommend(user_id, opts)?,
    })
}

fn answer<'m>(
    model: &Model<'_>,
    user_id: Option<&str>,
    recs: Recommendations<'m>,
    because: Option<Vec<Vec<Because<'m>>>>,
    trace: Option<&Trace>,
) -> Result<Reply, ApiError> {
    let work = match recs.source {
        Source::Personalized => format!("{} items scored, d={}", model.num_items(), model.dim()),
        Source::FoldIn => format!("fold-in, then {} items scored, d={}", model.num_items(), model.dim()),
        Source::Session => format!("session, then {} items scored, d={}", model.num_items(), model.dim()),
        Source::Popular => "popularity fallback, no scoring".to_owned(),
    };
    let mut because = because.map(Vec::into_iter);
    let recommendations: Vec<Ranked<'_>> = recs
        .items
        .iter()
        .enumerate()
        .map(|(i, s)| Ranked {
            rank: i + 1,
            item_id: s.item_id,
            // The rating head's (or rating model's) prediction; a plain ranking model's score.
            predicted_rating: round4(s.predicted_rating.unwrap_or(s.score)),
            because: because.as_mut().map(|b| {
                b.next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| Reason { item_id: r.item_id, share: round4(r.share) })
                    .collect()
            }),
        })
        .collect();
    let answer = Answer {
        user_id,
        total_count: recommendations.len(),
        recommendations,
        fallback: (recs.source == Source::Popular).then_some("popular"),
        unknown_items: recs.unknown_items,
        trace,
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
