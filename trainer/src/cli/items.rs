//! `trainer items`: item availability from the shop's items table (a flag or stock column) or
//! a CSV, pushed to the Worker (`PUT /admin/items`) in batches. Idempotent: see
//! [`crate::live::items`].

use std::io::Write as _;
use std::path::PathBuf;

use clap::ArgGroup;

use crate::live::client::Admin;
use crate::live::items::{self, MAX_BATCH};

/// Arguments of `trainer items`: one source.
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("source").required(true).args(["database_url", "csv"])))]
pub struct ItemsArgs {
    /// The Worker's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long, value_name = "URL")]
    pub to: String,

    /// The Worker's admin token (its ADMIN_TOKEN secret).
    #[arg(long, env = "EDGEREC_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: String,

    /// Read availability from this MySQL database's items table.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The items table.
    #[arg(long, default_value = "items", value_name = "TABLE", requires = "database_url")]
    pub table: String,

    /// Its item ID column.
    #[arg(long, default_value = "item_id", value_name = "COLUMN", requires = "database_url")]
    pub id_column: String,

    /// Its availability column: a flag (1/0, true/false, yes/no) or a stock count (above 0 is
    /// available).
    #[arg(long, default_value = "in_stock", value_name = "COLUMN", requires = "database_url")]
    pub column: String,

    /// Read availability from a CSV with the header `item_id,available[,until]` instead
    /// (`until`: RFC 3339, the item is unavailable from then on).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,

    /// Items per request (the Worker takes at most 10,000).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH as u64))]
    pub batch: u64,

    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `trainer items`.
pub fn run(args: &ItemsArgs) -> anyhow::Result<()> {
    let admin = Admin::new(&args.to, &args.token)?;
    let (states, from) = match (&args.database_url, &args.csv) {
        (_, Some(path)) => (items::read_csv(path)?, path.display().to_string()),
        (Some(url), None) => (
            items::read_mysql(url, &args.table, &args.id_column, &args.column)?,
            format!("{}.{}", args.table, args.column),
        ),
        (None, None) => anyhow::bail!("give --database-url or --csv"),
    };
    anyhow::ensure!(!states.is_empty(), "{from} lists no items");
    let pushed = items::push(&admin, &states, args.batch as usize)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &pushed)?;
        writeln!(out)?;
        return Ok(());
    }
    let off = states.iter().filter(|s| !s.available).count();
    writeln!(
        out,
        "pushed {} items from {from} ({off} unavailable) to {} in {} requests: {} changed, {} unknown to the current model, state version {}",
        pushed.items,
        admin.base(),
        pushed.requests,
        pushed.changed,
        pushed.unknown_items,
        pushed.version.map_or_else(|| "unknown".to_owned(), |v| v.to_string()),
    )?;
    Ok(())
}
