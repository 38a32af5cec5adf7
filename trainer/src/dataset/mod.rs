//! The dataset: one `Dataset` type with string IDs mapped to dense indices, the builder every
//! source feeds, the validation rules and the report of what loading saw.

pub mod builder;
pub mod report;
pub mod rules;

/// A kind of behaviour event in a shop's log: the Worker's, defined once in the core.
pub use edgerec_core::wire::Behavior;

/// Reads a behaviour as a shop's own files and tables may spell it: the wire name in any case,
/// padded or not, or `buy` for a purchase.
pub fn parse_behavior_name(s: &str) -> Option<Behavior> {
    match s.trim().to_ascii_lowercase().as_str() {
        "buy" => Some(Behavior::Purchase),
        name => Behavior::from_name(name),
    }
}

/// One (user, item) interaction after validation and de-duplication.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Dense user index into [`Dataset::user_ids`].
    pub user: u32,
    /// Dense item index into [`Dataset::item_ids`].
    pub item: u32,
    /// Explicit rating (1–5 for the demo data; MovieLens uses 1–5 too).
    pub rating: f32,
    /// Unix seconds.
    pub timestamp: i64,
    /// Behaviour type, when the source has one.
    pub behavior: Option<Behavior>,
}

/// Training data with string IDs mapped to dense indices.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Dense user index → original ID.
    pub user_ids: Vec<String>,
    /// Dense item index → original ID.
    pub item_ids: Vec<String>,
    /// Validated, de-duplicated interactions.
    pub interactions: Vec<Interaction>,
    /// Category per item (by dense index), when the source has categories.
    pub item_categories: Option<Vec<String>>,
    /// What loading saw: rows read, skipped by reason, duplicates resolved.
    pub report: report::ValidationReport,
    /// The `seq` of the last Worker user deletion applied to the source before it was read
    /// (MySQL after `trainer ingest`; `None` for files), recorded in the model.
    pub erased_through: Option<u64>,
}

impl Dataset {
    /// Number of users.
    pub fn num_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of items.
    pub fn num_items(&self) -> usize {
        self.item_ids.len()
    }
}
