//! `trainer evaluate`: scores a model artifact through the core on a data source, or on the
//! held-out part of a time-ordered split of it, beside the popularity baselines.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use edgerec_core::{ModelKind, RecencyInfo};
use serde::Serialize;

use super::data::DataArgs;
use super::output::{OutputArgs, load_model, metrics_row, read_model};
use crate::train::eval::{self, Evaluator, Metrics, Sample, TestSet};
use crate::train::split;

/// Which rows of the data are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalSplit {
    /// Every row (the data is a held-out file).
    All,
    /// Each user's latest `--holdout` rows; the earlier rows are the baselines' training data.
    Last,
    /// The latest `--val-fraction` of all rows.
    Global,
}

/// `trainer evaluate`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateCommand {
    /// The model artifact to evaluate.
    #[arg(long, short)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Which rows to score: all of them, or the held-out part of a time-ordered split.
    #[arg(long, value_enum, default_value_t = EvalSplit::All)]
    split: EvalSplit,
    /// Rows held out per user by `--split last`.
    #[arg(long, default_value_t = 1)]
    holdout: usize,
    /// Share of rows held out by `--split global`.
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Users sampled for the top-N metrics (0: all).
    #[arg(long, default_value_t = 0)]
    eval_users: usize,
    /// Seed for sampling users.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    #[serde(flatten)]
    model: Metrics,
    baselines: BTreeMap<&'static str, Metrics>,
}

impl EvaluateCommand {
    /// Runs `trainer evaluate`: scores the dataset through the core, as served.
    pub fn run(&self) -> anyhow::Result<()> {
        if self.holdout == 0 {
            anyhow::bail!("--holdout must be at least 1");
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            anyhow::bail!("--val-fraction must be in (0, 1), got {}", self.val_fraction);
        }
        let bytes = read_model(&self.model)?;
        let mut model = load_model(&self.model, &bytes)?;
        let data =
            if self.output.quiet || self.output.json { self.data.load_quiet()? } else { self.data.load()? };
        let rank = split::item_id_rank(&data);
        let parts = match self.split {
            EvalSplit::All => split::Split { train: Vec::new(), val: data.interactions.clone() },
            EvalSplit::Last => split::last_n(&data.interactions, self.holdout, &rank),
            EvalSplit::Global => split::global_time(&data.interactions, self.val_fraction, &rank),
        };
        let test = TestSet::new(&model, &data, &parts.val);
        let ratings = model.kind() == ModelKind::Rating || model.info().rating_head_dim.is_some();
        let m = eval::metrics(&model, &test, ratings, self.eval_users, self.seed)?;
        let overlap = test.seen_in_training(&model);
        if overlap > 0 && !self.output.quiet {
            eprintln!(
                "warning: {overlap} of {} pairs are interactions the model was trained on. The top-N \
                 metrics rank only items a user has not seen in training, so these pairs can never be \
                 hits, and RMSE on them is training error. Evaluate on held-out data.",
                m.pairs
            );
        }
        let mut baselines = BTreeMap::new();
        if !parts.train.is_empty() {
            let sample = Sample { users: self.eval_users, seed: self.seed };
            let ev = Evaluator::new(&data, &parts.train, &parts.val, sample);
            baselines = ev.popularity_baselines(&rank)?;
        }
        if let Some(info) = model.info().recency {
            model.set_recency(RecencyInfo { weight: 0.0, ..info })?;
            baselines.insert(
                "without_recency",
                eval::metrics(&model, &test, ratings, self.eval_users, self.seed)?,
            );
        }
        let report = EvalReport { model: m, baselines };
        let mut out = std::io::stdout().lock();
        if self.output.json {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(
            out,
            "  {:<16} {:>8} {:>8} {:>8} {:>10} {:>8} {:>9}",
            "", "RMSE", "MAE", "HR@10", "Recall@10", "NDCG@10", "coverage"
        )?;
        metrics_row(&mut out, "model", &report.model)?;
        for (name, b) in &report.baselines {
            metrics_row(&mut out, name, b)?;
        }
        writeln!(
            out,
            "{} pairs scored, {} users ranked, {} pairs skipped (unknown user or item)",
            report.model.pairs, report.model.users, report.model.skipped_unknown
        )?;
        Ok(())
    }
}
