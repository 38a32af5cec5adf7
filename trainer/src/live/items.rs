//! Item availability from the shop's own data, pushed to the Worker (`PUT /admin/items`).
//!
//! The source is a column of the shop's items table (a flag such as `in_stock`, or a stock
//! count: more than 0 is available) or a CSV with the header `item_id,available[,until]`. The
//! push is idempotent: the Worker changes only the items whose state differs, and its version
//! moves only then, so running it again (after a failure half way, or from cron) is safe.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context as _;
use mysql_async::prelude::Queryable as _;
use serde::Serialize;

use super::client::Admin;
use crate::db::{self, TableName, Target};

/// Most items in one request (the Worker's limit).
pub const MAX_BATCH: usize = 10_000;

/// One item's state, as the Worker takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemState {
    pub item_id: String,
    pub available: bool,
    /// RFC 3339: unavailable from this time on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// What one push did.
#[derive(Debug, Default, Serialize)]
pub struct Pushed {
    pub items: usize,
    pub requests: usize,
    pub changed: usize,
    pub unknown_items: usize,
    /// The Worker's state version after the last request.
    pub version: Option<i64>,
}

/// Reads a flag or a count as availability: `1`/`true`/`yes`/`y` or a number above 0 is
/// available; `0`/`false`/`no`/`n`, 0 or below is not. Anything else is an error.
pub fn parse_available(raw: &str) -> Option<bool> {
    let text = raw.trim().to_ascii_lowercase();
    match text.as_str() {
        "true" | "yes" | "y" | "t" => Some(true),
        "false" | "no" | "n" | "f" => Some(false),
        _ => text.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v > 0.0),
    }
}

/// Checks an `until` as the Worker will, and normalises it to RFC 3339 UTC.
fn parse_until(raw: &str) -> anyhow::Result<String> {
    let t = chrono::DateTime::parse_from_rfc3339(raw.trim())
        .with_context(|| format!("`{raw}` is not an RFC 3339 time such as 2026-12-31T23:59:59Z"))?;
    Ok(t.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Reads `item_id,available[,until]` (with that header) from a CSV file.
pub fn read_csv(path: &Path) -> anyhow::Result<Vec<ItemState>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers =
        reader.headers().with_context(|| format!("reading the header of {}", path.display()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(id), Some(flag)) = (column("item_id"), column("available")) else {
        anyhow::bail!(
            "{} needs the header `item_id,available[,until]`, got `{}`",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };
    let until = column("until");
    let mut items = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let line = k + 2;
        let record = record.with_context(|| format!("{} line {line}", path.display()))?;
        let field = |i: usize| record.get(i).unwrap_or_default();
        let at = || format!("{} line {line}", path.display());
        let available = parse_available(field(flag)).with_context(|| {
            format!("{}: `available` must be true/false, 1/0 or a count, got `{}`", at(), field(flag))
        })?;
        let until = match until.map(field).filter(|u| !u.is_empty()) {
            Some(raw) => Some(parse_until(raw).with_context(at)?),
            None => None,
        };
        items.push(ItemState { item_id: field(id).to_owned(), available, until });
    }
    check(&items)?;
    Ok(items)
}

/// Reads `id_column` and `column` of every row of `table`; a NULL is an error that names the item.
pub fn read_mysql(
    database_url: &str,
    table: &str,
    id_column: &str,
    column: &str,
) -> anyhow::Result<Vec<ItemState>> {
    let target = Target::parse(database_url)?;
    let table = TableName::parse(table, &target)?;
    let sql = format!(
        "SELECT {}, {} FROM {}",
        db::quote_ident(id_column)?,
        db::quote_ident(column)?,
        table.quoted()
    );
    let items = db::block_on(async {
        let mut conn = target.connect().await?;
        let reading = || format!("reading {table} from {}", target.address);
        let rows: Vec<(Option<String>, Option<String>)> =
            conn.query(sql).await.map_err(db::db_error).with_context(reading)?;
        let _ = conn.disconnect().await;
        rows.into_iter()
            .map(|(item, flag)| {
                let item = item.with_context(|| format!("{table}: a row has a NULL `{id_column}`"))?;
                let flag = flag.with_context(|| format!("{table}: `{column}` is NULL for item `{item}`"))?;
                let available = parse_available(&flag).with_context(|| {
                    format!("{table}: `{column}` of item `{item}` is `{flag}`, not a flag or a count")
                })?;
                Ok(ItemState { item_id: item, available, until: None })
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    check(&items)?;
    Ok(items)
}

/// No empty and no repeated item ID: the Worker would refuse the batch half way through.
fn check(items: &[ItemState]) -> anyhow::Result<()> {
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        anyhow::ensure!(!item.item_id.is_empty(), "an item ID is empty");
        anyhow::ensure!(seen.insert(item.item_id.as_str()), "item `{}` is listed twice", item.item_id);
    }
    Ok(())
}

/// Pushes `items` in requests of at most `batch` items.
pub fn push(admin: &Admin, items: &[ItemState], batch: usize) -> anyhow::Result<Pushed> {
    anyhow::ensure!((1..=MAX_BATCH).contains(&batch), "the batch size must be in 1..={MAX_BATCH}");
    let mut pushed = Pushed { items: items.len(), ..Pushed::default() };
    for (k, chunk) in items.chunks(batch).enumerate() {
        let body = serde_json::json!({ "items": chunk });
        let answer = admin.put_json("/admin/items", &body).with_context(|| {
            format!(
                "request {} of {} ({} items before it were stored)",
                k + 1,
                items.len().div_ceil(batch),
                k * batch
            )
        })?;
        let number = |key: &str| answer.get(key).and_then(serde_json::Value::as_i64);
        pushed.requests += 1;
        pushed.changed += number("changed").unwrap_or(0) as usize;
        pushed.unknown_items += answer.get("unknown_items").and_then(|u| u.as_array()).map_or(0, Vec::len);
        pushed.version = number("version");
    }
    Ok(pushed)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn flags_and_counts_read_as_availability() {
        for yes in ["1", "true", "TRUE", " yes ", "y", "3", "0.5", "t"] {
            assert_eq!(parse_available(yes), Some(true), "{yes}");
        }
        for no in ["0", "false", "No", "n", "-2", "0.0", "f"] {
            assert_eq!(parse_available(no), Some(false), "{no}");
        }
        for bad in ["", "maybe", "NaN", "inf"] {
            assert_eq!(parse_available(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_csv_is_read_checked_and_normalised() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "item_id,available,until\nA,1,\nB,false,2026-12-31T23:00:00+01:00\nC,5,")
            .expect("write");
        let items = read_csv(file.path()).expect("valid");
        assert_eq!(
            items,
            [
                ItemState { item_id: "A".into(), available: true, until: None },
                ItemState {
                    item_id: "B".into(),
                    available: false,
                    until: Some("2026-12-31T22:00:00.000Z".into())
                },
                ItemState { item_id: "C".into(), available: true, until: None },
            ]
        );
        for (text, needle) in [
            ("id,available\nA,1\n", "needs the header"),
            ("item_id,available\nA,perhaps\n", "line 2"),
            ("item_id,available,until\nA,1,soon\n", "line 2"),
            ("item_id,available\nA,1\nA,0\n", "listed twice"),
        ] {
            let mut file = tempfile::NamedTempFile::new().expect("temp file");
            write!(file, "{text}").expect("write");
            let e = format!("{:#}", read_csv(file.path()).expect_err(text));
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
