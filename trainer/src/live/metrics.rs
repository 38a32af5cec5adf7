//! Online metrics from the Worker (`GET /admin/metrics`): one period, the same period cut into
//! buckets for a CTR-over-time chart, and the table and verdict `trainer metrics` and
//! `trainer publish --promote` print.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use edgerec_core::wire::{MetricsReport, Rate, Variant, wilson};
use plotters::prelude::*;

use super::client::Admin;

/// The query of one period: `since`/`until` as Unix seconds (None: the Worker's default, the
/// last seven days), and the attribution window.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub window_hours: Option<usize>,
}

/// `GET /admin/metrics` for `period`.
pub fn fetch(admin: &Admin, period: Period) -> anyhow::Result<MetricsReport> {
    let mut query = Vec::new();
    if let Some(s) = period.since {
        query.push(format!("since={s}"));
    }
    if let Some(u) = period.until {
        query.push(format!("until={u}"));
    }
    if let Some(w) = period.window_hours {
        query.push(format!("window_hours={w}"));
    }
    let value = admin.get(&format!("/admin/metrics?{}", query.join("&")))?;
    serde_json::from_value(value).context("the Worker's metrics answer does not have the documented shape")
}

/// Unix seconds of an RFC 3339 time the Worker sent.
fn seconds(t: &str) -> anyhow::Result<i64> {
    Ok(DateTime::parse_from_rfc3339(t)
        .with_context(|| format!("bad time {t:?} from the Worker"))?
        .timestamp())
}

/// `report`'s period cut into `buckets` equal parts (whole seconds), each fetched on its own.
pub fn over_time(
    admin: &Admin,
    report: &MetricsReport,
    buckets: usize,
) -> anyhow::Result<Vec<(i64, MetricsReport)>> {
    let (since, until) = (seconds(&report.since)?, seconds(&report.until)?);
    let step = ((until - since) as f64 / buckets.max(1) as f64).ceil().max(1.0) as i64;
    let mut out = Vec::new();
    let mut start = since;
    while start < until {
        let end = (start + step).min(until);
        let period = Period { since: Some(start), until: Some(end), window_hours: Some(report.window_hours) };
        out.push((start, fetch(admin, period)?));
        start = end;
    }
    Ok(out)
}

fn pct(r: &Rate) -> String {
    format!("{:6.2} % [{:.2}, {:.2}]", 100.0 * r.rate, 100.0 * r.low, 100.0 * r.high)
}

/// The table: one row per model version and variant, then the canary's difference and what it
/// shows.
pub fn print(out: &mut impl Write, r: &MetricsReport) -> std::io::Result<()> {
    writeln!(out, "online metrics {} .. {} (attribution window {} h)", r.since, r.until, r.window_hours)?;
    writeln!(
        out,
        "  {:<8} {:<18} {:>11} {:>8} {:>7} {:>9}  {:<26} conversion [95 %]",
        "variant", "model", "impressions", "users", "clicks", "purchases", "CTR [95 %]"
    )?;
    for v in &r.variants {
        let rate = |x: &Option<Rate>| x.as_ref().map_or("-".to_owned(), pct);
        let model: String = v.model_version.chars().take(18).collect();
        writeln!(
            out,
            "  {:<8} {:<18} {:>11} {:>8} {:>7} {:>9}  {:<26} {}",
            v.variant.as_str(),
            model,
            v.impressions,
            v.users,
            v.clicks,
            v.purchases,
            rate(&v.ctr),
            rate(&v.conversion)
        )?;
    }
    writeln!(out, "{}", verdict(r))
}

/// What the canary-versus-current difference shows, in one line.
pub fn verdict(r: &MetricsReport) -> String {
    let Some(c) = &r.canary_vs_current else {
        return "canary vs current: no comparison (both must have answered in the period)".into();
    };
    let says = |d: &Rate| {
        if d.low > 0.0 {
            "the canary is ahead"
        } else if d.high < 0.0 {
            "the canary is behind"
        } else {
            "no difference shown (the interval includes 0)"
        }
    };
    format!(
        "canary vs current: CTR {} points, {}; conversion {} points, {}",
        pct(&c.ctr).trim_start(),
        says(&c.ctr),
        pct(&c.conversion).trim_start(),
        says(&c.conversion)
    )
}

/// CTR per variant over time, with each bucket's 95 % interval as a band, as SVG.
pub fn ctr_svg(path: &Path, series: &[(i64, MetricsReport)]) -> anyhow::Result<()> {
    // Each side's versions together: impressions with a click are CTR × impressions.
    let points = |variant: Variant| -> Vec<(i64, Rate)> {
        series
            .iter()
            .filter_map(|(t, r)| {
                let rows = r.variants.iter().filter(|v| v.variant == variant);
                let (n, clicked) = rows.fold((0u64, 0u64), |(n, k), v| {
                    let k_v = v.ctr.map_or(0, |c| (c.rate * v.impressions as f64).round() as u64);
                    (n + v.impressions, k + k_v)
                });
                wilson(clicked, n).map(|rate| (*t, rate))
            })
            .collect()
    };
    let (t0, t1) = (series.first().map_or(0, |s| s.0), series.last().map_or(1, |s| s.0 + 1));
    let hi = series
        .iter()
        .flat_map(|(_, r)| r.variants.iter().filter_map(|v| v.ctr.map(|c| c.high)))
        .fold(0.01f64, f64::max);
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).context("drawing the CTR chart")?;
    let mut chart = ChartBuilder::on(&root)
        .caption("CTR per variant (95 % intervals)", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(t0..t1.max(t0 + 1), 0.0..hi * 100.0 * 1.05)
        .context("laying out the CTR chart")?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("CTR, %")
        .x_label_formatter(&|t| {
            DateTime::<Utc>::from_timestamp(*t, 0)
                .map_or(String::new(), |d| d.format("%m-%d %H:%M").to_string())
        })
        .draw()
        .context("drawing the axes")?;
    for (variant, colour) in [(Variant::Current, BLUE), (Variant::Canary, RED)] {
        let p = points(variant);
        if p.is_empty() {
            continue;
        }
        let band: Vec<(i64, f64)> = p
            .iter()
            .map(|(t, r)| (*t, 100.0 * r.high))
            .chain(p.iter().rev().map(|(t, r)| (*t, 100.0 * r.low)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15)))).context("drawing a band")?;
        chart
            .draw_series(LineSeries::new(p.iter().map(|(t, r)| (*t, 100.0 * r.rate)), colour.stroke_width(2)))
            .context("drawing a line")?
            .label(variant.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    chart.configure_series_labels().border_style(BLACK).draw().context("drawing the legend")?;
    root.present().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use edgerec_core::wire::{Comparison, VariantMetrics, difference};

    use super::*;

    fn side(variant: Variant, clicked: u64, n: u64) -> VariantMetrics {
        VariantMetrics {
            model_version: format!("v-{}", variant.as_str()),
            variant,
            impressions: n,
            users: n,
            clicks: clicked,
            carts: 0,
            purchases: 0,
            ctr: wilson(clicked, n),
            conversion: wilson(0, n),
        }
    }

    fn report(canary: u64, current: u64) -> MetricsReport {
        let (a, b) = (side(Variant::Canary, canary, 600), side(Variant::Current, current, 600));
        let ctr = difference(a.ctr.expect("n > 0"), b.ctr.expect("n > 0"));
        let conversion = difference(a.conversion.expect("n > 0"), b.conversion.expect("n > 0"));
        MetricsReport {
            since: "2026-12-07T00:00:00Z".into(),
            until: "2026-12-08T00:00:00Z".into(),
            window_hours: 24,
            variants: vec![a, b],
            canary_vs_current: Some(Comparison { ctr, conversion }),
        }
    }

    #[test]
    fn the_verdict_follows_the_interval() {
        assert!(
            verdict(&report(180, 90)).contains("CTR")
                && verdict(&report(180, 90)).contains("the canary is ahead;")
        );
        assert!(verdict(&report(90, 180)).contains("the canary is behind;"));
        assert!(
            verdict(&report(120, 118)).contains("CTR")
                && verdict(&report(120, 118)).contains("no difference shown")
        );
        let none = MetricsReport { canary_vs_current: None, ..report(1, 1) };
        assert!(verdict(&none).contains("no comparison"));
        let mut table = Vec::new();
        print(&mut table, &report(180, 90)).expect("in memory");
        let table = String::from_utf8(table).expect("UTF-8");
        assert!(table.contains("  canary   v-canary") && table.contains(" 30.00 % ["), "{table}");
    }
}
