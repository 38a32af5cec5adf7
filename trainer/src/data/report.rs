//! `trainer data-report`: load the data, print the validation report, write nothing else.

use super::load::DataArgs;

/// Arguments of `trainer data-report`.
#[derive(Debug, Clone, clap::Args)]
pub struct DataReportArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// Print the report as JSON on stdout instead of text on stderr.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

/// Runs `trainer data-report`.
pub fn run(args: &DataReportArgs) -> anyhow::Result<()> {
    if args.json {
        let dataset = args.data.load_quiet()?;
        if let Some(path) = &args.data.report_json {
            super::load::write_json_atomic(path, &dataset.report)?;
        }
        let json = serde_json::to_string_pretty(&dataset.report)?;
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), "{json}")?;
    } else {
        args.data.load()?;
    }
    Ok(())
}
