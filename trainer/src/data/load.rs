//! Loading a [`Dataset`] from a file or from MySQL. (Skeleton: the Data issue fills it in.)

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::Dataset;

/// What loading saw. Printed after every load and available as JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows skipped, by reason.
    pub rows_skipped: BTreeMap<String, u64>,
    /// Duplicate (user, item) rows that were merged.
    pub duplicates_resolved: u64,
    /// How duplicates are resolved.
    pub duplicate_policy: String,
    /// Distinct users kept.
    pub users: usize,
    /// Distinct items kept.
    pub items: usize,
}

/// Where training data comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// A CSV/TSV file of interactions (the default source; needs no server).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// Loads the dataset from the chosen source.
    pub fn load(&self) -> anyhow::Result<Dataset> {
        anyhow::bail!("loading is not implemented yet")
    }
}
