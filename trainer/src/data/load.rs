//! Loading a [`Dataset`] from a file or from MySQL: the shared validation, ID mapping and
//! de-duplication, and the `DataArgs` every training subcommand flattens.
//!
//! Every source feeds raw text fields into one [`DatasetBuilder`], which checks each row, maps
//! string IDs to dense indices on the fly and resolves duplicate (user, item) pairs. The default
//! duplicate policy is [`DuplicatePolicy::Latest`]: the row with the latest timestamp wins, and
//! on a tie the row read last. The finished [`Dataset`] is canonical: users and items sorted by
//! ID, interactions by (user, item), so a file and a table holding the same rows give equal
//! datasets.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use super::{Behavior, Dataset, Interaction};

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

/// How duplicate (user, item) rows are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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
    fn describe(self) -> &'static str {
        match self {
            Self::Latest => "latest by timestamp (ties: last row read)",
            Self::Earliest => "earliest by timestamp (ties: first row read)",
            Self::Mean => "mean rating, latest timestamp",
            Self::Max => "max rating, latest timestamp",
        }
    }
}

/// File layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FileFormat {
    /// Detect the delimiter (tab or comma) and whether the first line is a header.
    #[default]
    Auto,
    /// Comma-separated.
    Csv,
    /// Tab-separated.
    Tsv,
    /// MovieLens `u.data`: tab-separated `user item rating timestamp`, no header.
    Movielens,
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

/// A hash map with the Fx hash (rustc's): IDs come from the data owner, and a load is a one-off
/// batch job, so speed matters more than resistance to crafted collisions.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// rustc's Fx hash (rustc-hash 2): one multiply and rotate per word, a rotate at the end.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // A multiply only carries low input bits upwards; the rotate brings the well-mixed high
        // bits down to where hashbrown picks the bucket (as rustc-hash 2 does).
        self.0.rotate_left(26)
    }
}

/// [`Behavior::parse`] without allocating for the usual lower-case names.
fn parse_behavior(text: &str) -> Option<Behavior> {
    match text {
        "view" => Some(Behavior::View),
        "click" => Some(Behavior::Click),
        "cart" => Some(Behavior::Cart),
        "purchase" => Some(Behavior::Purchase),
        other => Behavior::parse(other),
    }
}

/// Validates rows, maps IDs to dense indices and resolves duplicates.
#[derive(Debug)]
pub struct DatasetBuilder {
    rules: Rules,
    has_time: bool,
    report: ValidationReport,
    users: FastMap<String, u32>,
    items: FastMap<String, u32>,
    user_ids: Vec<String>,
    item_ids: Vec<String>,
    categories: Vec<Option<String>>,
    pairs: FastMap<u64, u32>,
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
            users: FastMap::default(),
            items: FastMap::default(),
            user_ids: Vec::new(),
            item_ids: Vec::new(),
            categories: Vec::new(),
            pairs: FastMap::default(),
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
        Dataset { user_ids, item_ids, interactions: self.interactions, item_categories, report }
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

fn intern(map: &mut FastMap<String, u32>, ids: &mut Vec<String>, id: &str) -> u32 {
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

/// Where training data comes from, and how it is checked. Flattened into every subcommand that
/// reads data.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Data source")]
pub struct DataArgs {
    /// A CSV/TSV file of interactions (needs no server). Takes precedence over a database URL.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,

    /// Layout of --data.
    #[arg(long, value_enum, default_value_t = FileFormat::Auto, value_name = "FORMAT")]
    pub data_format: FileFormat,

    /// Read from MySQL/MariaDB, e.g. mysql://user:password@127.0.0.1:3306/shop.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Interactions table (`table` or `database.table`).
    #[arg(long, default_value = "interactions", value_name = "NAME")]
    pub table: String,

    /// User ID column (also the header name in files).
    #[arg(long, default_value = "user_id", value_name = "NAME")]
    pub user_col: String,

    /// Item ID column (also the key of the items table).
    #[arg(long, default_value = "item_id", value_name = "NAME")]
    pub item_col: String,

    /// Rating column.
    #[arg(long, default_value = "rating", value_name = "NAME")]
    pub rating_col: String,

    /// Timestamp column (DATETIME, TIMESTAMP or Unix seconds) [default: `timestamp`, used when
    /// present; a named column must exist].
    #[arg(long, value_name = "NAME")]
    pub time_col: Option<String>,

    /// Behaviour column (view/click/cart/purchase) [default: `behavior`, used when present].
    #[arg(long, value_name = "NAME")]
    pub behavior_col: Option<String>,

    /// Items table with categories [default: `items`, used when present in the database].
    #[arg(long, value_name = "NAME")]
    pub items_table: Option<String>,

    /// Category column of the items table or the file.
    #[arg(long, default_value = "category", value_name = "NAME")]
    pub category_col: String,

    /// Smallest valid rating.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub min_rating: f32,

    /// Largest valid rating.
    #[arg(long, default_value_t = 5.0, value_name = "X")]
    pub max_rating: f32,

    /// How duplicate (user, item) rows are resolved.
    #[arg(long, value_enum, default_value_t = DuplicatePolicy::Latest, value_name = "POLICY")]
    pub duplicates: DuplicatePolicy,

    /// Fail on the first bad row instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Also write the validation report as JSON to this path.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,

    /// Print a progress line to stderr every N rows (for tests and long reads).
    #[arg(long, hide = true, value_name = "N")]
    pub progress_every: Option<u64>,
}

/// Column names for a source, with the optional ones marked.
#[derive(Debug, Clone)]
pub struct Columns {
    /// User ID column.
    pub user: String,
    /// Item ID column.
    pub item: String,
    /// Rating column.
    pub rating: String,
    /// Time column and whether it was named explicitly.
    pub time: (String, bool),
    /// Behaviour column and whether it was named explicitly.
    pub behavior: (String, bool),
    /// Category column.
    pub category: String,
}

impl DataArgs {
    /// The shared validation rules.
    pub fn rules(&self) -> anyhow::Result<Rules> {
        anyhow::ensure!(
            self.min_rating <= self.max_rating,
            "--min-rating {} is above --max-rating {}",
            self.min_rating,
            self.max_rating
        );
        Ok(Rules {
            min_rating: self.min_rating,
            max_rating: self.max_rating,
            duplicates: self.duplicates,
            strict: self.strict,
        })
    }

    /// The configured column names.
    pub fn columns(&self) -> Columns {
        let opt = |v: &Option<String>, default: &str| match v {
            Some(name) => (name.clone(), true),
            None => (default.to_owned(), false),
        };
        Columns {
            user: self.user_col.clone(),
            item: self.item_col.clone(),
            rating: self.rating_col.clone(),
            time: opt(&self.time_col, "timestamp"),
            behavior: opt(&self.behavior_col, "behavior"),
            category: self.category_col.clone(),
        }
    }

    /// Loads the dataset from the chosen source without printing anything.
    pub fn load_quiet(&self) -> anyhow::Result<Dataset> {
        let rules = self.rules()?;
        if let Some(path) = &self.data {
            super::file::load_file(path, self.data_format, &self.columns(), rules, self.progress_every)
                .with_context(|| format!("loading interactions from {}", path.display()))
        } else if let Some(url) = &self.database_url {
            super::mysql::load_table(url, self, rules)
        } else {
            anyhow::bail!("no data source: pass --data FILE, or --database-url URL (or set DATABASE_URL)")
        }
    }

    /// Loads the dataset from the chosen source, prints the validation report to stderr and
    /// writes it as JSON when `--report-json` asks.
    pub fn load(&self) -> anyhow::Result<Dataset> {
        let dataset = self.load_quiet()?;
        eprint!("{}", dataset.report.to_text());
        if let Some(path) = &self.report_json {
            write_json_atomic(path, &dataset.report)?;
        }
        Ok(dataset)
    }
}

/// Writes `value` as pretty JSON to `path` via a temporary file and a rename.
pub fn write_json_atomic(path: &std::path::Path, value: &impl Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(value).context("serialising the report")?;
    super::write_atomic(path, |w| {
        use std::io::Write as _;
        w.write_all(json.as_bytes())?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
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
