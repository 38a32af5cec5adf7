//! `trainer ingest`: the Worker's stored events (`GET /admin/events`, NDJSON pages) into the
//! MySQL interactions table, idempotent by `event_id` and resumable from a cursor kept in
//! MySQL. HTTP runs on its own thread and fetches the next page while the current one is
//! written.

use std::io::Write as _;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;

use super::output::OutputArgs;
use crate::db::CURSOR_TABLE;
use crate::db::{Target, block_on};
use crate::live::client::Admin;
use crate::live::erase::{self, Eraser};
use crate::live::page::Page;
use crate::live::store::Sink;

const MAPPING: &str = "\
How events become rows of the trainer's schema (rating TINYINT 1..=5, behavior ENUM, DATETIME):
  rating given        rounded to the nearest star and clamped to 1..=5 (0.2 -> 1, 4.5 -> 5)
  rating missing      the rating the behaviour implies under the demo generator's behaviour
                      table: view 3, click 3, cart 4, purchase 4
  behaviour missing   view (the default --behavior-weights weigh it 1, like no behaviour)
  timestamp           Unix seconds, stored as a UTC DATETIME
  IDs, event_id       stored unchanged; an ID the table's column cannot hold stops the run
                      with an error naming the event (nothing is truncated; the cursor stays
                      before it)

A missing table is created with the generator's schema; a table without `event_id` gets the
column (NULL for existing rows) and a UNIQUE key. The cursor lives in `edgerec_ingest_cursor`,
keyed by the Worker URL and the table, and moves in the same transaction as each page's rows.

Then the users deleted on the Worker (GET /admin/deletions) are erased: each deletion deletes
the user's rows whose timestamp is at or before it (a user who came back keeps their later
events). Its cursor lives in `edgerec_erasure_cursor` and moves in the same transaction; a
model `trainer train` makes from the table records it (`erased_through`).";

/// Arguments of `trainer ingest`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = MAPPING)]
pub struct IngestArgs {
    /// The Worker's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long, value_name = "URL")]
    pub from: String,

    /// The Worker's admin token (its ADMIN_TOKEN secret).
    #[arg(long, env = "EDGEREC_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: String,

    /// MySQL/MariaDB to write to, e.g. mysql://user:password@127.0.0.1:3306/shop.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: String,

    /// Interactions table (`table` or `database.table`).
    #[arg(long, default_value = "interactions", value_name = "NAME")]
    pub table: String,

    /// Events per page (the Worker allows 1..=5000).
    #[arg(long, default_value_t = 5000, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=5000))]
    pub page: u16,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// What one run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct Summary {
    source: String,
    table: String,
    fetched: u64,
    inserted: u64,
    skipped: u64,
    pages: u64,
    cursor: u64,
    seconds: f64,
    /// Time spent writing to MySQL (the rest is HTTP, overlapped, and setup).
    write_seconds: f64,
    rows_per_second: f64,
    schema_changes: Vec<String>,
    /// User deletions applied, the rows they deleted, and the erasure cursor after them.
    deletions: u64,
    erased_rows: u64,
    erasure_cursor: u64,
}

/// Runs `trainer ingest`.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let admin = Admin::new(&args.from, &args.token)?;
    let target = Target::parse(&args.database_url)?;
    let summary = block_on(ingest(args, admin, &target))?;
    let mut out = std::io::stdout().lock();
    if args.output.json {
        serde_json::to_writer(&mut out, &summary)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "ingested from {} into {}: fetched {}, inserted {}, skipped {} (duplicates) in {} page(s), \
         {:.2} s ({:.2} s writing to MySQL), {:.0} rows/s; cursor {}; {} user deletion(s) applied \
         ({} rows deleted), erasure cursor {}",
        summary.source,
        summary.table,
        summary.fetched,
        summary.inserted,
        summary.skipped,
        summary.pages,
        summary.seconds,
        summary.write_seconds,
        summary.rows_per_second,
        summary.cursor,
        summary.deletions,
        summary.erased_rows,
        summary.erasure_cursor
    )?;
    Ok(())
}

async fn ingest(args: &IngestArgs, admin: Admin, target: &Target) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let source = admin.base().to_owned();
    let mut sink = Sink::open(target, &args.table, &source).await?;
    let quiet = args.output.quiet || args.output.json;
    for change in sink.changes() {
        eprintln!("schema: {change}");
    }
    let start = sink.cursor();
    if !quiet {
        eprintln!("ingesting events after {start} from {source} into {} at {}", sink.table(), target.address);
    }
    let limit = usize::from(args.page);
    // One page in flight while another is written.
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Page>>(1);
    let fetcher = std::thread::spawn(move || {
        let mut after = start;
        loop {
            let page = admin.events_page(after, limit);
            let last = page.as_ref().map_or(true, |p| p.is_last(limit));
            if let Ok(p) = &page {
                after = p.next;
            }
            if tx.send(page).is_err() || last {
                break;
            }
        }
        admin
    });
    let mut summary = Summary {
        source,
        table: sink.table().to_string(),
        schema_changes: sink.changes().to_vec(),
        cursor: start,
        ..Summary::default()
    };
    let result = write_pages(&mut sink, &rx, &mut summary, quiet).await;
    drop(rx);
    let admin = fetcher.join();
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
    let admin = admin.map_err(|_| anyhow::anyhow!("the HTTP thread panicked"))?;
    let mut eraser = Eraser::open(target, &args.table, &summary.source).await?;
    let applied = erase::apply_all(&admin, &mut eraser, limit).await;
    summary.erasure_cursor = eraser.cursor();
    eraser.close().await;
    let applied = applied.with_context(|| {
        format!(
            "erasing deleted users stopped; the cursor in `{}` stays at {}, after the last \
             committed page: run again to resume",
            crate::db::ERASURE_CURSOR_TABLE,
            summary.erasure_cursor
        )
    })?;
    summary.deletions = applied.deletions;
    summary.erased_rows = applied.rows;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn write_pages(
    sink: &mut Sink,
    rx: &mpsc::Receiver<anyhow::Result<Page>>,
    summary: &mut Summary,
    quiet: bool,
) -> anyhow::Result<()> {
    // The fetcher sends at most one page ahead and blocks; waiting here blocks nothing else.
    while let Ok(page) = rx.recv() {
        let page = page?;
        summary.fetched += page.rows.len() as u64;
        let clock = Instant::now();
        let written = sink.write_page(&page).await;
        summary.write_seconds += clock.elapsed().as_secs_f64();
        summary.cursor = sink.cursor();
        let written = written?;
        summary.inserted += written.inserted;
        summary.skipped += written.skipped;
        summary.pages += 1;
        if !quiet && summary.pages.is_multiple_of(20) {
            eprintln!("progress: {} events, cursor {}", summary.fetched, summary.cursor);
        }
    }
    Ok(())
}
