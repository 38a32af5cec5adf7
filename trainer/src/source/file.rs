//! The embedded source: interactions from a CSV or TSV file.
//!
//! Layouts:
//! - with a header line: columns found by name (`--user-col`, `--item-col`, `--rating-col`,
//!   optional `--time-col`, `--behavior-col` and the category column), in any order; this is what
//!   `trainer generate --out` writes (`user_id,item_id,rating,behavior,timestamp,category`);
//! - without a header: positional `user, item, rating[, timestamp[, behavior[, category]]]`,
//!   which covers MovieLens `u.data` (tab-separated `user item rating timestamp`).
//!
//! `--data-format auto` takes a tab as the delimiter when the first line has one (else a
//! comma), and treats the first line as a header when one of its fields is a configured column
//! name.

use std::io::BufRead as _;
use std::path::Path;

use anyhow::Context as _;

use super::Columns;
use crate::dataset::Dataset;
use crate::dataset::builder::{DatasetBuilder, RawRow};
use crate::dataset::rules::Rules;

/// File layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum FileFormat {
    /// Detect the delimiter (tab or comma) and whether the first line is a header.
    #[default]
    Auto,
    /// Comma-separated.
    Csv,
    /// Tab-separated.
    Tsv,
    /// MovieLens `u.data`: tab-separated `user item rating timestamp`, no header.
    Movielens,
}

/// Column positions in a file.
#[derive(Debug, Clone, Copy)]
struct Layout {
    user: usize,
    item: usize,
    rating: usize,
    time: Option<usize>,
    behavior: Option<usize>,
    category: Option<usize>,
}

/// Loads a [`Dataset`] from a CSV/TSV file.
pub fn load_file(
    path: &Path,
    format: FileFormat,
    cols: &Columns,
    rules: Rules,
    progress_every: Option<u64>,
) -> anyhow::Result<Dataset> {
    let first_line = {
        let file = std::fs::File::open(path).context("opening the file")?;
        let mut line = Vec::new();
        std::io::BufReader::new(file).read_until(b'\n', &mut line).context("reading the file")?;
        String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned()
    };
    let delimiter = match format {
        FileFormat::Csv => b',',
        FileFormat::Tsv | FileFormat::Movielens => b'\t',
        FileFormat::Auto if first_line.contains('\t') => b'\t',
        FileFormat::Auto => b',',
    };
    let first_fields: Vec<&str> = first_line.split(char::from(delimiter)).map(str::trim).collect();
    let names = [&cols.user, &cols.item, &cols.rating];
    let has_header = format != FileFormat::Movielens
        && first_fields.iter().any(|f| names.iter().any(|n| f.eq_ignore_ascii_case(n)));

    let layout = if has_header {
        let find = |name: &str| first_fields.iter().position(|f| f.eq_ignore_ascii_case(name));
        let required = |name: &str| {
            find(name).with_context(|| {
                format!("no column `{name}` in the header (columns: {})", first_fields.join(", "))
            })
        };
        let optional = |(name, explicit): &(String, bool)| match find(name) {
            Some(at) => Ok(Some(at)),
            None if *explicit => required(name).map(Some),
            None => Ok(None),
        };
        Layout {
            user: required(&cols.user)?,
            item: required(&cols.item)?,
            rating: required(&cols.rating)?,
            time: optional(&cols.time)?,
            behavior: optional(&cols.behavior)?,
            category: find(&cols.category),
        }
    } else {
        let n = first_fields.len();
        anyhow::ensure!(
            first_line.is_empty() || n >= 3,
            "the first line has {n} field(s); a file without a header needs \
             `user, item, rating[, timestamp[, behavior[, category]]]`"
        );
        Layout {
            user: 0,
            item: 1,
            rating: 2,
            time: (n >= 4).then_some(3),
            behavior: (n >= 5 && format != FileFormat::Movielens).then_some(4),
            category: (n >= 6 && format != FileFormat::Movielens).then_some(5),
        }
    };

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_header)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_path(path)
        .context("opening the file")?;
    let mut builder = DatasetBuilder::new(path.display().to_string(), rules, layout.time.is_some());
    let needed = [Some(layout.user), Some(layout.item), Some(layout.rating), layout.time]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record);
        let line = reader.position().line();
        match more {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) if matches!(err.kind(), csv::ErrorKind::Io(_)) => {
                return Err(err).context("reading the file");
            }
            Err(err) => {
                builder.malformed(line, err.to_string())?;
                continue;
            }
        }
        let line = record.position().map_or(line, csv::Position::line);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue; // a blank line
        }
        if record.len() <= needed {
            builder.malformed(line, format!("{} field(s), need {}", record.len(), needed + 1))?;
            continue;
        }
        let text = |at: Option<usize>| at.and_then(|i| record.get(i)).map(std::str::from_utf8);
        let fields = [
            text(Some(layout.user)),
            text(Some(layout.item)),
            text(Some(layout.rating)),
            text(layout.time),
            text(layout.behavior),
            text(layout.category),
        ];
        if fields.iter().any(|f| matches!(f, Some(Err(_)))) {
            builder.malformed(line, "not UTF-8")?;
            continue;
        }
        let [user, item, rating, timestamp, behavior, category] = fields.map(|f| f.and_then(Result::ok));
        builder.push(line, RawRow { user, item, rating, timestamp, behavior, category })?;
        if let Some(every) = progress_every.filter(|&n| n > 0)
            && builder.rows_read().is_multiple_of(every)
        {
            eprintln!("progress: {} rows", builder.rows_read());
        }
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::dataset::rules::DuplicatePolicy;

    fn columns() -> Columns {
        Columns {
            user: "user_id".into(),
            item: "item_id".into(),
            rating: "rating".into(),
            time: ("timestamp".into(), false),
            behavior: ("behavior".into(), false),
            category: "category".into(),
        }
    }

    fn load(text: &str, format: FileFormat) -> anyhow::Result<Dataset> {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        load_file(file.path(), format, &columns(), Rules::default(), None)
    }

    #[test]
    fn movielens_u_data_layout() {
        let d = load("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t1\n", FileFormat::Auto)
            .expect("loads");
        assert_eq!(d.report.rows_read, 3);
        assert_eq!(d.user_ids, ["186", "196"]);
        assert_eq!(d.item_ids, ["242", "302"]);
        assert_eq!(d.interactions[0].timestamp, 891_717_742);
        let explicit = load("196\t242\t3\t881250949\n", FileFormat::Movielens).expect("loads");
        assert_eq!(explicit.interactions.len(), 1);
    }

    #[test]
    fn csv_with_header_in_any_order_and_categories() {
        let d = load(
            "timestamp,rating,item_id,user_id,category,behavior\n\
             10,4,TECH1001,U1,tech,view\n20,5,FASH1002,U1,fashion,purchase\n",
            FileFormat::Auto,
        )
        .expect("loads");
        assert_eq!(d.interactions.len(), 2);
        assert_eq!(d.item_categories.as_deref(), Some(&["fashion".to_owned(), "tech".to_owned()][..]));
        assert_eq!(d.interactions[0].behavior, Some(crate::dataset::Behavior::Purchase));
    }

    #[test]
    fn bad_rows_are_reported_with_line_numbers() {
        let d = load(
            "user_id,item_id,rating,timestamp\nU1,I1,4,10\n,I1,4,10\nU1,I2,abc,10\nU1,I3\n\
             U2,I1,0,10\nU2,I2,3,never\nU2,I3,3,11\nU2,I3,2,12\n",
            FileFormat::Csv,
        )
        .expect("loads");
        let r = &d.report;
        assert_eq!(r.rows_read, 8);
        let skipped: Vec<(&str, u64)> = r.rows_skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            skipped,
            [
                ("bad_timestamp", 1),
                ("empty_user_id", 1),
                ("malformed_row", 1),
                ("rating_out_of_range", 1),
                ("unparsable_rating", 1)
            ]
        );
        assert_eq!(r.examples[0].row, 3);
        assert_eq!(r.duplicates_resolved, 1);
        assert_eq!(d.interactions.len(), 2);
        assert_eq!(d.interactions[1].rating, 2.0);
        assert_eq!(r.duplicate_policy, "latest by timestamp (ties: last row read)");
        let _ = DuplicatePolicy::Latest;
    }

    #[test]
    fn missing_column_is_named() {
        let err = load("user_id,item_id,score\nU1,I1,4\n", FileFormat::Csv).expect_err("fails");
        assert!(format!("{err:#}").contains("no column `rating`"), "{err:#}");
    }
}
