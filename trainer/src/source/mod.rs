//! Where interactions come from: CSV/TSV files and MySQL tables. Each source takes plain
//! values (paths, URLs, column names, [`Rules`](crate::dataset::rules::Rules)) and feeds rows
//! into a [`DatasetBuilder`](crate::dataset::builder::DatasetBuilder).

pub mod file;
pub mod mysql;

/// Column names for a source, with the optional ones marked.
#[derive(Debug, Clone)]
pub struct Columns {
    /// User ID column.
    pub user: String,
    /// Item ID column.
    pub item: String,
    /// Rating column.
    pub rating: String,
    /// Time column and whether it was named explicitly.
    pub time: (String, bool),
    /// Behaviour column and whether it was named explicitly.
    pub behavior: (String, bool),
    /// Category column.
    pub category: String,
}
