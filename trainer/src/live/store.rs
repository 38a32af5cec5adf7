//! The storage half of `trainer ingest`: event rows into the interactions table, idempotent by
//! `event_id`, with the resume cursor in `edgerec_ingest_cursor`.
//!
//! Each page is one transaction: its rows (`LOAD DATA LOCAL INFILE ... IGNORE`, or multi-row
//! `INSERT IGNORE` of 1,000 rows each where the server refuses local infile) and the cursor row
//! move together, so a lost connection rolls
//! the page back and the next run starts after the last committed page. Duplicates (an
//! `event_id` already stored) are skipped and counted.
//!
//! [`Sink::open`] brings the table up to date: it creates a missing table with the generator's
//! schema, adds a missing `event_id` column and its UNIQUE key to an older one, and creates the
//! cursor table. Every ID is checked against its column before any insert, so an event the
//! table cannot hold is an error that names it (the cursor stays before it); nothing is
//! truncated.

use anyhow::Context as _;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, TxOpts, Value};

use super::event::Row;
use super::page::Page;
use crate::db::{TableName, Target, db_error, table_columns};
use crate::synthetic::mysql::{
    EVENT_ID_COLUMN, EVENT_ID_KEY, ID_TYPE, INTERACTIONS_INDEXES, interactions_ddl, set_infile,
};

/// The cursor table's name (in the interactions table's database).
pub const CURSOR_TABLE: &str = "edgerec_ingest_cursor";
/// Rows per INSERT statement.
const CHUNK_ROWS: usize = 1000;
/// Longest source URL the cursor table keys on.
const MAX_SOURCE_BYTES: usize = 512;

/// How a string column stores text, from `information_schema.COLUMNS`.
#[derive(Debug, Clone)]
struct Capacity {
    column: &'static str,
    data_type: String,
    max: u64,
    charset: Option<String>,
}

impl Capacity {
    /// Why `value` does not fit, or `None` when it does.
    fn misfit(&self, value: &str) -> Option<String> {
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

/// What [`Sink::write_page`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// New rows.
    pub inserted: u64,
    /// Events whose `event_id` was already stored.
    pub skipped: u64,
}

/// The interactions table and its cursor, on one connection.
pub struct Sink {
    conn: Conn,
    table: TableName,
    cursor_table: TableName,
    source: String,
    cursor: u64,
    ids: Vec<Capacity>,
    changes: Vec<String>,
    /// Whether pages go in with LOAD DATA LOCAL INFILE (until the server refuses it).
    load_data: bool,
}

impl Sink {
    /// Connects, brings `table` and the cursor table up to date (see the module docs), and
    /// reads the cursor for `source` (0 when it has none).
    pub async fn open(target: &Target, table: &str, source: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            source.is_ascii() && !source.is_empty() && source.len() <= MAX_SOURCE_BYTES,
            "the source URL must be 1..={MAX_SOURCE_BYTES} bytes of ASCII to key the cursor on"
        );
        let table = TableName::parse(table, target)?;
        let cursor_table = TableName { schema: table.schema.clone(), table: CURSOR_TABLE.to_owned() };
        let mut conn = target.connect().await?;
        let mut changes = Vec::new();
        let columns = match table_columns(&mut conn, &table).await? {
            Some(columns) => columns,
            None => {
                let create = interactions_ddl(&table, "edgerec ingest");
                conn.query_drop(create)
                    .await
                    .map_err(db_error)
                    .with_context(|| format!("creating {table}"))?;
                let index =
                    format!("ALTER TABLE {} {INTERACTIONS_INDEXES}, ADD {EVENT_ID_KEY}", table.quoted());
                conn.query_drop(index)
                    .await
                    .map_err(db_error)
                    .with_context(|| format!("indexing {table}"))?;
                changes.push(format!("created table {table} with the generator's schema"));
                table_columns(&mut conn, &table).await?.unwrap_or_default()
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
        } else if !has_unique_event_id(&mut conn, &table).await? {
            let alter = format!("ALTER TABLE {} ADD {EVENT_ID_KEY}", table.quoted());
            conn.query_drop(alter)
                .await
                .map_err(db_error)
                .with_context(|| format!("adding a UNIQUE key on `event_id` to {table}"))?;
            changes.push(format!("added a UNIQUE key on `event_id` to {table}"));
        }
        let ids = id_capacities(&mut conn, &table).await?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (\
               `source` VARCHAR({MAX_SOURCE_BYTES}) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
               `table_name` VARCHAR(129) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
               `after` BIGINT UNSIGNED NOT NULL, \
               `updated_at` DATETIME NOT NULL, \
               PRIMARY KEY (`source`, `table_name`)\
             ) ENGINE=InnoDB",
            cursor_table.quoted()
        ))
        .await
        .map_err(db_error)
        .with_context(|| format!("creating {cursor_table}"))?;
        let cursor: Option<u64> = conn
            .exec_first(
                format!(
                    "SELECT `after` FROM {} WHERE `source` = ? AND `table_name` = ?",
                    cursor_table.quoted()
                ),
                (source, &table.table),
            )
            .await
            .map_err(db_error)
            .with_context(|| format!("reading the cursor from {cursor_table}"))?;
        Ok(Self {
            conn,
            table,
            cursor_table,
            source: source.to_owned(),
            cursor: cursor.unwrap_or(0),
            ids,
            changes,
            load_data: true,
        })
    }

    /// The last committed cursor: events after it are still to be ingested.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// What [`open`](Self::open) changed in the schema, as sentences.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    /// The MySQL connection ID (for tests that kill it).
    pub fn connection_id(&self) -> u32 {
        self.conn.id()
    }

    /// Writes with multi-row INSERT instead of LOAD DATA LOCAL INFILE, as happens anyway once
    /// the server refuses local infile.
    pub fn prefer_insert(&mut self) {
        self.load_data = false;
    }

    /// The table the rows go to.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// Why `row` does not fit the table, or `None`.
    fn misfit(&self, row: &Row) -> Option<String> {
        self.ids.iter().find_map(|cap| {
            let value = match cap.column {
                "user_id" => &row.user_id,
                "item_id" => &row.item_id,
                _ => &row.event_id,
            };
            cap.misfit(value)
        })
    }

    /// Writes a page's rows and moves the cursor to `page.next`, in one transaction. An event
    /// the table cannot hold fails the page: the events before it are committed with the
    /// cursor just before it, and the error names it.
    pub async fn write_page(&mut self, page: &Page) -> anyhow::Result<Written> {
        let bad = page.rows.iter().enumerate().find_map(|(i, row)| self.misfit(row).map(|why| (i, why)));
        let (rows, next) = match &bad {
            None => (&page.rows[..], page.next),
            Some((0, _)) => (&page.rows[..0], self.cursor),
            Some((i, _)) => (&page.rows[..*i], page.rows[i - 1].seq),
        };
        let written = if rows.is_empty() && next == self.cursor {
            Written::default()
        } else {
            self.commit(rows, next).await?
        };
        if let Some((i, why)) = bad {
            let row = &page.rows[i];
            anyhow::bail!(
                "event {:?} (seq {}) does not fit {}: {why}. Nothing was truncated; the cursor \
                 stays at {} (before it). Widen the column, e.g. ALTER TABLE {} MODIFY `user_id` \
                 {ID_TYPE} NOT NULL, MODIFY `item_id` {ID_TYPE} NOT NULL, and run ingest again",
                row.event_id,
                row.seq,
                self.table,
                self.cursor,
                self.table.quoted()
            );
        }
        Ok(written)
    }

    async fn commit(&mut self, rows: &[Row], next: u64) -> anyhow::Result<Written> {
        loop {
            if let Some(written) = self.try_commit(rows, next).await? {
                return Ok(written);
            }
        }
    }

    /// One attempt at [`commit`](Self::commit); `None` when the server refused LOAD DATA LOCAL
    /// (the transaction is rolled back and the next attempt uses INSERT).
    async fn try_commit(&mut self, rows: &[Row], next: u64) -> anyhow::Result<Option<Written>> {
        let (table, cursor_table) = (self.table.to_string(), self.cursor_table.to_string());
        let upsert = format!(
            "INSERT INTO {} (`source`, `table_name`, `after`, `updated_at`) \
             VALUES (?, ?, ?, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE `after` = VALUES(`after`), \
             `updated_at` = VALUES(`updated_at`)",
            self.cursor_table.quoted()
        );
        if self.load_data && !rows.is_empty() {
            set_infile(&mut self.conn, infile(rows));
        }
        let mut tx = self
            .conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(db_error)
            .context("starting a transaction")?;
        let mut written = Written::default();
        if self.load_data && !rows.is_empty() {
            match tx.query_drop(load_sql(&self.table)).await {
                Ok(()) => written = counted(&tx, rows.len(), &table)?,
                // LOAD DATA LOCAL refused (local_infile off, say): INSERT from now on.
                Err(mysql_async::Error::Server(err)) if [1148, 3948, 4166].contains(&err.code) => {
                    eprintln!("LOAD DATA LOCAL INFILE was refused ({}); using INSERT instead", err.message);
                    tx.rollback().await.map_err(db_error).context("rolling back")?;
                    self.load_data = false;
                    return Ok(None);
                }
                Err(err) => return Err(db_error(err)).with_context(|| format!("loading rows into {table}")),
            }
        }
        if !self.load_data {
            for chunk in rows.chunks(CHUNK_ROWS) {
                let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
                for row in chunk {
                    params.extend([
                        Value::from(row.event_id.as_str()),
                        Value::from(row.user_id.as_str()),
                        Value::from(row.item_id.as_str()),
                        Value::from(row.rating),
                        Value::from(row.behavior.as_str()),
                        Value::from(datetime(row.timestamp)?),
                    ]);
                }
                tx.exec_drop(insert_sql(&self.table, chunk.len()), params)
                    .await
                    .map_err(db_error)
                    .with_context(|| format!("inserting {} rows into {table}", chunk.len()))?;
                let chunk_written = counted(&tx, chunk.len(), &table)?;
                written.inserted += chunk_written.inserted;
                written.skipped += chunk_written.skipped;
            }
        }
        tx.exec_drop(upsert, (&self.source, &self.table.table, next))
            .await
            .map_err(db_error)
            .with_context(|| format!("moving the cursor in {cursor_table}"))?;
        tx.commit().await.map_err(db_error).with_context(|| format!("committing a page into {table}"))?;
        self.cursor = next;
        Ok(Some(written))
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// Inserted and skipped rows of the last statement, which wrote `n` rows with IGNORE; every
/// warning must be a skipped duplicate.
fn counted(conn: &Conn, n: usize, table: &str) -> anyhow::Result<Written> {
    let (inserted, warnings) = (conn.affected_rows(), u64::from(conn.get_warnings()));
    let skipped = (n as u64).saturating_sub(inserted);
    anyhow::ensure!(
        warnings == skipped,
        "writing {n} rows into {table} gave {warnings} warning(s) for {skipped} duplicate(s); \
         rolled back"
    );
    Ok(Written { inserted, skipped })
}

const COLUMNS: &str = "(`event_id`, `user_id`, `item_id`, `rating`, `behavior`, `timestamp`)";

fn load_sql(table: &TableName) -> String {
    format!(
        "LOAD DATA LOCAL INFILE 'edgerec-ingest' IGNORE INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' {COLUMNS}",
        table.quoted()
    )
}

fn insert_sql(table: &TableName, rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?, ?)"; rows].join(", ");
    format!("INSERT IGNORE INTO {} {COLUMNS} VALUES {values}", table.quoted())
}

/// A field of the LOAD DATA body: `\`, tab, newline, carriage return and NUL escaped.
fn push_field(buf: &mut Vec<u8>, value: &str) {
    for &b in value.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            0 => buf.extend_from_slice(b"\\0"),
            _ => buf.push(b),
        }
    }
}

/// The LOAD DATA body for `rows`, handed over in one piece.
fn infile(rows: &[Row]) -> impl FnMut(&mut Vec<u8>) + Unpin + Send + Sync + 'static {
    let mut body = Vec::with_capacity(rows.len() * 96);
    for row in rows {
        for field in [&row.event_id, &row.user_id, &row.item_id] {
            push_field(&mut body, field);
            body.push(b'\t');
        }
        body.extend_from_slice(format!("{}\t{}\t", row.rating, row.behavior.as_str()).as_bytes());
        body.extend_from_slice(datetime(row.timestamp).unwrap_or_default().as_bytes());
        body.push(b'\n');
    }
    let mut body = Some(body);
    move |out: &mut Vec<u8>| {
        if let Some(body) = body.take() {
            *out = body;
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (the rows' timestamps are checked to fit a DATETIME).
fn datetime(timestamp: i64) -> anyhow::Result<String> {
    let t = chrono::DateTime::from_timestamp(timestamp, 0)
        .with_context(|| format!("timestamp {timestamp} is out of range"))?;
    Ok(t.format("%Y-%m-%d %H:%M:%S").to_string())
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

async fn id_capacities(conn: &mut Conn, table: &TableName) -> anyhow::Result<Vec<Capacity>> {
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
