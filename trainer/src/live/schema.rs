//! The tables `trainer ingest` writes: the interactions table brought up to date (created with
//! the schema of [`crate::db::schema`] when missing; `event_id` and its UNIQUE key added to an older one),
//! the cursor table, and what each ID column can hold.

use anyhow::Context as _;
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use crate::db::schema::{EVENT_ID_COLUMN, EVENT_ID_KEY, INTERACTIONS_INDEXES, interactions_ddl};
use crate::db::{TableName, db_error, table_columns};

/// Creates or migrates `table`; returns what it changed, as sentences.
pub(super) async fn prepare_table(conn: &mut Conn, table: &TableName) -> anyhow::Result<Vec<String>> {
    let mut changes = Vec::new();
    let columns = match table_columns(conn, table).await? {
        Some(columns) => columns,
        None => {
            let create = interactions_ddl(table, "edgerec ingest");
            conn.query_drop(create).await.map_err(db_error).with_context(|| format!("creating {table}"))?;
            let index = format!("ALTER TABLE {} {INTERACTIONS_INDEXES}, ADD {EVENT_ID_KEY}", table.quoted());
            conn.query_drop(index).await.map_err(db_error).with_context(|| format!("indexing {table}"))?;
            changes.push(format!("created table {table} with the generator's schema"));
            table_columns(conn, table).await?.unwrap_or_default()
        }
    };
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    for name in ["user_id", "item_id", "rating", "behavior", "timestamp"] {
        anyhow::ensure!(
            has(name),
            "table {table} has no column `{name}`; ingest writes the generator's schema \
             (user_id, item_id, rating, behavior, timestamp, event_id); columns: {}",
            columns.join(", ")
        );
    }
    if !has("event_id") {
        let alter =
            format!("ALTER TABLE {} ADD COLUMN {EVENT_ID_COLUMN}, ADD {EVENT_ID_KEY}", table.quoted());
        conn.query_drop(alter)
            .await
            .map_err(db_error)
            .with_context(|| format!("adding `event_id` to {table}"))?;
        changes.push(format!("added column `event_id` with a UNIQUE key to {table}"));
    } else if !has_unique_event_id(conn, table).await? {
        let alter = format!("ALTER TABLE {} ADD {EVENT_ID_KEY}", table.quoted());
        conn.query_drop(alter)
            .await
            .map_err(db_error)
            .with_context(|| format!("adding a UNIQUE key on `event_id` to {table}"))?;
        changes.push(format!("added a UNIQUE key on `event_id` to {table}"));
    }
    Ok(changes)
}

/// Creates the cursor table when it is missing.
pub(super) async fn create_cursor_table(
    conn: &mut Conn,
    cursor_table: &TableName,
    max_source_bytes: usize,
) -> anyhow::Result<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (\
               `source` VARCHAR({max_source_bytes}) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
               `table_name` VARCHAR(129) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
               `after` BIGINT UNSIGNED NOT NULL, \
               `updated_at` DATETIME NOT NULL, \
               PRIMARY KEY (`source`, `table_name`)\
             ) ENGINE=InnoDB",
        cursor_table.quoted()
    ))
    .await
    .map_err(db_error)
    .with_context(|| format!("creating {cursor_table}"))
}

/// The cursor stored for (`source`, `table`) in `cursor_table` (0 when there is none yet).
pub(super) async fn read_cursor(
    conn: &mut Conn,
    cursor_table: &TableName,
    source: &str,
    table: &str,
) -> anyhow::Result<u64> {
    let cursor: Option<u64> = conn
        .exec_first(
            format!("SELECT `after` FROM {} WHERE `source` = ? AND `table_name` = ?", cursor_table.quoted()),
            (source, table),
        )
        .await
        .map_err(db_error)
        .with_context(|| format!("reading the cursor from {cursor_table}"))?;
    Ok(cursor.unwrap_or(0))
}

/// The statement that stores a cursor for (`source`, `table_name`) in `cursor_table`:
/// `(source, table_name, after)` as its parameters.
pub(super) fn write_cursor_sql(cursor_table: &TableName) -> String {
    format!(
        "INSERT INTO {} (`source`, `table_name`, `after`, `updated_at`) \
         VALUES (?, ?, ?, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE `after` = VALUES(`after`), \
         `updated_at` = VALUES(`updated_at`)",
        cursor_table.quoted()
    )
}

/// How a string column stores text, from `information_schema.COLUMNS`.
#[derive(Debug, Clone)]
pub(super) struct Capacity {
    pub(super) column: &'static str,
    data_type: String,
    max: u64,
    charset: Option<String>,
}

impl Capacity {
    /// Why `value` does not fit, or `None` when it does.
    pub(super) fn misfit(&self, value: &str) -> Option<String> {
        let binary = self.charset.is_none();
        let charset = self.charset.as_deref().unwrap_or("binary");
        let encodable = match charset {
            "utf8mb4" | "binary" => true,
            "utf8mb3" | "utf8" => value.chars().all(|c| u32::from(c) < 0x10000),
            // Other character sets are checked conservatively: ASCII only.
            _ => value.is_ascii(),
        };
        let length = if binary { value.len() } else { value.chars().count() } as u64;
        if !encodable {
            return Some(format!("`{}` {value:?} cannot be stored in character set {charset}", self.column));
        }
        (length > self.max).then(|| {
            format!(
                "`{}` is {length} {} long, more than its column's {}({})",
                self.column,
                if binary { "bytes" } else { "characters" },
                self.data_type.to_uppercase(),
                self.max
            )
        })
    }
}

async fn has_unique_event_id(conn: &mut Conn, table: &TableName) -> anyhow::Result<bool> {
    let unique: Option<String> = conn
        .exec_first(
            "SELECT INDEX_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             GROUP BY INDEX_NAME HAVING COUNT(*) = 1 AND MAX(COLUMN_NAME) = 'event_id'",
            (&table.schema, &table.table),
        )
        .await
        .map_err(db_error)
        .with_context(|| format!("looking up the keys of {table}"))?;
    Ok(unique.is_some())
}

pub(super) async fn id_capacities(conn: &mut Conn, table: &TableName) -> anyhow::Result<Vec<Capacity>> {
    let rows: Vec<(String, String, Option<u64>, Option<String>)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_SET_NAME \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&table.schema, &table.table),
        )
        .await
        .map_err(db_error)
        .with_context(|| format!("looking up the column types of {table}"))?;
    let mut out = Vec::new();
    for column in ["user_id", "item_id", "event_id"] {
        let (_, data_type, max, charset) =
            rows.iter()
                .find(|(name, ..)| name.eq_ignore_ascii_case(column))
                .with_context(|| format!("table {table} has no column `{column}`"))?;
        let max = max.with_context(|| {
            format!("column `{column}` of {table} is {data_type}, not a string type; IDs are strings")
        })?;
        out.push(Capacity { column, data_type: data_type.clone(), max, charset: charset.clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(max: u64, charset: Option<&str>) -> Capacity {
        Capacity { column: "user_id", data_type: "varchar".into(), max, charset: charset.map(str::to_owned) }
    }

    #[test]
    fn capacities_count_characters_and_check_the_character_set() {
        assert!(cap(4, Some("utf8mb4")).misfit("éééé").is_none());
        assert!(cap(3, Some("utf8mb4")).misfit("éééé").expect("too long").contains("is 4 characters"));
        assert!(cap(64, Some("ascii")).misfit("é").expect("not ascii").contains("character set ascii"));
        assert!(cap(64, Some("utf8mb3")).misfit("🦀").is_some());
        assert!(cap(64, Some("utf8mb3")).misfit("é").is_none());
        assert!(cap(4, None).misfit("éé").is_none());
        assert!(cap(3, None).misfit("éé").expect("too long").contains("4 bytes"));
        assert!(cap(64, Some("latin1")).misfit("é").is_some());
    }
}
