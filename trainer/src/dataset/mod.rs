//! The dataset: one `Dataset` type with string IDs mapped to dense indices, the builder every
//! source feeds, the validation rules and the report of what loading saw.

pub mod builder;
pub mod report;
pub mod rules;

use serde::Serialize;

/// A kind of behaviour event in a shop's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Looked at the item page.
    View,
    /// Clicked the item in a list.
    Click,
    /// Put it in the cart.
    Cart,
    /// Bought it.
    Purchase,
}

impl Behavior {
    /// The name stored in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Click => "click",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
        }
    }

    /// Parses a stored name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "view" => Some(Self::View),
            "click" => Some(Self::Click),
            "cart" => Some(Self::Cart),
            "purchase" | "buy" => Some(Self::Purchase),
            _ => None,
        }
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
