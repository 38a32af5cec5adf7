//! `trainer generate`: realistic demo behaviour data into a CSV file or MySQL.
//!
//! The generative model, and with it the best achievable RMSE, is documented in
//! [`super::model`].
//!
//! **File** (`--out`, the default destination): CSV with the header
//! `user_id,item_id,rating,behavior,timestamp,category`, timestamps in Unix seconds, written to a
//! temporary file and renamed, so an interrupted run leaves no partial file.
//!
//! **MySQL** (`--database-url` or `DATABASE_URL`): an interactions table
//! (`id` BIGINT auto-increment primary key, `user_id`/`item_id` ASCII VARCHAR(64), binary collation,
//! `rating` TINYINT UNSIGNED, `behavior` ENUM, `timestamp` DATETIME in UTC) and an items table
//! (`item_id` primary key, `category`). Rows are streamed from memory with
//! `LOAD DATA LOCAL INFILE` into staging tables without secondary indexes; the indexes
//! (`(user_id, item_id)`, `item_id`, items' `category`) are built after the load,
//! and one atomic `RENAME TABLE` swaps the new tables in. An interrupted run therefore leaves the
//! tables as they were (a leftover staging table is dropped by the next run). `--if-exists
//! append` instead loads into the existing tables inside one transaction.

use std::io::Write as _;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use anyhow::Context as _;
use bytes::Bytes;
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use super::Dataset;
use super::load::{DatasetBuilder, RawRow, Rules};
use super::model::{CATEGORIES, GenConfig, GenSummary, Generator, NOISE_SD, Record, Records};
use super::mysql::{TableName, Target, block_on, table_columns};

/// What a rerun does when the target table already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum IfExists {
    /// Refuse, leaving the table as it is (a rerun with identical settings is a no-op).
    #[default]
    Fail,
    /// Rebuild both tables and swap them in atomically.
    Replace,
    /// Add the rows in one transaction (a rerun with the same seed duplicates every row).
    Append,
}

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
        GenConfig { users: self.users, items: self.items, interactions: self.interactions, seed: self.seed }
    }
}

/// Runs `trainer generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let generator = Arc::new(Generator::new(args.config())?);
    let (summary, destination) = match (&args.out, &args.database_url) {
        (None, Some(url)) => {
            let target = Target::parse(url)?;
            let summary = block_on(load_into_mysql(&target, args, &generator))?;
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
        "generated {} interactions ({} users, {} items, seed {}) into {destination} in {:.2} s\n  \
         mean rating {:.3}; noise sd {NOISE_SD}; oracle RMSE {:.4} (the best any model can do); \
         repeated (user, item) rows {}; view/click/cart/purchase {:?}",
        summary.rows,
        args.users,
        args.items,
        args.seed,
        started.elapsed().as_secs_f64(),
        summary.mean_rating,
        summary.oracle_rmse,
        summary.repeated_pairs,
        summary.behaviors,
    );
    if let Some(path) = &args.summary_json {
        super::load::write_json_atomic(path, &summary)?;
    }
    Ok(())
}

/// Appends one CSV (`sep = b','`, with category) or LOAD DATA (`sep = b'\t'`) line.
fn push_line(buf: &mut Vec<u8>, generator: &Generator, r: &Record, sep: u8, category: bool) {
    let item = &generator.items[r.item as usize];
    buf.extend_from_slice(generator.users[r.user as usize].id.as_bytes());
    buf.push(sep);
    buf.extend_from_slice(item.id.as_bytes());
    buf.push(sep);
    buf.push(b'0' + r.rating);
    buf.push(sep);
    buf.extend_from_slice(r.behavior.as_str().as_bytes());
    buf.push(sep);
    // Writing to a Vec cannot fail.
    let _ = write!(buf, "{}", r.timestamp);
    if category {
        buf.push(sep);
        buf.extend_from_slice(CATEGORIES[item.category].as_bytes());
    }
    buf.push(b'\n');
}

fn write_csv(path: &std::path::Path, generator: &Arc<Generator>) -> anyhow::Result<Option<GenSummary>> {
    let mut records = generator.records();
    super::write_atomic(path, |w| {
        w.write_all(b"user_id,item_id,rating,behavior,timestamp,category\n")?;
        let mut buf = Vec::with_capacity(1 << 16);
        for r in records.by_ref() {
            push_line(&mut buf, generator, &r, b',', true);
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)
    })?;
    Ok(Some(records.summary()))
}

/// Generates the data set in memory and loads it through the same validation as files and
/// tables, so the result equals loading the `--out` file of the same configuration.
pub fn dataset(config: GenConfig) -> anyhow::Result<Dataset> {
    let generator = Arc::new(Generator::new(config)?);
    let source = format!(
        "generator (seed {}, {} users, {} items, {} interactions)",
        config.seed, config.users, config.items, config.interactions
    );
    let mut builder = DatasetBuilder::new(source, Rules::default(), true);
    for (n, r) in generator.records().enumerate() {
        let item = &generator.items[r.item as usize];
        builder.push(
            n as u64 + 1,
            RawRow {
                user: Some(&generator.users[r.user as usize].id),
                item: Some(&item.id),
                rating: Some(&r.rating.to_string()),
                timestamp: Some(&r.timestamp.to_string()),
                behavior: Some(r.behavior.as_str()),
                category: Some(CATEGORIES[item.category]),
            },
        )?;
    }
    Ok(builder.finish())
}

/// A `LOAD DATA LOCAL INFILE` body generated on demand, 256 KiB at a time.
struct InfileStream<F> {
    fill: F,
    done: bool,
}

impl<F: FnMut(&mut Vec<u8>) + Unpin> futures_core::Stream for InfileStream<F> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut buf = Vec::with_capacity(CHUNK + 512);
        (this.fill)(&mut buf);
        if buf.is_empty() {
            this.done = true;
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Bytes::from(buf))))
    }
}

const CHUNK: usize = 256 * 1024;

/// Streams `fill`'s output as the body of the next `LOAD DATA LOCAL INFILE` on `conn`.
fn set_infile<F>(conn: &mut Conn, fill: F)
where
    F: FnMut(&mut Vec<u8>) + Unpin + Send + Sync + 'static,
{
    let stream = InfileStream { fill, done: false };
    conn.set_infile_handler(async move { Ok(Box::pin(stream) as mysql_async::InfileData) });
}

fn signature(config: GenConfig) -> String {
    format!(
        "edgerec-generate v1 seed={} users={} items={} interactions={}",
        config.seed, config.users, config.items, config.interactions
    )
}

fn interactions_ddl(table: &TableName, comment: &str) -> String {
    format!(
        "CREATE TABLE {} (\
           `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, \
           `user_id` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
           `item_id` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
           `rating` TINYINT UNSIGNED NOT NULL, \
           `behavior` ENUM('view','click','cart','purchase') NOT NULL, \
           `timestamp` DATETIME NOT NULL, \
           PRIMARY KEY (`id`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='{comment}'",
        table.quoted()
    )
}

fn items_ddl(table: &TableName) -> String {
    format!(
        "CREATE TABLE {} (\
           `item_id` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
           `category` VARCHAR(32) NOT NULL, \
           PRIMARY KEY (`item_id`)\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        table.quoted()
    )
}

fn load_interactions_sql(table: &TableName, ignore: bool) -> String {
    format!(
        "LOAD DATA LOCAL INFILE 'edgerec-generated' {}INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' \
         (`user_id`, `item_id`, `rating`, `behavior`, @ts) SET `timestamp` = FROM_UNIXTIME(@ts)",
        if ignore { "IGNORE " } else { "" },
        table.quoted()
    )
}

fn load_items_sql(table: &TableName, ignore: bool) -> String {
    format!(
        "LOAD DATA LOCAL INFILE 'edgerec-items' {}INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (`item_id`, `category`)",
        if ignore { "IGNORE " } else { "" },
        table.quoted()
    )
}

/// Streams the interactions into `table`; checks the row count and that there were no warnings.
async fn stream_interactions(
    conn: &mut Conn,
    table: &TableName,
    generator: &Arc<Generator>,
) -> anyhow::Result<GenSummary> {
    let summary = Arc::new(Mutex::new(GenSummary::default()));
    let (mut records, out, g) = (generator.records(), Arc::clone(&summary), Arc::clone(generator));
    set_infile(conn, move |buf: &mut Vec<u8>| {
        fill(&mut records, &g, buf);
        if buf.is_empty()
            && let Ok(mut s) = out.lock()
        {
            *s = records.summary();
        }
    });
    conn.query_drop(load_interactions_sql(table, false))
        .await
        .with_context(|| format!("bulk-loading interactions into {table}"))?;
    check_load(conn, table, generator.config().interactions as u64).await?;
    let summary = summary.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(summary)
}

fn fill(records: &mut Records, generator: &Generator, buf: &mut Vec<u8>) {
    while buf.len() < CHUNK {
        match records.next() {
            Some(r) => push_line(buf, generator, &r, b'\t', false),
            None => break,
        }
    }
}

fn items_filler(generator: &Arc<Generator>) -> impl FnMut(&mut Vec<u8>) + Unpin + Send + Sync + 'static {
    let g = Arc::clone(generator);
    let mut next = 0;
    move |buf: &mut Vec<u8>| {
        while buf.len() < CHUNK && next < g.items.len() {
            let item = &g.items[next];
            buf.extend_from_slice(item.id.as_bytes());
            buf.push(b'\t');
            buf.extend_from_slice(CATEGORIES[item.category].as_bytes());
            buf.push(b'\n');
            next += 1;
        }
    }
}

async fn check_load(conn: &mut Conn, table: &TableName, expected: u64) -> anyhow::Result<()> {
    let loaded = conn.affected_rows();
    let warnings = conn.get_warnings();
    anyhow::ensure!(
        loaded == expected && warnings == 0,
        "bulk load into {table} stored {loaded} rows with {warnings} warning(s), expected \
         {expected} rows and no warnings"
    );
    Ok(())
}

async fn load_into_mysql(
    target: &Target,
    args: &GenerateArgs,
    generator: &Arc<Generator>,
) -> anyhow::Result<Option<GenSummary>> {
    let table = TableName::parse(&args.table, target)?;
    let items = TableName::parse(&args.items_table, target)?;
    let sig = signature(generator.config());
    let mut conn = target.connect().await?;
    let existing = table_columns(&mut conn, &table).await?.is_some();
    let items_existing = table_columns(&mut conn, &items).await?.is_some();

    if existing && args.if_exists == IfExists::Fail {
        let comment: Option<String> = conn
            .exec_first(
                "SELECT TABLE_COMMENT FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&table.schema, &table.table),
            )
            .await
            .with_context(|| format!("reading the comment of {table}"))?;
        if comment.as_deref() == Some(sig.as_str()) && items_existing {
            eprintln!("{table} already holds this data ({sig}); nothing to do");
            return Ok(None);
        }
        let rows: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {}", table.quoted()))
            .await
            .with_context(|| format!("counting rows of {table}"))?;
        anyhow::bail!(
            "table {table} already exists at {} with {} rows from other settings; pass \
             --if-exists replace to rebuild it or --if-exists append to add rows",
            target.address,
            rows.unwrap_or(0)
        );
    }

    if existing && args.if_exists == IfExists::Append {
        conn.query_drop("START TRANSACTION").await.context("starting a transaction")?;
        let summary = stream_interactions(&mut conn, &table, generator).await?;
        if !items_existing {
            conn.query_drop(items_ddl(&items)).await.with_context(|| format!("creating {items}"))?;
        }
        set_infile(&mut conn, items_filler(generator));
        conn.query_drop(load_items_sql(&items, true))
            .await
            .with_context(|| format!("loading items into {items}"))?;
        conn.query_drop("COMMIT").await.context("committing the appended rows")?;
        let _ = conn.disconnect().await;
        return Ok(Some(summary));
    }

    // Build staging tables, index them, then swap them in with one atomic RENAME.
    let stage = table.with_suffix("__edgerec_staging");
    let items_stage = items.with_suffix("__edgerec_staging");
    let old = table.with_suffix("__edgerec_old");
    let items_old = items.with_suffix("__edgerec_old");
    let setup = format!(
        "DROP TABLE IF EXISTS {}, {}, {}, {}",
        stage.quoted(),
        items_stage.quoted(),
        old.quoted(),
        items_old.quoted()
    );
    conn.query_drop(setup).await.context("dropping leftover staging tables")?;
    conn.query_drop(interactions_ddl(&stage, &sig)).await.with_context(|| format!("creating {stage}"))?;
    conn.query_drop(items_ddl(&items_stage)).await.with_context(|| format!("creating {items_stage}"))?;
    let mut clock = Instant::now();
    let mut steps = Vec::new();
    let mut lap = |name: &'static str| {
        steps.push(format!("{name} {:.2} s", clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let summary = stream_interactions(&mut conn, &stage, generator).await?;
    lap("generate+LOAD DATA");
    conn.query_drop(format!(
        "ALTER TABLE {} ADD INDEX `idx_user_item` (`user_id`, `item_id`), \
         ADD INDEX `idx_item` (`item_id`)",
        stage.quoted()
    ))
    .await
    .with_context(|| format!("indexing {stage}"))?;
    lap("indexes");
    set_infile(&mut conn, items_filler(generator));
    conn.query_drop(load_items_sql(&items_stage, false))
        .await
        .with_context(|| format!("loading items into {items_stage}"))?;
    check_load(&mut conn, &items_stage, generator.items.len() as u64).await?;
    conn.query_drop(format!("ALTER TABLE {} ADD INDEX `idx_category` (`category`)", items_stage.quoted()))
        .await
        .with_context(|| format!("indexing {items_stage}"))?;

    let mut renames = Vec::new();
    if existing {
        renames.push(format!("{} TO {}", table.quoted(), old.quoted()));
    }
    if items_existing {
        renames.push(format!("{} TO {}", items.quoted(), items_old.quoted()));
    }
    renames.push(format!("{} TO {}", stage.quoted(), table.quoted()));
    renames.push(format!("{} TO {}", items_stage.quoted(), items.quoted()));
    conn.query_drop(format!("RENAME TABLE {}", renames.join(", ")))
        .await
        .with_context(|| format!("swapping the new {table} and {items} in"))?;
    conn.query_drop(format!("DROP TABLE IF EXISTS {}, {}", old.quoted(), items_old.quoted()))
        .await
        .context("dropping the replaced tables")?;
    lap("items+swap");
    eprintln!("  steps: {}", steps.join(", "));
    let _ = conn.disconnect().await;
    Ok(Some(summary))
}
