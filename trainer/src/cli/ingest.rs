//! `trainer ingest`: the flags, the progress lines and the summary of
//! [`crate::live::ingest`], which moves the Worker's stored events into the MySQL interactions
//! table.

use std::io::Write as _;

use super::output::OutputArgs;
use crate::db::{Target, block_on};
use crate::live::client::Admin;
use crate::live::ingest::{self, Progress};

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

/// Runs `trainer ingest`.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let admin = Admin::new(&args.from, &args.token)?;
    let target = Target::parse(&args.database_url)?;
    let quiet = args.output.quiet || args.output.json;
    let mut report = |p: Progress<'_>| match p {
        Progress::Schema(change) => eprintln!("schema: {change}"),
        Progress::Start { after, source, table, address } if !quiet => {
            eprintln!("ingesting events after {after} from {source} into {table} at {address}");
        }
        Progress::Page { pages, fetched, cursor } if !quiet && pages.is_multiple_of(20) => {
            eprintln!("progress: {fetched} events, cursor {cursor}");
        }
        _ => {}
    };
    let summary = block_on(ingest::run(admin, &target, &args.table, usize::from(args.page), &mut report))?;
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
