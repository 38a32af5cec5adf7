//! What loading saw: rows read, rows skipped by reason (with examples), duplicates resolved.

use std::collections::BTreeMap;

use serde::Serialize;

/// What loading saw. Printed after every load and available as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Where the rows came from (a path, or `mysql://host:port/db table`).
    pub source: String,
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows skipped, by reason (see [`SkipReason`]).
    pub rows_skipped: BTreeMap<String, u64>,
    /// Duplicate (user, item) rows that were merged into an earlier pair.
    pub duplicates_resolved: u64,
    /// How duplicates are resolved.
    pub duplicate_policy: String,
    /// Interactions kept after de-duplication.
    pub interactions: usize,
    /// Distinct users kept.
    pub users: usize,
    /// Distinct items kept.
    pub items: usize,
    /// The first few skipped rows (row number, reason, detail).
    pub examples: Vec<SkippedRow>,
}

/// One skipped row, kept as an example in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRow {
    /// 1-based row number in the source (file line number for files).
    pub row: u64,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// The offending value or a short explanation.
    pub detail: String,
}

/// Why a row was skipped. The JSON and text reports use the snake-case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The user ID is NULL, missing or blank.
    EmptyUserId,
    /// The item ID is NULL, missing or blank.
    EmptyItemId,
    /// The rating is NULL, missing or not a finite number.
    UnparsableRating,
    /// The rating is outside `--min-rating..=--max-rating`.
    RatingOutOfRange,
    /// The timestamp is NULL, missing or not a date/time or Unix seconds.
    BadTimestamp,
    /// The behaviour is not view, click, cart or purchase.
    UnknownBehavior,
    /// A file line with too few fields, or bytes that are not UTF-8.
    MalformedRow,
}

impl SkipReason {
    /// The snake-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmptyUserId => "empty_user_id",
            Self::EmptyItemId => "empty_item_id",
            Self::UnparsableRating => "unparsable_rating",
            Self::RatingOutOfRange => "rating_out_of_range",
            Self::BadTimestamp => "bad_timestamp",
            Self::UnknownBehavior => "unknown_behavior",
            Self::MalformedRow => "malformed_row",
        }
    }
}

impl ValidationReport {
    /// Rows skipped for any reason.
    pub fn total_skipped(&self) -> u64 {
        self.rows_skipped.values().sum()
    }

    /// The report as a few human-readable lines.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "data: {}\n  rows read: {}, kept: {} interactions, {} users, {} items\n",
            self.source, self.rows_read, self.interactions, self.users, self.items
        );
        if self.rows_skipped.is_empty() {
            out.push_str("  rows skipped: 0\n");
        } else {
            let reasons: Vec<String> = self.rows_skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("  rows skipped: {} ({})\n", self.total_skipped(), reasons.join(", ")));
            for ex in &self.examples {
                out.push_str(&format!("    row {}: {}: {}\n", ex.row, ex.reason.as_str(), ex.detail));
            }
        }
        out.push_str(&format!(
            "  duplicate (user, item) rows merged: {} (policy: {})\n",
            self.duplicates_resolved, self.duplicate_policy
        ));
        out
    }
}
