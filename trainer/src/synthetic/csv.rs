//! The synthetic data as CSV (header `user_id,item_id,rating,behavior,timestamp,category`,
//! timestamps in Unix seconds, written to a temporary file and renamed, so an interrupted run
//! leaves no partial file), and as an in-memory [`Dataset`] through the same validation.

use std::io::Write as _;
use std::sync::Arc;

use super::generator::{CATEGORIES, GenConfig, GenSummary, Generator, Record};
use crate::dataset::Dataset;
use crate::dataset::builder::{DatasetBuilder, RawRow};
use crate::dataset::rules::Rules;

/// Appends one CSV (`sep = b','`, with category) or LOAD DATA (`sep = b'\t'`) line.
pub(crate) fn push_line(buf: &mut Vec<u8>, generator: &Generator, r: &Record, sep: u8, category: bool) {
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

pub fn write_csv(path: &std::path::Path, generator: &Arc<Generator>) -> anyhow::Result<Option<GenSummary>> {
    let mut records = generator.records();
    crate::atomic::write_atomic(path, |w| {
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
        "generator (seed {}, {} users, {} items, {} interactions, {} order)",
        config.seed,
        config.users,
        config.items,
        config.interactions,
        config.order.as_str()
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
