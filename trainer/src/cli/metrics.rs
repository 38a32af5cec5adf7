//! `trainer metrics`: the Worker's online metrics per model version and variant
//! (`GET /admin/metrics`) as a table, with the canary's difference and what it shows, and
//! optionally an SVG of CTR over time per variant.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::DateTime;

use crate::live::client::Admin;
use crate::live::metrics::{self, Period};

/// Arguments of `trainer metrics`.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// The Worker's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long, value_name = "URL")]
    pub from: String,

    /// The Worker's admin token (its ADMIN_TOKEN secret).
    #[arg(long, env = "EDGEREC_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: String,

    /// Start of the period: RFC 3339 or Unix seconds (default: seven days before `--until`).
    #[arg(long, value_parser = unix_seconds)]
    pub since: Option<i64>,

    /// End of the period, exclusive: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_parser = unix_seconds)]
    pub until: Option<i64>,

    /// Attribution window in hours: an outcome counts when it came this soon after the answer
    /// (the Worker's default: 24).
    #[arg(long)]
    pub window_hours: Option<usize>,

    /// Write CTR over time per variant, with 95 % intervals, to this SVG file.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,

    /// Points on the SVG's time axis (the period cut into this many equal parts).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub buckets: u16,

    /// Print the Worker's answer as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// RFC 3339 or integer Unix seconds, as Unix seconds.
fn unix_seconds(raw: &str) -> Result<i64, String> {
    if let Ok(s) = raw.parse::<i64>() {
        return Ok(s);
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp())
        .map_err(|_| format!("expected an RFC 3339 time or Unix seconds, got {raw:?}"))
}

/// Runs `trainer metrics`.
pub fn run(args: &MetricsArgs) -> anyhow::Result<()> {
    if let (Some(s), Some(u)) = (args.since, args.until) {
        anyhow::ensure!(s < u, "--since must be before --until");
    }
    let admin = Admin::new(&args.from, &args.token)?;
    let period = Period { since: args.since, until: args.until, window_hours: args.window_hours };
    let report = metrics::fetch(&admin, period)?;
    if let Some(path) = &args.svg {
        let series = metrics::over_time(&admin, &report, usize::from(args.buckets))?;
        metrics::ctr_svg(path, &series).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        metrics::print(&mut out, &report)?;
        if let Some(path) = &args.svg {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(unix_seconds("1700000000"), Ok(1_700_000_000));
        assert_eq!(unix_seconds("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert!(unix_seconds("yesterday").is_err());
    }
}
