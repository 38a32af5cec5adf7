//! Output switches and the pieces of terminal output the subcommands share.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use edgerec_core::Model;

use crate::train::eval::Metrics;
use crate::train::fit::Verbosity;

/// Output switches shared by the training commands.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Print nothing but errors and the final result.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print machine-readable JSON to stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn verbosity(o: &OutputArgs) -> Verbosity {
    if o.quiet || o.json { Verbosity::Quiet } else { Verbosity::Normal }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

pub fn metrics_row(out: &mut impl Write, name: &str, m: &Metrics) -> std::io::Result<()> {
    writeln!(
        out,
        "  {name:<14} {:>8} {:>8} {:>8} {:>10} {:>8} {:>9}",
        fmt(m.rmse),
        fmt(m.mae),
        format!("{:.4}", m.hr),
        format!("{:.4}", m.recall),
        format!("{:.4}", m.ndcg),
        format!("{:.3}", m.coverage)
    )
}

pub trait PossibleValueName {
    /// The name clap shows for this value.
    fn to_possible_value_name(&self) -> String;
}

impl<T: clap::ValueEnum> PossibleValueName for T {
    fn to_possible_value_name(&self) -> String {
        self.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
    }
}

pub fn read_model(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

pub fn load_model<'a>(path: &Path, bytes: &'a [u8]) -> anyhow::Result<Model<'a>> {
    Model::from_bytes(bytes).with_context(|| format!("loading model {}", path.display()))
}
