//! `GET /admin/metrics?since=&until=&window_hours=`: online metrics per model version and
//! variant, from the impressions and the attributed events in D1 (see `trace`).
//!
//! An impression is one answer served in `[since, until)`. An event is attributed to it when it
//! names the answer's `recommendation_id` and reached the Worker (`received_at`, the server's
//! clock, not the client's `timestamp`) within `window_hours` after the answer. CTR is the share
//! of impressions with at least one attributed click; conversion the share with at least one
//! attributed purchase; both with Wilson 95 % intervals. The canary's difference from the current
//! model (all versions of each side together) has Newcombe's interval: an interval that excludes
//! 0 is a difference the data shows.

use edgerec_core::wire::{Comparison, MetricsReport, VariantMetrics, difference, wilson};
use serde::Deserialize;
use worker::Env;
use worker::wasm_bindgen::JsValue;

use crate::error::{ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::timing;
use crate::trace::Variant;

/// The default period: the last seven days.
const DEFAULT_DAYS: i64 = 7;
/// `window_hours`: the default and the largest.
const DEFAULT_WINDOW_HOURS: usize = 24;
const MAX_WINDOW_HOURS: usize = 24 * 30;

/// Impressions and distinct users per version and variant: one covering index range
/// (`impressions_period`, migration 0005).
const SHOWN: &str = "SELECT model_version, variant, count(*) AS impressions, count(DISTINCT user_id) AS users \
     FROM impressions WHERE served_at >= ?1 AND served_at < ?2 \
     GROUP BY model_version, variant ORDER BY variant, model_version";

/// Attributed outcomes per version and variant: each answer of the period with its events in
/// the window (`events_attribution`), summed per answer, then per version and variant. Answers
/// with no attributed event do not appear here (they count 0).
const OUTCOMES: &str = "SELECT model_version, variant, sum(c) AS clicks, sum(k) AS carts, sum(p) AS purchases, \
       sum(c > 0) AS clicked, sum(p > 0) AS converted \
     FROM (SELECT i.model_version AS model_version, i.variant AS variant, sum(e.behavior = 'click') AS c, \
         sum(e.behavior = 'cart') AS k, sum(e.behavior = 'purchase') AS p \
       FROM impressions i JOIN events e ON e.recommendation_id = i.recommendation_id \
         AND e.received_at >= i.served_at AND e.received_at < i.served_at + ?3 \
       WHERE i.served_at >= ?1 AND i.served_at < ?2 \
       GROUP BY i.recommendation_id) \
     GROUP BY model_version, variant";

/// One row of [`SHOWN`].
#[derive(Debug, Deserialize)]
struct Shown {
    model_version: String,
    variant: Variant,
    impressions: u64,
    users: u64,
}

/// One row of [`OUTCOMES`].
#[derive(Debug, Deserialize)]
struct Outcomes {
    model_version: String,
    variant: Variant,
    clicks: u64,
    carts: u64,
    purchases: u64,
    clicked: u64,
    converted: u64,
}

/// The two merged: what the answer is built from.
#[derive(Debug)]
struct Counts {
    model_version: String,
    variant: Variant,
    impressions: u64,
    users: u64,
    clicks: u64,
    carts: u64,
    purchases: u64,
    clicked: u64,
    converted: u64,
}

/// Each version and variant that answered, with its outcomes (0 where none were attributed).
fn merge(shown: Vec<Shown>, outcomes: &[Outcomes]) -> Vec<Counts> {
    shown
        .into_iter()
        .map(|s| {
            let o = outcomes.iter().find(|o| o.model_version == s.model_version && o.variant == s.variant);
            Counts {
                clicks: o.map_or(0, |o| o.clicks),
                carts: o.map_or(0, |o| o.carts),
                purchases: o.map_or(0, |o| o.purchases),
                clicked: o.map_or(0, |o| o.clicked),
                converted: o.map_or(0, |o| o.converted),
                model_version: s.model_version,
                variant: s.variant,
                impressions: s.impressions,
                users: s.users,
            }
        })
        .collect()
}

/// A time parameter: RFC 3339, or integer Unix seconds. Unix milliseconds out.
fn time_param(query: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = http::query_param(query, name) else { return Ok(None) };
    let bad = || ApiError::invalid(format!("`{name}` must be an RFC 3339 time or Unix seconds, got `{raw}`"));
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().ok().and_then(|s| s.checked_mul(1000)).map(Some).ok_or_else(bad);
    }
    chrono::DateTime::parse_from_rfc3339(raw).map(|t| Some(t.timestamp_millis())).map_err(|_| bad())
}

/// `GET /admin/metrics` (the caller checks the admin token).
pub async fn get(req: &Incoming, env: &Env) -> Result<Reply, ApiError> {
    let query = req.query_pairs()?;
    let until = time_param(&query, "until")?.unwrap_or_else(|| timing::now_ms() as i64);
    let since = time_param(&query, "since")?.unwrap_or(until - DEFAULT_DAYS * 86_400_000);
    if since >= until {
        return Err(ApiError::invalid("`since` must be before `until`"));
    }
    let window_hours = http::int_param(&query, "window_hours", DEFAULT_WINDOW_HOURS, 1, MAX_WINDOW_HOURS)?;
    let storage = |e: worker::Error| {
        ApiError::new(ErrorCode::StorageUnavailable, format!("cannot read the metrics: {e}"))
    };
    let db = env.d1(crate::config::D1_BINDING).map_err(storage)?;
    let bind = [since, until, window_hours as i64 * 3_600_000].map(|v| JsValue::from_f64(v as f64));
    // Both in one round trip.
    let statements = vec![
        db.prepare(SHOWN).bind(&bind[..2]).map_err(storage)?,
        db.prepare(OUTCOMES).bind(&bind).map_err(storage)?,
    ];
    let mut results = db.batch(statements).await.map_err(storage)?.into_iter();
    let missing = || storage(worker::Error::RustError("a D1 batch result is missing".into()));
    let shown: Vec<Shown> = results.next().ok_or_else(missing)?.results().map_err(storage)?;
    let outcomes: Vec<Outcomes> = results.next().ok_or_else(missing)?.results().map_err(storage)?;
    let counts = merge(shown, &outcomes);
    let side = |variant: Variant| {
        let rows = counts.iter().filter(|c| c.variant == variant);
        rows.fold((0, 0, 0), |(n, c, p), r| (n + r.impressions, c + r.clicked, p + r.converted))
    };
    let (current, canary) = (side(Variant::Current), side(Variant::Canary));
    let canary_vs_current = match (wilson(canary.1, canary.0), wilson(current.1, current.0)) {
        (Some(a), Some(b)) => wilson(canary.2, canary.0)
            .zip(wilson(current.2, current.0))
            .map(|(ca, cu)| Comparison { ctr: difference(a, b), conversion: difference(ca, cu) }),
        _ => None,
    };
    let variants = counts
        .into_iter()
        .map(|c| VariantMetrics {
            ctr: wilson(c.clicked, c.impressions),
            conversion: wilson(c.converted, c.impressions),
            model_version: c.model_version,
            variant: c.variant,
            impressions: c.impressions,
            users: c.users,
            clicks: c.clicks,
            carts: c.carts,
            purchases: c.purchases,
        })
        .collect();
    Reply::json(&MetricsReport {
        since: timing::rfc3339(since as f64),
        until: timing::rfc3339(until as f64),
        window_hours,
        variants,
        canary_vs_current,
    })
}
