//! The `trainer` command line: one file per subcommand. This layer owns every clap struct and
//! the choice of data source; the layers below take plain values.

use clap::{Parser, Subcommand};

mod analyze;
mod data;
mod evaluate;
mod evaluate_index;
mod export_users;
mod generate;
mod ingest;
mod inspect;
mod items;
mod metrics;
mod output;
mod publish;
mod recommend;
mod scale;
mod train;
mod train_args;

use analyze::AnalyzeCommand;
pub use data::DataArgs;
use evaluate::EvaluateCommand;
use inspect::InspectCommand;
pub use output::OutputArgs;
use recommend::RecommendCommand;
use train::TrainCommand;
pub use train_args::TrainArgs;

/// EdgeRec trainer: generate demo data, train matrix factorisation, evaluate and export; ingest
/// events from and publish models to the Worker.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate realistic demo behaviour data into a file or MySQL.
    Generate(generate::GenerateArgs),
    /// Train a matrix-factorisation model, evaluate it against baselines, and export it.
    Train(Box<TrainCommand>),
    /// Evaluate an exported model on a dataset, scoring through the serving core.
    Evaluate(Box<EvaluateCommand>),
    /// Recall@10 and latency of a model's index search against exact search, through the core.
    EvaluateIndex(evaluate_index::EvaluateIndexCommand),
    /// Move a model's users out of its artifact: the artifact without users, and a
    /// `wrangler kv bulk put` file with one record per user.
    ExportUsers(export_users::ExportUsersCommand),
    /// Print a user's recommendations from a model artifact.
    Recommend(RecommendCommand),
    /// Summarise a model artifact.
    Inspect(InspectCommand),
    /// User groups, k-means clusters with purity, and a 2-D item map from a model.
    Analyze(AnalyzeCommand),
    /// Load the data (file or MySQL) and print the validation report; writes nothing else.
    DataReport(data::DataReportArgs),
    /// Pull the Worker's stored events into the MySQL interactions table (idempotent, resumable).
    Ingest(ingest::IngestArgs),
    /// Upload a model to the Worker, or move its model pointer (activate, rollback, promote).
    Publish(publish::PublishArgs),
    /// Push item availability (a flag or stock column of the items table, or a CSV) to the
    /// Worker; idempotent.
    Items(items::ItemsArgs),
    /// Online metrics per model version and variant from the Worker (impressions, attributed
    /// clicks and purchases, CTR and conversion with 95 % intervals, the canary's difference);
    /// optionally an SVG of CTR over time.
    Metrics(metrics::MetricsArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Generate(args) => generate::run(&args),
            Command::Train(cmd) => cmd.run(),
            Command::Evaluate(cmd) => cmd.run(),
            Command::EvaluateIndex(cmd) => cmd.run(),
            Command::ExportUsers(cmd) => cmd.run(),
            Command::Recommend(cmd) => cmd.run(),
            Command::Inspect(cmd) => cmd.run(),
            Command::Analyze(cmd) => cmd.run(),
            Command::DataReport(args) => data::run(&args),
            Command::Ingest(args) => ingest::run(&args),
            Command::Publish(args) => publish::run(&args),
            Command::Items(args) => items::run(&args),
            Command::Metrics(args) => metrics::run(&args),
        }
    }
}
