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
use super::schema::{
    Capacity, create_cursor_table, id_capacities, prepare_table, read_cursor, write_cursor_sql,
};
use crate::db::infile::set_infile;
use crate::db::schema::ID_TYPE;
use crate::db::{CURSOR_TABLE, TableName, Target, db_error};

/// Rows per INSERT statement.
const CHUNK_ROWS: usize = 1000;
/// Longest source URL the cursor table keys on.
const MAX_SOURCE_BYTES: usize = 512;

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
        let changes = prepare_table(&mut conn, &table).await?;
        let ids = id_capacities(&mut conn, &table).await?;
        create_cursor_table(&mut conn, &cursor_table, MAX_SOURCE_BYTES).await?;
        let cursor = read_cursor(&mut conn, &cursor_table, source, &table.table).await?;
        Ok(Self {
            conn,
            table,
            cursor_table,
            source: source.to_owned(),
            cursor,
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
        let upsert = write_cursor_sql(&self.cursor_table);
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
pub(super) fn datetime(timestamp: i64) -> anyhow::Result<String> {
    let t = chrono::DateTime::from_timestamp(timestamp, 0)
        .with_context(|| format!("timestamp {timestamp} is out of range"))?;
    Ok(t.format("%Y-%m-%d %H:%M:%S").to_string())
}
