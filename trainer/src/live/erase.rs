//! The erasure half of `trainer ingest`: the Worker's user deletions (`GET /admin/deletions`)
//! applied to the interactions table, with their own resume cursor in
//! [`ERASURE_CURSOR_TABLE`].
//!
//! A deletion removes the user's rows whose `timestamp` is at or before the deletion (to the
//! second), so the events of a user who came back afterwards stay. Each page of deletions is
//! one transaction: the rows go and the cursor moves together, so a lost connection rolls the
//! page back and the next run applies it again. Applying a deletion twice deletes nothing more:
//! the run is idempotent.
//!
//! `trainer train` reads the same cursor before it reads the rows and records it in the model
//! (`erased_through`): the Worker then knows which deletions the model's data had seen.

use std::sync::Arc;

use anyhow::Context as _;
use edgerec_core::wire::StoredDeletion;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, TxOpts};

use super::client::Admin;
use super::schema::{create_cursor_table, read_cursor, write_cursor_sql};
use super::store::datetime;
use crate::db::{ERASURE_CURSOR_TABLE, TableName, Target, db_error};

/// Longest source URL the cursor table keys on (as the events' cursor).
const MAX_SOURCE_BYTES: usize = 512;

/// The interactions table and the erasure cursor, on one connection.
pub struct Eraser {
    conn: Conn,
    table: TableName,
    cursor_table: TableName,
    source: String,
    cursor: u64,
}

impl Eraser {
    /// Connects, creates the cursor table when missing and reads the cursor for `source` (0
    /// when it has none). The interactions table must exist (`Sink::open` makes it).
    pub async fn open(target: &Target, table: &str, source: &str) -> anyhow::Result<Self> {
        let table = TableName::parse(table, target)?;
        let cursor_table = TableName { schema: table.schema.clone(), table: ERASURE_CURSOR_TABLE.to_owned() };
        let mut conn = target.connect().await?;
        create_cursor_table(&mut conn, &cursor_table, MAX_SOURCE_BYTES).await?;
        let cursor = read_cursor(&mut conn, &cursor_table, source, &table.table).await?;
        Ok(Self { conn, table, cursor_table, source: source.to_owned(), cursor })
    }

    /// The last applied deletion's `seq`.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Deletes the rows the `deletions` cover and moves the cursor to `next`, in one
    /// transaction; returns how many rows went.
    pub async fn apply(&mut self, deletions: &[StoredDeletion], next: u64) -> anyhow::Result<u64> {
        let table = &self.table;
        let mut tx = self
            .conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(db_error)
            .context("starting a transaction")?;
        let delete = format!("DELETE FROM {} WHERE `user_id` = ? AND `timestamp` <= ?", table.quoted());
        let mut deleted = 0;
        for d in deletions {
            tx.exec_drop(&delete, (&d.user_id, datetime(d.covers_until())?))
                .await
                .map_err(db_error)
                .with_context(|| format!("deleting the rows of user {:?} from {table}", d.user_id))?;
            deleted += tx.affected_rows();
        }
        let upsert = write_cursor_sql(&self.cursor_table);
        tx.exec_drop(upsert, (&self.source, &table.table, next))
            .await
            .map_err(db_error)
            .with_context(|| format!("moving the cursor in {}", self.cursor_table))?;
        tx.commit().await.map_err(db_error).with_context(|| format!("committing deletions in {table}"))?;
        self.cursor = next;
        Ok(deleted)
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}

/// What [`apply_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Deletions read (each applied once per run).
    pub deletions: u64,
    /// Interactions rows deleted.
    pub rows: u64,
}

/// Applies every deletion after the cursor, a page (one transaction) at a time. On an error the
/// pages before it stay applied, with the cursor after them. The HTTP
/// requests run on tokio's blocking pool.
pub async fn apply_all(admin: &Arc<Admin>, eraser: &mut Eraser, limit: usize) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    loop {
        let (client, after) = (Arc::clone(admin), eraser.cursor());
        let (deletions, next) = tokio::task::spawn_blocking(move || client.deletions_page(after, limit))
            .await
            .map_err(|_| anyhow::anyhow!("the HTTP thread panicked"))??;
        if deletions.is_empty() {
            return Ok(applied);
        }
        applied.rows += eraser.apply(&deletions, next).await?;
        applied.deletions += deletions.len() as u64;
        if deletions.len() < limit {
            return Ok(applied);
        }
    }
}
