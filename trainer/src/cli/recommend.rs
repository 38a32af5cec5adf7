//! `trainer recommend`: a user's list from a model artifact, through the core.

use std::io::Write;
use std::path::PathBuf;

use edgerec_core::RecommendOptions;

use super::output::{load_model, read_model};

/// `trainer recommend`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecommendCommand {
    /// The model artifact.
    #[arg(long, short)]
    model: PathBuf,
    /// The user to recommend for.
    #[arg(long, short)]
    user: String,
    /// How many items.
    #[arg(short = 'n', long = "top-n", default_value_t = 10)]
    top_n: usize,
    /// Include items the user already interacted with.
    #[arg(long)]
    include_rated: bool,
    /// Only these categories (repeatable).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl RecommendCommand {
    /// Runs `trainer recommend` through the core.
    pub fn run(&self) -> anyhow::Result<()> {
        let bytes = read_model(&self.model)?;
        let model = load_model(&self.model, &bytes)?;
        let opts = RecommendOptions {
            top_n: self.top_n,
            exclude_rated: !self.include_rated,
            categories: (!self.categories.is_empty()).then(|| self.categories.clone()),
            ..RecommendOptions::default()
        };
        let recs = model.recommend(&self.user, &opts)?;
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &recs)?;
            writeln!(out)?;
            return Ok(());
        }
        if let Some(reason) = &recs.reason {
            writeln!(out, "fallback: most popular items ({reason})")?;
        }
        writeln!(out, "{:>4}  {:<16} {:<10} {:>8}", "rank", "item", "category", "score")?;
        for (rank, s) in recs.items.iter().enumerate() {
            writeln!(
                out,
                "{:>4}  {:<16} {:<10} {:>8.4}",
                rank + 1,
                s.item_id,
                model.item_category(s.index).unwrap_or("-"),
                s.score
            )?;
        }
        Ok(())
    }
}
