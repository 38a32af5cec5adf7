//! The data-source flags every subcommand that reads data flattens, the choice between a file
//! and MySQL, and `trainer data-report`.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::atomic::write_json_atomic;
use crate::dataset::Dataset;
use crate::dataset::rules::{DuplicatePolicy, Rules};
use crate::source::file::{self, FileFormat};
use crate::source::{Columns, mysql};

/// Where training data comes from, and how it is checked. Flattened into every subcommand that
/// reads data.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Data source")]
pub struct DataArgs {
    /// A CSV/TSV file of interactions (needs no server). Takes precedence over a database URL.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,

    /// Layout of --data.
    #[arg(long, value_enum, default_value_t = FileFormat::Auto, value_name = "FORMAT")]
    pub data_format: FileFormat,

    /// Read from MySQL/MariaDB, e.g. mysql://user:password@127.0.0.1:3306/shop.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Interactions table (`table` or `database.table`).
    #[arg(long, default_value = "interactions", value_name = "NAME")]
    pub table: String,

    /// User ID column (also the header name in files).
    #[arg(long, default_value = "user_id", value_name = "NAME")]
    pub user_col: String,

    /// Item ID column (also the key of the items table).
    #[arg(long, default_value = "item_id", value_name = "NAME")]
    pub item_col: String,

    /// Rating column.
    #[arg(long, default_value = "rating", value_name = "NAME")]
    pub rating_col: String,

    /// Timestamp column (DATETIME, TIMESTAMP or Unix seconds) [default: `timestamp`, used when
    /// present; a named column must exist].
    #[arg(long, value_name = "NAME")]
    pub time_col: Option<String>,

    /// Behaviour column (view/click/cart/purchase) [default: `behavior`, used when present].
    #[arg(long, value_name = "NAME")]
    pub behavior_col: Option<String>,

    /// Items table with categories [default: `items`, used when present in the database].
    #[arg(long, value_name = "NAME")]
    pub items_table: Option<String>,

    /// Category column of the items table or the file.
    #[arg(long, default_value = "category", value_name = "NAME")]
    pub category_col: String,

    /// Smallest valid rating.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub min_rating: f32,

    /// Largest valid rating.
    #[arg(long, default_value_t = 5.0, value_name = "X")]
    pub max_rating: f32,

    /// How duplicate (user, item) rows are resolved.
    #[arg(long, value_enum, default_value_t = DuplicatePolicy::Latest, value_name = "POLICY")]
    pub duplicates: DuplicatePolicy,

    /// Fail on the first bad row instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Also write the validation report as JSON to this path.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,

    /// Print a progress line to stderr every N rows (for tests and long reads).
    #[arg(long, hide = true, value_name = "N")]
    pub progress_every: Option<u64>,
}

impl DataArgs {
    /// The shared validation rules.
    pub fn rules(&self) -> anyhow::Result<Rules> {
        anyhow::ensure!(
            self.min_rating <= self.max_rating,
            "--min-rating {} is above --max-rating {}",
            self.min_rating,
            self.max_rating
        );
        Ok(Rules {
            min_rating: self.min_rating,
            max_rating: self.max_rating,
            duplicates: self.duplicates,
            strict: self.strict,
        })
    }

    /// The configured column names.
    pub fn columns(&self) -> Columns {
        let opt = |v: &Option<String>, default: &str| match v {
            Some(name) => (name.clone(), true),
            None => (default.to_owned(), false),
        };
        Columns {
            user: self.user_col.clone(),
            item: self.item_col.clone(),
            rating: self.rating_col.clone(),
            time: opt(&self.time_col, "timestamp"),
            behavior: opt(&self.behavior_col, "behavior"),
            category: self.category_col.clone(),
        }
    }

    /// Loads the dataset from the chosen source without printing anything.
    pub fn load_quiet(&self) -> anyhow::Result<Dataset> {
        let rules = self.rules()?;
        if let Some(path) = &self.data {
            file::load_file(path, self.data_format, &self.columns(), rules, self.progress_every)
                .with_context(|| format!("loading interactions from {}", path.display()))
        } else if let Some(url) = &self.database_url {
            let tables = mysql::Tables { interactions: &self.table, items: self.items_table.as_deref() };
            mysql::load_table(url, &tables, &self.columns(), rules, self.progress_every)
        } else {
            anyhow::bail!("no data source: pass --data FILE, or --database-url URL (or set DATABASE_URL)")
        }
    }

    /// Loads the dataset from the chosen source, prints the validation report to stderr and
    /// writes it as JSON when `--report-json` asks.
    pub fn load(&self) -> anyhow::Result<Dataset> {
        let dataset = self.load_quiet()?;
        eprint!("{}", dataset.report.to_text());
        if let Some(path) = &self.report_json {
            write_json_atomic(path, &dataset.report)?;
        }
        Ok(dataset)
    }
}

/// Arguments of `trainer data-report`.
#[derive(Debug, Clone, clap::Args)]
pub struct DataReportArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Print the report as JSON on stdout instead of text on stderr.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

/// Runs `trainer data-report`.
pub fn run(args: &DataReportArgs) -> anyhow::Result<()> {
    if args.json {
        let dataset = args.data.load_quiet()?;
        if let Some(path) = &args.data.report_json {
            write_json_atomic(path, &dataset.report)?;
        }
        let json = serde_json::to_string_pretty(&dataset.report)?;
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), "{json}")?;
    } else {
        args.data.load()?;
    }
    Ok(())
}
