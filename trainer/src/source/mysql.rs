//! The MySQL source: streams the interactions table (and the items table's categories, when
//! there is one) into the dataset builder.
//!
//! Every session runs with `time_zone = '+00:00'`, so DATETIME columns round-trip Unix seconds
//! exactly.

use std::borrow::Cow;

use anyhow::Context as _;
use mysql_async::Value;
use mysql_async::prelude::Queryable as _;

use super::Columns;
use crate::dataset::Dataset;
use crate::dataset::builder::{DatasetBuilder, RawRow};
use crate::dataset::rules::Rules;
use crate::db::{ERASURE_CURSOR_TABLE, TableName, Target, block_on, db_error, quote_ident, table_columns};

/// Which tables to read.
#[derive(Debug, Clone, Copy)]
pub struct Tables<'a> {
    /// The interactions table (`table` or `database.table`).
    pub interactions: &'a str,
    /// The items table with categories: `None` reads `items` when it exists; a named table
    /// must exist.
    pub items: Option<&'a str>,
}

/// Loads a [`Dataset`] from the interactions table (and the items table, when there is one).
pub fn load_table(
    url: &str,
    tables: &Tables<'_>,
    cols: &Columns,
    rules: Rules,
    progress_every: Option<u64>,
) -> anyhow::Result<Dataset> {
    let target = Target::parse(url)?;
    block_on(read(&target, tables, cols, rules, progress_every))
}

fn value_text(value: Option<&Value>) -> Option<Cow<'_, str>> {
    match value? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b)),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        Value::UInt(u) => Some(Cow::Owned(u.to_string())),
        Value::Float(f) => Some(Cow::Owned(f.to_string())),
        Value::Double(d) => Some(Cow::Owned(d.to_string())),
        Value::Date(y, mo, d, h, mi, s, _) => {
            Some(Cow::Owned(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")))
        }
        Value::Time(..) => Some(Cow::Borrowed("")),
    }
}

async fn read(
    target: &Target,
    tables: &Tables<'_>,
    cols: &Columns,
    rules: Rules,
    progress_every: Option<u64>,
) -> anyhow::Result<Dataset> {
    let table = TableName::parse(tables.interactions, target)?;
    let items_table = TableName::parse(tables.items.unwrap_or("items"), target)?;
    for name in [&cols.user, &cols.item, &cols.rating, &cols.time.0, &cols.behavior.0, &cols.category] {
        quote_ident(name)?;
    }
    let mut conn = target.connect().await?;
    let source = format!("mysql://{}/{} table {}", target.address, table.schema, table.table);
    let existing = table_columns(&mut conn, &table)
        .await?
        .with_context(|| format!("table {table} does not exist at {}", target.address))?;
    let has = |name: &str| existing.iter().any(|c| c.eq_ignore_ascii_case(name));
    for name in [&cols.user, &cols.item, &cols.rating] {
        anyhow::ensure!(has(name), "table {table} has no column `{name}` (columns: {})", existing.join(", "));
    }
    let optional = |(name, explicit): &(String, bool)| -> anyhow::Result<Option<String>> {
        if has(name) {
            Ok(Some(name.clone()))
        } else if *explicit {
            anyhow::bail!("table {table} has no column `{name}` (columns: {})", existing.join(", "))
        } else {
            Ok(None)
        }
    };
    let time = optional(&cols.time)?;
    let behavior = optional(&cols.behavior)?;

    // Before the rows: a deletion applied later may be in them (the model then hides the user
    // needlessly), but the model never claims one its rows may predate.
    let erased_through = erased_through(&mut conn, &table).await?;

    let mut select = vec![cols.user.clone(), cols.item.clone(), cols.rating.clone()];
    select.extend(time.clone());
    select.extend(behavior.clone());
    let list: Vec<String> = select.iter().map(|c| format!("`{c}`")).collect();
    let sql = format!("SELECT {} FROM {}", list.join(", "), table.quoted());
    let mut builder = DatasetBuilder::new(source, rules, time.is_some());
    let time_at = time.as_ref().map(|_| 3);
    let behavior_at = behavior.as_ref().map(|_| 3 + usize::from(time.is_some()));
    let reading = || format!("reading {table} from {}", target.address);
    {
        let mut result = conn.query_iter(sql).await.map_err(db_error).with_context(reading)?;
        let mut row_number = 0u64;
        while let Some(row) = result.next().await.map_err(db_error).with_context(reading)? {
            row_number += 1;
            let user = value_text(row.as_ref(0));
            let item = value_text(row.as_ref(1));
            let rating = value_text(row.as_ref(2));
            let timestamp = time_at.and_then(|i| value_text(row.as_ref(i)));
            let behavior = behavior_at.and_then(|i| value_text(row.as_ref(i)));
            builder.push(
                row_number,
                RawRow {
                    user: user.as_deref(),
                    item: item.as_deref(),
                    rating: rating.as_deref(),
                    timestamp: timestamp.as_deref(),
                    behavior: behavior.as_deref(),
                    category: None,
                },
            )?;
            if let Some(every) = progress_every.filter(|&n| n > 0)
                && row_number.is_multiple_of(every)
            {
                eprintln!("progress: {row_number} rows");
            }
        }
    }

    // Categories from the items table: a named one must exist, the default is optional.
    match table_columns(&mut conn, &items_table).await? {
        Some(item_cols) => {
            let has_item = |name: &str| item_cols.iter().any(|c| c.eq_ignore_ascii_case(name));
            if has_item(&cols.item) && has_item(&cols.category) {
                let sql =
                    format!("SELECT `{}`, `{}` FROM {}", cols.item, cols.category, items_table.quoted());
                let reading = || format!("reading {items_table} from {}", target.address);
                let mut result = conn.query_iter(sql).await.map_err(db_error).with_context(reading)?;
                while let Some(row) = result.next().await.map_err(db_error).with_context(reading)? {
                    if let (Some(item), Some(cat)) = (value_text(row.as_ref(0)), value_text(row.as_ref(1))) {
                        builder.set_category(&item, &cat);
                    }
                }
            } else if tables.items.is_some() {
                anyhow::bail!(
                    "items table {items_table} needs columns `{}` and `{}` (columns: {})",
                    cols.item,
                    cols.category,
                    item_cols.join(", ")
                );
            }
        }
        None if tables.items.is_some() => {
            anyhow::bail!("items table {items_table} does not exist at {}", target.address)
        }
        None => {}
    }
    let _ = conn.disconnect().await;
    let mut dataset = builder.finish();
    dataset.erased_through = erased_through;
    Ok(dataset)
}

/// The `seq` of the last deletion applied to `table` (what a model trained from it now can
/// record as `erased_through`): 0 when none was, and `None` when several Workers feed the
/// table (their `seq`s are not comparable, so the model records none and the Worker hides every
/// deleted user from it). Read before the rows, it is never ahead of them.
async fn erased_through(conn: &mut mysql_async::Conn, table: &TableName) -> anyhow::Result<Option<u64>> {
    let cursor_table = TableName { schema: table.schema.clone(), table: ERASURE_CURSOR_TABLE.to_owned() };
    let exists: Option<String> = conn
        .exec_first(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&cursor_table.schema, &cursor_table.table),
        )
        .await
        .map_err(db_error)
        .with_context(|| format!("looking up {cursor_table}"))?;
    if exists.is_none() {
        return Ok(Some(0));
    }
    let cursors: Vec<u64> = conn
        .exec(
            format!("SELECT `after` FROM {} WHERE `table_name` = ?", cursor_table.quoted()),
            (&table.table,),
        )
        .await
        .map_err(db_error)
        .with_context(|| format!("reading {cursor_table}"))?;
    Ok(match cursors[..] {
        [] => Some(0),
        [one] => Some(one),
        _ => None,
    })
}
