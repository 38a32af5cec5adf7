//! `trainer ingest`'s pipeline: the Worker's stored events (`GET /admin/events`, NDJSON pages)
//! into the MySQL interactions table, idempotent by `event_id` and resumable from a cursor kept
//! in MySQL; then the Worker's user deletions applied to the same table ([`super::erase`]).
//!
//! The HTTP client blocks, so each request runs on tokio's blocking pool: the next page is
//! fetched there while the current one is written, and nothing blocks the executor.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::task::JoinHandle;

use super::client::Admin;
use super::erase::{self, Eraser};
use super::page::Page;
use super::store::Sink;
use crate::db::{CURSOR_TABLE, ERASURE_CURSOR_TABLE, Target};

/// What one run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestSummary {
    /// The Worker's base URL.
    pub source: String,
    /// The interactions table, quoted.
    pub table: String,
    /// Events read from the Worker.
    pub fetched: u64,
    /// New rows.
    pub inserted: u64,
    /// Events whose `event_id` was already stored.
    pub skipped: u64,
    /// Pages written.
    pub pages: u64,
    /// The events' cursor after the run.
    pub cursor: u64,
    /// Wall time of the run.
    pub seconds: f64,
    /// Time spent writing to MySQL (the rest is HTTP, overlapped, and setup).
    pub write_seconds: f64,
    /// Events read per second.
    pub rows_per_second: f64,
    /// What was done to bring the table up to date, as sentences.
    pub schema_changes: Vec<String>,
    /// User deletions applied.
    pub deletions: u64,
    /// Rows those deletions removed.
    pub erased_rows: u64,
    /// The erasure cursor after them.
    pub erasure_cursor: u64,
}

/// What a run reports while it goes, for the caller to print or not.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A change made to bring the table up to date.
    Schema(&'a str),
    /// The run starts after the cursor `after`.
    Start {
        /// The cursor the run resumes from.
        after: u64,
        /// The Worker's base URL.
        source: &'a str,
        /// The interactions table, quoted.
        table: &'a str,
        /// The server's `host:port`.
        address: &'a str,
    },
    /// A page was written; the running totals.
    Page {
        /// Pages written so far.
        pages: u64,
        /// Events read so far.
        fetched: u64,
        /// The cursor after the page.
        cursor: u64,
    },
}

/// Runs the pipeline: pages of at most `limit` events from `admin` into `table` at `target`,
/// then the user deletions. On an error, the pages (and deletion pages) committed before it
/// stay, with their cursors after them, and the error says where the cursor stays.
pub async fn run(
    admin: Admin,
    target: &Target,
    table: &str,
    limit: usize,
    progress: &mut dyn FnMut(Progress<'_>),
) -> anyhow::Result<IngestSummary> {
    let started = Instant::now();
    let admin = Arc::new(admin);
    let source = admin.base().to_owned();
    let mut sink = Sink::open(target, table, &source).await?;
    for change in sink.changes() {
        progress(Progress::Schema(change));
    }
    let start = sink.cursor();
    let table_name = sink.table().to_string();
    progress(Progress::Start { after: start, source: &source, table: &table_name, address: &target.address });
    let mut summary = IngestSummary {
        source,
        table: table_name,
        schema_changes: sink.changes().to_vec(),
        cursor: start,
        ..IngestSummary::default()
    };
    let result = write_pages(&admin, &mut sink, start, limit, &mut summary, progress).await;
    sink.close().await;
    summary.cursor = summary.cursor.max(start);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.fetched as f64 / summary.seconds.max(1e-9);
    result.with_context(|| {
        format!(
            "ingest stopped after {} page(s) ({} inserted, {} skipped); the cursor in `{CURSOR_TABLE}` \
             stays at {}, the last committed page: run again to resume",
            summary.pages, summary.inserted, summary.skipped, summary.cursor
        )
    })?;
    let mut eraser = Eraser::open(target, table, &summary.source).await?;
    let applied = erase::apply_all(&admin, &mut eraser, limit).await;
    summary.erasure_cursor = eraser.cursor();
    eraser.close().await;
    let applied = applied.with_context(|| {
        format!(
            "erasing deleted users stopped; the cursor in `{ERASURE_CURSOR_TABLE}` stays at {}, after \
             the last committed page: run again to resume",
            summary.erasure_cursor
        )
    })?;
    summary.deletions = applied.deletions;
    summary.erased_rows = applied.rows;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// `GET /admin/events` after `after`, started at once on the blocking pool.
fn fetch(admin: &Arc<Admin>, after: u64, limit: usize) -> JoinHandle<anyhow::Result<Page>> {
    let admin = Arc::clone(admin);
    tokio::task::spawn_blocking(move || admin.events_page(after, limit))
}

/// Writes every page after `start`, fetching the next page while one is written.
async fn write_pages(
    admin: &Arc<Admin>,
    sink: &mut Sink,
    start: u64,
    limit: usize,
    summary: &mut IngestSummary,
    progress: &mut dyn FnMut(Progress<'_>),
) -> anyhow::Result<()> {
    let mut next = Some(fetch(admin, start, limit));
    while let Some(pending) = next.take() {
        let page = pending.await.map_err(|_| anyhow::anyhow!("the HTTP thread panicked"))??;
        if !page.is_last(limit) {
            // One page in flight while this one is written.
            next = Some(fetch(admin, page.next, limit));
        }
        summary.fetched += page.rows.len() as u64;
        let clock = Instant::now();
        let written = sink.write_page(&page).await;
        summary.write_seconds += clock.elapsed().as_secs_f64();
        summary.cursor = sink.cursor();
        let written = written?;
        summary.inserted += written.inserted;
        summary.skipped += written.skipped;
        summary.pages += 1;
        progress(Progress::Page { pages: summary.pages, fetched: summary.fetched, cursor: summary.cursor });
    }
    Ok(())
}
