//! The validation rules every source shares, and the parsers of the fields they check.

use super::Behavior;

/// How duplicate (user, item) rows are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DuplicatePolicy {
    /// Keep the row with the latest timestamp (on a tie, the row read last).
    #[default]
    Latest,
    /// Keep the row with the earliest timestamp (on a tie, the row read first).
    Earliest,
    /// Average the ratings; keep the latest row's timestamp and behaviour.
    Mean,
    /// Keep the highest rating; keep the latest row's timestamp and behaviour.
    Max,
}

impl DuplicatePolicy {
    /// How the report describes the policy.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Latest => "latest by timestamp (ties: last row read)",
            Self::Earliest => "earliest by timestamp (ties: first row read)",
            Self::Mean => "mean rating, latest timestamp",
            Self::Max => "max rating, latest timestamp",
        }
    }
}

/// Rules that every source shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Smallest valid rating.
    pub min_rating: f32,
    /// Largest valid rating.
    pub max_rating: f32,
    /// Duplicate resolution.
    pub duplicates: DuplicatePolicy,
    /// Fail on the first bad row instead of skipping it.
    pub strict: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self { min_rating: 1.0, max_rating: 5.0, duplicates: DuplicatePolicy::Latest, strict: false }
    }
}

/// [`super::parse_behavior_name`] without allocating for the exact wire names.
pub(crate) fn parse_behavior(text: &str) -> Option<Behavior> {
    Behavior::from_name(text).or_else(|| super::parse_behavior_name(text))
}

/// `YYYY-MM-DD HH:MM:SS` (what MySQL sends for DATETIME) as UTC, without chrono's format
/// machinery; anything else falls through to the general parser.
fn parse_datetime_fast(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to]
            .iter()
            .try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses Unix seconds (an integer, or a number with a fraction), `YYYY-MM-DD HH:MM:SS[.f]`
/// (as UTC) or RFC 3339.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs);
    }
    if let Some(secs) = parse_datetime_fast(text) {
        return Some(secs);
    }
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs.abs() < 1e15).then_some(secs.floor() as i64);
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|dt| dt.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_datetime_parse_agrees_with_chrono() {
        for text in
            ["1970-01-01 00:00:00", "2026-01-01 00:00:00", "2024-02-29 23:59:59", "1999-12-31 12:34:56"]
        {
            let chrono = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .expect("valid")
                .and_utc()
                .timestamp();
            assert_eq!(parse_datetime_fast(text), Some(chrono), "{text}");
        }
        assert_eq!(parse_datetime_fast("2023-02-29 00:00:00"), None);
        assert_eq!(parse_timestamp("2023-02-29 00:00:00"), None);
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z"), Some(1_767_225_600));
    }
}
