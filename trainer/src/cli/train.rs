//! `trainer train`: load, train through the pipeline (or cross-validate, [`crate::train::cv`]),
//! report beside the baselines, export.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use edgerec_core::{Model, RecencyInfo};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::data::DataArgs;
use super::output::{OutputArgs, PossibleValueName as _, metrics_row, verbosity};
use super::train_args::TrainArgs;
use crate::atomic::write_atomic;
use crate::dataset::Dataset;
use crate::train::config::{Objective, ValidParams};
use crate::train::eval::Metrics;
use crate::train::experiment::Experiment;
use crate::train::fit::EpochStats;
use crate::train::pipeline::choice::Choice;
use crate::train::sequence::SeqEpoch;
use crate::train::{cv, pipeline, plot, split};

/// `trainer train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainCommand {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Where to write the model artifact (a safetensors file). A loss curve is written next
    /// to it as `<out>.loss.svg`.
    #[arg(long, short, default_value = "model.safetensors")]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    scale: super::scale::ScaleArgs,
}

/// What `trainer train` reports.
#[derive(Debug, Serialize)]
struct TrainReport {
    config: ValidParams,
    experiment: Experiment,
    users: usize,
    items: usize,
    interactions: usize,
    train_interactions: usize,
    val_interactions: usize,
    inner_val_interactions: usize,
    best_epoch: usize,
    epochs_run: usize,
    train_seconds: f64,
    seconds_per_epoch: f64,
    metrics: Metrics,
    baselines: BTreeMap<&'static str, Metrics>,
    recency: Option<RecencyInfo>,
    recency_trials: Vec<pipeline::RecencyTrial>,
    history: Vec<EpochStats>,
    seq_history: Vec<SeqEpoch>,
    /// Under `--objective auto`: the models compared on the inner split and the one kept.
    choice: Option<Choice>,
    data_fingerprint: String,
    artifact: Option<String>,
    artifact_bytes: Option<usize>,
    warnings: Vec<String>,
}

/// SHA-256 over the interactions as loaded (IDs, rating, timestamp), for provenance.
pub fn fingerprint(data: &Dataset) -> String {
    let mut h = Sha256::new();
    for x in &data.interactions {
        h.update(data.user_ids[x.user as usize].as_bytes());
        h.update([0]);
        h.update(data.item_ids[x.item as usize].as_bytes());
        h.update([0]);
        h.update(x.rating.to_le_bytes());
        h.update(x.timestamp.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl TrainCommand {
    /// Runs `trainer train`.
    pub fn run(&self) -> anyhow::Result<()> {
        // Flags are validated before any data is read.
        let cfg = self.train.params()?;
        let exp = self.train.experiment()?;
        let data =
            if self.output.quiet || self.output.json { self.data.load_quiet()? } else { self.data.load()? };
        if data.interactions.is_empty() {
            bail!("the data source has no valid interactions");
        }
        let cfg = cfg.resolve(&data.interactions);
        let exp = exp.resolve(&data.interactions);
        if cfg.objective() == Objective::Rating
            && data.interactions.iter().all(|x| x.rating == data.interactions[0].rating)
        {
            bail!(
                "every rating in the data is {}, so a rating model would learn nothing (its loss is \
                 0 from the start). Use --objective ranking (or auto) for data without varying ratings.",
                data.interactions[0].rating
            );
        }
        match exp.folds() {
            Some(k) => self.cross_validate(&cfg, &exp, &data, k),
            None => self.train_and_export(&cfg, &exp, &data),
        }
    }

    fn cross_validate(
        &self,
        cfg: &ValidParams,
        exp: &Experiment,
        data: &Dataset,
        k: usize,
    ) -> anyhow::Result<()> {
        let json = self.output.json;
        let report = cv::cross_validate(cfg, exp, data, k, &mut |f, m, seconds| {
            if !json {
                eprintln!(
                    "fold {}/{k}: rmse {}  mae {}  ndcg@10 {:.4}  fit {seconds:.2}s",
                    f + 1,
                    m.rmse.map_or("-".into(), |v| format!("{v:.4}")),
                    m.mae.map_or("-".into(), |v| format!("{v:.4}")),
                    m.ndcg,
                );
            }
        })?;
        let mut out = std::io::stdout().lock();
        if json {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{k}-fold cross-validation ({} interactions):", data.interactions.len())?;
            for (name, (mean, std)) in &report.summary {
                writeln!(out, "  {name:<12} {mean:.4} ± {std:.4}")?;
            }
        }
        Ok(())
    }

    fn train_and_export(&self, cfg: &ValidParams, exp: &Experiment, data: &Dataset) -> anyhow::Result<()> {
        let started = Instant::now();
        let v = verbosity(&self.output);
        let outcome = pipeline::run(cfg, exp, data, v)?;
        let train_seconds = started.elapsed().as_secs_f64();
        // Under `auto`, the settings of the model that was kept.
        let cfg = &cfg.chosen(outcome.objective);
        let (train_len, val_len, inner_len) = outcome.sizes;
        let mut report = TrainReport {
            config: cfg.clone(),
            experiment: exp.clone(),
            users: data.num_users(),
            items: data.num_items(),
            interactions: data.interactions.len(),
            train_interactions: train_len,
            val_interactions: val_len,
            inner_val_interactions: inner_len,
            best_epoch: outcome.best_epoch,
            epochs_run: outcome.history.len().max(outcome.seq_history.len()),
            train_seconds,
            seconds_per_epoch: (outcome.history.iter().map(|e| e.seconds).sum::<f64>()
                + outcome.seq_history.iter().map(|e| e.seconds).sum::<f64>())
                / outcome.history.len().max(outcome.seq_history.len()).max(1) as f64,
            metrics: outcome.metrics,
            baselines: outcome.baselines,
            recency: outcome.recency,
            recency_trials: outcome.recency_trials,
            history: outcome.history,
            seq_history: outcome.seq_history,
            choice: outcome.choice,
            data_fingerprint: fingerprint(data),
            artifact: None,
            artifact_bytes: None,
            warnings: Vec::new(),
        };
        report.warnings = quality_warnings(&report);

        // The artifact excludes everything the user has interacted with, and its recency
        // history is the latest of all the data.
        let rank = split::item_id_rank(data);
        let mut builder =
            pipeline::builder(cfg, data, &outcome.weights, &data.interactions, outcome.recency, &rank);
        builder.created_at = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        builder.erased_through = data.erased_through;
        let info = serde_json::json!({
            "config": &report.config,
            "experiment": &report.experiment,
            "metrics": &report.metrics,
            "baselines": &report.baselines,
            "recency": &report.recency,
            "best_epoch": report.best_epoch,
            // Without its timings, so the same data and seed make the same artifact bytes.
            "choice": report.choice.as_ref().map(Choice::without_timings),
            "data_fingerprint": &report.data_fingerprint,
            "validation": &data.report,
            "trainer_version": env!("CARGO_PKG_VERSION"),
        });
        builder.info = Some(info.to_string());
        self.scale.apply(&mut builder)?;
        let bytes = builder.build().context("building the model artifact")?;
        // Check that what we are about to write loads, before it replaces anything.
        Model::from_bytes(&bytes).context("the freshly built artifact does not load")?;
        write_atomic(&self.out, |w| w.write_all(&bytes))
            .with_context(|| format!("writing {}", self.out.display()))?;
        report.artifact = Some(self.out.display().to_string());
        report.artifact_bytes = Some(bytes.len());
        if !report.history.is_empty() {
            let svg = self.out.with_extension("loss.svg");
            plot::loss_curve(
                &svg,
                &report.history,
                &format!("EdgeRec {} model (inner split)", cfg.objective().to_possible_value_name()),
            )?;
        }
        if !self.output.quiet {
            for w in &report.warnings {
                eprintln!("\x1b[1;33mwarning: {w}\x1b[0m");
            }
        }
        let mut out = std::io::stdout().lock();
        if self.output.json {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        } else {
            print_summary(&mut out, &report)?;
        }
        Ok(())
    }
}

/// A model that does not beat the popularity baselines on its own evaluation split has not
/// learned what the data can teach: say so loudly.
fn quality_warnings(r: &TrainReport) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["most_popular", "recently_popular"] {
        if let Some(b) = r.baselines.get(name)
            && (r.metrics.hr <= b.hr || r.metrics.ndcg <= b.ndcg)
        {
            out.push(format!(
                "the trained model does not beat {name} on the validation split (HR@10 {:.4} vs {:.4}, \
                 NDCG@10 {:.4} vs {:.4}); its lists are no better than a popularity chart",
                r.metrics.hr, b.hr, r.metrics.ndcg, b.ndcg
            ));
        }
    }
    out
}

fn print_summary(out: &mut impl Write, r: &TrainReport) -> std::io::Result<()> {
    writeln!(
        out,
        "trained {} model: {} users, {} items, {} interactions ({} train / {} validation)",
        r.config.objective().to_possible_value_name(),
        r.users,
        r.items,
        r.interactions,
        r.train_interactions,
        r.val_interactions
    )?;
    if let Some(c) = &r.choice {
        writeln!(out, "  {:<14} {:>8} {:>8} {:>10}", "inner split", "HR@10", "NDCG@10", "train s")?;
        for m in &c.candidates {
            writeln!(out, "  {:<14} {:>8.4} {:>8.4} {:>10.1}", m.objective.name(), m.hr, m.ndcg, m.seconds)?;
        }
        writeln!(out, "chose {}", c.reason)?;
    }
    if r.epochs_run == 0 {
        // iALS alone: alternating closed-form sweeps, no epochs to choose.
        writeln!(out, "trained in {:.2}s (iALS)", r.train_seconds)?;
    } else {
        writeln!(
            out,
            "best epoch {} of {} run; {:.2}s total, {:.3}s per epoch",
            r.best_epoch, r.epochs_run, r.train_seconds, r.seconds_per_epoch
        )?;
    }
    writeln!(
        out,
        "  {:<14} {:>8} {:>8} {:>8} {:>10} {:>8} {:>9}",
        "validation", "RMSE", "MAE", "HR@10", "Recall@10", "NDCG@10", "coverage"
    )?;
    metrics_row(out, "edgerec", &r.metrics)?;
    for (name, m) in &r.baselines {
        metrics_row(out, name, m)?;
    }
    if let (Some(path), Some(bytes)) = (&r.artifact, r.artifact_bytes) {
        writeln!(out, "wrote {path} ({bytes} bytes)")?;
    }
    Ok(())
}
