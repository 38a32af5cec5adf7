//! The `trainer` command line.

use clap::{Parser, Subcommand};

use crate::data;

/// EdgeRec trainer: generate demo data, train matrix factorisation, evaluate and export.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate realistic demo behaviour data into a file or MySQL.
    Generate(data::generate::GenerateArgs),
    /// Load the data (file or MySQL) and print the validation report; writes nothing else.
    DataReport(data::report::DataReportArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Generate(args) => data::generate::run(&args),
            Command::DataReport(args) => data::report::run(&args),
        }
    }
}
