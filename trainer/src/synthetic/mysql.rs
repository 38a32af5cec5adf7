//! The synthetic data into MySQL, in the tables of [`crate::db::schema`]. Rows are streamed from memory with
//! `LOAD DATA LOCAL INFILE` into staging tables without secondary indexes; the indexes
//! (`(user_id, item_id)`, `item_id`, unique `event_id`, items' `category`) are built after the load,
//! and one atomic `RENAME TABLE` swaps the new tables in. An interrupted run therefore leaves the
//! tables as they were (a leftover staging table is dropped by the next run). `IfExists::Append`
//! instead loads into the existing tables inside one transaction.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use super::csv::push_line;
use super::generator::{CATEGORIES, GenConfig, GenSummary, Generator};
use super::order::Order;
use super::records::Records;
use crate::db::infile::{CHUNK, set_infile};
use crate::db::schema::{EVENT_ID_KEY, INTERACTIONS_INDEXES, interactions_ddl, items_ddl};
use crate::db::{TableName, Target, table_columns};

/// What a rerun does when the target table already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum IfExists {
    /// Refuse, leaving the table as it is (a rerun with identical settings is a no-op).
    #[default]
    Fail,
    /// Rebuild both tables and swap them in atomically.
    Replace,
    /// Add the rows in one transaction (a rerun with the same seed duplicates every row).
    Append,
}

fn signature(config: GenConfig) -> String {
    // Independent order keeps the signature it had before orders existed, so tables generated
    // then are still recognised.
    let order = match config.order {
        Order::Independent => String::new(),
        other => format!(" order={}", other.as_str()),
    };
    format!(
        "edgerec-generate v1 seed={} users={} items={} interactions={}{order}",
        config.seed, config.users, config.items, config.interactions
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

pub async fn load_into_mysql(
    target: &Target,
    tables: (&str, &str),
    if_exists: IfExists,
    generator: &Arc<Generator>,
) -> anyhow::Result<Option<GenSummary>> {
    let table = TableName::parse(tables.0, target)?;
    let items = TableName::parse(tables.1, target)?;
    let sig = signature(generator.config());
    let mut conn = target.connect().await?;
    let existing = table_columns(&mut conn, &table).await?.is_some();
    let items_existing = table_columns(&mut conn, &items).await?.is_some();

    if existing && if_exists == IfExists::Fail {
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

    if existing && if_exists == IfExists::Append {
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
    conn.query_drop(format!("ALTER TABLE {} {INTERACTIONS_INDEXES}, ADD {EVENT_ID_KEY}", stage.quoted()))
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
