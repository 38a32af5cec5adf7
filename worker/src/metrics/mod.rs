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

const QUERY: &str = "WITH shown AS ( \
       SELECT recommendation_id, user_id, model_version, variant, served_at FROM impressions \
       WHERE served_at >= ?1 AND served_at < ?2), \
     outcomes AS ( \
       SELECT s.recommendation_id, sum(e.behavior = 'click') AS clicks, sum(e.behavior = 'cart') AS carts, \
         sum(e.behavior = 'purchase') AS purchases \
       FROM shown s JOIN events e ON e.recommendation_id = s.recommendation_id \
       WHERE e.received_at >= s.served_at AND e.received_at < s.served_at + ?3 \
       GROUP BY s.recommendation_id) \
     SELECT s.model_version AS model_version, s.variant AS variant, count(*) AS impressions, \
       count(DISTINCT s.user_id) AS users, coalesce(sum(o.clicks), 0) AS clicks, \
       coalesce(sum(o.carts), 0) AS carts, coalesce(sum(o.purchases), 0) AS purchases, \
       coalesce(sum(o.clicks > 0), 0) AS clicked, coalesce(sum(o.purchases > 0), 0) AS converted \
     FROM shown s LEFT JOIN outcomes o ON o.recommendation_id = s.recommendation_id \
     GROUP BY s.model_version, s.variant ORDER BY s.variant, s.model_version";

/// One row of [`QUERY`].
#[derive(Debug, Deserialize)]
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
    let counts: Vec<Counts> = db
        .prepare(QUERY)
        .bind(&bind)
        .map_err(storage)?
        .all()
        .await
        .map_err(storage)?
        .results()
        .map_err(storage)?;
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
