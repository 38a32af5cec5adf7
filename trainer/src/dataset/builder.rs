//! The dataset builder: every source feeds raw text fields into one [`DatasetBuilder`], which
//! checks each row against the [`Rules`], maps string IDs to dense indices on the fly and
//! resolves duplicate (user, item) pairs. The default duplicate policy is
//! [`DuplicatePolicy::Latest`]: the row with the latest timestamp wins, and on a tie the row read
//! last. The finished [`Dataset`] is canonical: users and items sorted by ID, interactions by
//! (user, item), so a file and a table holding the same rows give equal datasets.
//!
//! IDs are hashed with rustc's Fx hash (`rustc-hash`): they come from the data owner and a load
//! is a one-off batch job, so speed matters more than resistance to crafted collisions.

use rustc_hash::FxHashMap;

use super::report::{SkipReason, SkippedRow, ValidationReport};
use super::rules::{DuplicatePolicy, Rules, parse_behavior, parse_timestamp};
use super::{Dataset, Interaction};

/// One raw row: text fields, `None` for NULL or absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRow<'a> {
    /// User ID.
    pub user: Option<&'a str>,
    /// Item ID.
    pub item: Option<&'a str>,
    /// Rating.
    pub rating: Option<&'a str>,
    /// Timestamp; `None` with `has_time == false` means the source has no time column.
    pub timestamp: Option<&'a str>,
    /// Behaviour.
    pub behavior: Option<&'a str>,
    /// Item category.
    pub category: Option<&'a str>,
}

const MAX_EXAMPLES: usize = 10;

/// Validates rows, maps IDs to dense indices and resolves duplicates.
#[derive(Debug)]
pub struct DatasetBuilder {
    rules: Rules,
    has_time: bool,
    report: ValidationReport,
    users: FxHashMap<String, u32>,
    items: FxHashMap<String, u32>,
    user_ids: Vec<String>,
    item_ids: Vec<String>,
    categories: Vec<Option<String>>,
    pairs: FxHashMap<u64, u32>,
    interactions: Vec<Interaction>,
    sums: Vec<(f64, u32)>,
}

impl DatasetBuilder {
    /// A builder for a source described by `source`; `has_time` says whether rows carry a
    /// timestamp (without one, every timestamp is 0 and ties go by row order).
    pub fn new(source: impl Into<String>, rules: Rules, has_time: bool) -> Self {
        let report = ValidationReport {
            source: source.into(),
            duplicate_policy: rules.duplicates.describe().to_owned(),
            ..ValidationReport::default()
        };
        Self {
            rules,
            has_time,
            report,
            users: FxHashMap::default(),
            items: FxHashMap::default(),
            user_ids: Vec::new(),
            item_ids: Vec::new(),
            categories: Vec::new(),
            pairs: FxHashMap::default(),
            interactions: Vec::new(),
            sums: Vec::new(),
        }
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.report.rows_read
    }

    /// Records a row that could not even be split into fields.
    pub fn malformed(&mut self, row: u64, detail: impl Into<String>) -> anyhow::Result<()> {
        self.report.rows_read += 1;
        self.skip(row, SkipReason::MalformedRow, detail.into())
    }

    fn skip(&mut self, row: u64, reason: SkipReason, detail: String) -> anyhow::Result<()> {
        if self.rules.strict {
            anyhow::bail!(
                "{}: row {row}: {}: {detail} (--strict rejects bad rows)",
                self.report.source,
                reason.as_str()
            );
        }
        *self.report.rows_skipped.entry(reason.as_str().to_owned()).or_default() += 1;
        if self.report.examples.len() < MAX_EXAMPLES {
            self.report.examples.push(SkippedRow { row, reason, detail });
        }
        Ok(())
    }

    /// Validates one row and adds it; `row` is its 1-based number for messages.
    pub fn push(&mut self, row: u64, raw: RawRow<'_>) -> anyhow::Result<()> {
        self.report.rows_read += 1;
        let user = match raw.user.map(str::trim) {
            Some(u) if !u.is_empty() => u,
            _ => return self.skip(row, SkipReason::EmptyUserId, show(raw.user)),
        };
        let item = match raw.item.map(str::trim) {
            Some(i) if !i.is_empty() => i,
            _ => return self.skip(row, SkipReason::EmptyItemId, show(raw.item)),
        };
        let rating = match raw.rating.map(|r| r.trim().parse::<f32>()) {
            Some(Ok(r)) if r.is_finite() => r,
            _ => return self.skip(row, SkipReason::UnparsableRating, show(raw.rating)),
        };
        if !(self.rules.min_rating..=self.rules.max_rating).contains(&rating) {
            let detail = format!("{rating} not in {}..={}", self.rules.min_rating, self.rules.max_rating);
            return self.skip(row, SkipReason::RatingOutOfRange, detail);
        }
        let timestamp = if self.has_time {
            match raw.timestamp.and_then(parse_timestamp) {
                Some(t) => t,
                None => return self.skip(row, SkipReason::BadTimestamp, show(raw.timestamp)),
            }
        } else {
            0
        };
        let behavior = match raw.behavior.map(str::trim) {
            None | Some("") => None,
            Some(b) => match parse_behavior(b) {
                Some(b) => Some(b),
                None => return self.skip(row, SkipReason::UnknownBehavior, format!("{b:?}")),
            },
        };
        let user = intern(&mut self.users, &mut self.user_ids, user);
        let item = intern(&mut self.items, &mut self.item_ids, item);
        if let Some(category) = raw.category.map(str::trim).filter(|c| !c.is_empty()) {
            if self.categories.len() <= item as usize {
                self.categories.resize(item as usize + 1, None);
            }
            self.categories[item as usize] = Some(category.to_owned());
        }
        let new = Interaction { user, item, rating, timestamp, behavior };
        let key = (u64::from(user) << 32) | u64::from(item);
        match self.pairs.get(&key) {
            None => {
                self.pairs.insert(key, self.interactions.len() as u32);
                self.interactions.push(new);
                if self.rules.duplicates == DuplicatePolicy::Mean {
                    self.sums.push((f64::from(rating), 1));
                }
            }
            Some(&at) => {
                self.report.duplicates_resolved += 1;
                let old = &mut self.interactions[at as usize];
                let newer = new.timestamp >= old.timestamp;
                match self.rules.duplicates {
                    DuplicatePolicy::Latest if newer => *old = new,
                    DuplicatePolicy::Earliest if new.timestamp < old.timestamp => *old = new,
                    DuplicatePolicy::Mean => {
                        let sum = &mut self.sums[at as usize];
                        sum.0 += f64::from(rating);
                        sum.1 += 1;
                        if newer {
                            *old = Interaction { rating: old.rating, ..new };
                        }
                    }
                    DuplicatePolicy::Max => {
                        let best = old.rating.max(rating);
                        if newer {
                            *old = new;
                        }
                        old.rating = best;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Sets categories from an items table: `item` → `category`, for items already seen.
    pub fn set_category(&mut self, item: &str, category: &str) {
        if let Some(&at) = self.items.get(item.trim()) {
            if self.categories.len() <= at as usize {
                self.categories.resize(at as usize + 1, None);
            }
            self.categories[at as usize] = Some(category.trim().to_owned());
        }
    }

    /// Finishes: canonical order (IDs sorted, interactions by (user, item)) and the report.
    pub fn finish(mut self) -> Dataset {
        if self.rules.duplicates == DuplicatePolicy::Mean {
            for (inter, (sum, count)) in self.interactions.iter_mut().zip(&self.sums) {
                inter.rating = (sum / f64::from(*count)) as f32;
            }
        }
        let (user_ids, user_map) = sorted_ids(self.user_ids);
        let (item_ids, item_map) = sorted_ids(self.item_ids);
        for inter in &mut self.interactions {
            inter.user = user_map[inter.user as usize];
            inter.item = item_map[inter.item as usize];
        }
        self.interactions.sort_unstable_by_key(|i| (i.user, i.item));
        let item_categories = if self.categories.iter().any(Option::is_some) {
            let mut cats = vec![String::from("unknown"); item_ids.len()];
            for (old, cat) in self.categories.into_iter().enumerate() {
                if let Some(cat) = cat {
                    cats[item_map[old] as usize] = cat;
                }
            }
            Some(cats)
        } else {
            None
        };
        let mut report = self.report;
        report.interactions = self.interactions.len();
        report.users = user_ids.len();
        report.items = item_ids.len();
        Dataset {
            user_ids,
            item_ids,
            interactions: self.interactions,
            item_categories,
            report,
            erased_through: None,
        }
    }
}

fn show(value: Option<&str>) -> String {
    match value {
        None => "NULL or missing".to_owned(),
        Some(v) => format!("{:?}", truncate(v)),
    }
}

fn truncate(v: &str) -> &str {
    match v.char_indices().nth(40) {
        Some((at, _)) => &v[..at],
        None => v,
    }
}

fn intern(map: &mut FxHashMap<String, u32>, ids: &mut Vec<String>, id: &str) -> u32 {
    if let Some(&at) = map.get(id) {
        return at;
    }
    let at = ids.len() as u32;
    map.insert(id.to_owned(), at);
    ids.push(id.to_owned());
    at
}

/// Sorts IDs; returns them and the old → new index map.
fn sorted_ids(ids: Vec<String>) -> (Vec<String>, Vec<u32>) {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    let mut map = vec![0u32; ids.len()];
    for (new, &old) in order.iter().enumerate() {
        map[old as usize] = new as u32;
    }
    let mut slots: Vec<Option<String>> = ids.into_iter().map(Some).collect();
    let sorted = order.iter().map(|&old| slots[old as usize].take().unwrap_or_default()).collect();
    (sorted, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(user: &'a str, item: &'a str, rating: &'a str, ts: &'a str) -> RawRow<'a> {
        RawRow {
            user: Some(user),
            item: Some(item),
            rating: Some(rating),
            timestamp: Some(ts),
            ..RawRow::default()
        }
    }

    #[test]
    fn duplicates_keep_the_latest_and_ids_are_sorted() {
        let mut b = DatasetBuilder::new("test", Rules::default(), true);
        b.push(1, row("U2", "I1", "1", "100")).expect("ok");
        b.push(2, row("U1", "I1", "2", "50")).expect("ok");
        b.push(3, row("U2", "I1", "5", "200")).expect("ok");
        b.push(4, row("U2", "I1", "3", "150")).expect("ok");
        let d = b.finish();
        assert_eq!(d.user_ids, ["U1", "U2"]);
        assert_eq!(d.interactions.len(), 2);
        assert_eq!(d.interactions[1].rating, 5.0);
        assert_eq!(d.interactions[1].timestamp, 200);
        assert_eq!(d.report.duplicates_resolved, 2);
    }

    #[test]
    fn mean_policy_averages() {
        let rules = Rules { duplicates: DuplicatePolicy::Mean, ..Rules::default() };
        let mut b = DatasetBuilder::new("test", rules, true);
        b.push(1, row("U", "I", "1", "1")).expect("ok");
        b.push(2, row("U", "I", "4", "2")).expect("ok");
        assert_eq!(b.finish().interactions[0].rating, 2.5);
    }

    #[test]
    fn bad_rows_are_counted_by_reason_and_strict_fails() {
        let mut b = DatasetBuilder::new("test", Rules::default(), true);
        b.push(1, row("", "I", "3", "1")).expect("ok");
        b.push(2, row("U", "I", "x", "1")).expect("ok");
        b.push(3, row("U", "I", "9", "1")).expect("ok");
        b.push(4, row("U", "I", "3", "yesterday")).expect("ok");
        b.push(5, RawRow { behavior: Some("like"), ..row("U", "I", "3", "1") }).expect("ok");
        b.push(6, row("U", "I", "3", "2026-01-01 00:00:00")).expect("ok");
        let d = b.finish();
        assert_eq!(d.report.rows_read, 6);
        assert_eq!(d.report.total_skipped(), 5);
        assert_eq!(d.interactions[0].timestamp, 1_767_225_600);
        let mut strict = DatasetBuilder::new("test", Rules { strict: true, ..Rules::default() }, true);
        let err = strict.push(7, row("U", "", "3", "1")).expect_err("strict");
        assert!(err.to_string().contains("row 7: empty_item_id"), "{err}");
    }
}
