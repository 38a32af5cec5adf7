//! `trainer generate`: realistic demo behaviour data into a CSV file or MySQL.
//!
//! The generative model, and with it the best achievable RMSE, is documented in
//! [`crate::synthetic::generator`]; the writers are [`crate::synthetic::csv`] and
//! [`crate::synthetic::mysql`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use crate::atomic::write_json_atomic;
use crate::db::{Target, block_on};
use crate::synthetic::csv::write_csv;
use crate::synthetic::generator::{GenConfig, Generator, NOISE_SD};
use crate::synthetic::mysql::{IfExists, load_into_mysql};
use crate::synthetic::order::Order;

/// Arguments of `trainer generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Number of users.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,

    /// Number of items (split evenly over tech, fashion and sports).
    #[arg(long, default_value_t = 600)]
    pub items: usize,

    /// Number of interactions (rows).
    #[arg(long, default_value_t = 50_000)]
    pub interactions: usize,

    /// Seed of every random draw; the same seed and sizes give the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// How each user's interactions are ordered: `independent` draws each one on its own (the
    /// same rows for the same seed as always); `sequential` makes sessions that follow
    /// item-to-item transitions, with strictly increasing timestamps per user.
    #[arg(long, value_enum, default_value_t = Order::Independent)]
    pub order: Order,

    /// Write CSV to this file [default: interactions.csv when no database URL is given].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Load into MySQL/MariaDB instead, e.g. mysql://user:password@127.0.0.1:3306/shop.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Interactions table (`table` or `database.table`).
    #[arg(long, default_value = "interactions", value_name = "NAME")]
    pub table: String,

    /// Items table with categories.
    #[arg(long, default_value = "items", value_name = "NAME")]
    pub items_table: String,

    /// What to do when the tables already exist.
    #[arg(long, value_enum, default_value_t = IfExists::Fail)]
    pub if_exists: IfExists,

    /// Also write the generation summary (rows, oracle RMSE, …) as JSON to this path.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,
}

impl GenerateArgs {
    /// The generator configuration.
    pub fn config(&self) -> GenConfig {
        GenConfig {
            users: self.users,
            items: self.items,
            interactions: self.interactions,
            seed: self.seed,
            order: self.order,
        }
    }
}

/// Runs `trainer generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let generator = Arc::new(Generator::new(args.config())?);
    let (summary, destination) = match (&args.out, &args.database_url) {
        (None, Some(url)) => {
            let target = Target::parse(url)?;
            let tables = (args.table.as_str(), args.items_table.as_str());
            let summary = block_on(load_into_mysql(&target, tables, args.if_exists, &generator))?;
            (summary, format!("MySQL at {} table {}", target.address, args.table))
        }
        (out, _) => {
            let path = out.clone().unwrap_or_else(|| PathBuf::from("interactions.csv"));
            let summary =
                write_csv(&path, &generator).with_context(|| format!("writing {}", path.display()))?;
            (summary, path.display().to_string())
        }
    };
    let Some(summary) = summary else { return Ok(()) };
    eprintln!(
        "generated {} interactions ({} users, {} items, seed {}, {} order) into {destination} in {:.2} s\n  \
         mean rating {:.3}; noise sd {NOISE_SD}; oracle RMSE {:.4} (the best any model can do); \
         repeated (user, item) rows {}; view/click/cart/purchase {:?}",
        summary.rows,
        args.users,
        args.items,
        args.seed,
        args.order.as_str(),
        started.elapsed().as_secs_f64(),
        summary.mean_rating,
        summary.oracle_rmse,
        summary.repeated_pairs,
        summary.behaviors,
    );
    if let Some(path) = &args.summary_json {
        write_json_atomic(path, &summary)?;
    }
    Ok(())
}
