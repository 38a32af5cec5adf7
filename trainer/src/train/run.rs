//! The training-side subcommands: `train`, `evaluate`, `recommend`, `inspect`, `analyze`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use edgerec_core::{Model, RecencyInfo, RecommendOptions, names};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{Objective, TrainArgs, TrainConfig};
use super::eval::{Evaluator, Metrics};
use super::fit::{self, EpochStats, Verbosity};
use super::{analyze, pipeline, plot, split};
use crate::data::load::DataArgs;
use crate::data::{Dataset, write_atomic};

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
    scale: super::index::ScaleArgs,
}

/// What `trainer train` reports.
#[derive(Debug, Serialize)]
struct TrainReport {
    config: TrainConfig,
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
    data_fingerprint: String,
    artifact: Option<String>,
    artifact_bytes: Option<usize>,
    warnings: Vec<String>,
}

/// What `trainer train --folds K` reports.
#[derive(Debug, Serialize)]
struct CvReport {
    config: TrainConfig,
    folds: Vec<Metrics>,
    fit_seconds: Vec<f64>,
    summary: BTreeMap<&'static str, (f64, f64)>,
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

fn verbosity(o: &OutputArgs) -> Verbosity {
    if o.quiet || o.json { Verbosity::Quiet } else { Verbosity::Normal }
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

impl TrainCommand {
    /// Runs `trainer train`.
    pub fn run(&self) -> anyhow::Result<()> {
        // Flags are validated before any data is read.
        let cfg = TrainConfig::from_args(&self.train)?;
        let data =
            if self.output.quiet || self.output.json { self.data.load_quiet()? } else { self.data.load()? };
        if data.interactions.is_empty() {
            bail!("the data source has no valid interactions");
        }
        let cfg = cfg.resolve(&data.interactions);
        if cfg.objective == Objective::Rating
            && data.interactions.iter().all(|x| x.rating == data.interactions[0].rating)
        {
            bail!(
                "every rating in the data is {}, so a rating model would learn nothing (its loss is \
                 0 from the start). Use --objective ranking (or auto) for data without varying ratings.",
                data.interactions[0].rating
            );
        }
        match cfg.folds {
            Some(k) => self.cross_validate(&cfg, &data, k),
            None => self.train_and_export(&cfg, &data),
        }
    }

    fn cross_validate(&self, cfg: &TrainConfig, data: &Dataset, k: usize) -> anyhow::Result<()> {
        // Random folds have no time order: cross-validation measures the SGD-trained part (the
        // rating model, a hybrid's rating head, or BPR), as Surprise's protocol does.
        if cfg.objective == Objective::Ranking && cfg.uses_als() {
            bail!(
                "cross-validation runs the SGD-trained objectives (rating, hybrid's rating head, --ranker bpr); evaluate iALS with --split last or global"
            );
        }
        let cfg = &if cfg.objective == Objective::Hybrid {
            TrainConfig { objective: Objective::Rating, ..cfg.clone() }
        } else {
            cfg.clone()
        };
        let mut folds = Vec::new();
        let mut fit_seconds = Vec::new();
        for (f, fold) in split::k_folds(&data.interactions, k, cfg.seed).into_iter().enumerate() {
            // Each fold trains for the configured epochs on the other folds only; the
            // held-out fold is never used for stopping or tuning.
            let fold_cfg = TrainConfig { patience: 0, ..cfg.clone() };
            let started = Instant::now();
            let trained = fit::fit(
                &fold_cfg,
                data.num_users(),
                data.num_items(),
                &fold.train,
                &[],
                None,
                Verbosity::Quiet,
            )?;
            fit_seconds.push(started.elapsed().as_secs_f64());
            let m = Evaluator::new(data, &fold.train, &fold.val).metrics(&trained.factors, cfg)?;
            if !self.output.json {
                eprintln!(
                    "fold {}/{k}: rmse {}  mae {}  ndcg@10 {:.4}  fit {:.2}s",
                    f + 1,
                    m.rmse.map_or("-".into(), |v| format!("{v:.4}")),
                    m.mae.map_or("-".into(), |v| format!("{v:.4}")),
                    m.ndcg,
                    fit_seconds[f]
                );
            }
            folds.push(m);
        }
        let mut summary = BTreeMap::new();
        let pick = |get: &dyn Fn(&Metrics) -> Option<f64>| -> Option<(f64, f64)> {
            let v: Vec<f64> = folds.iter().filter_map(get).collect();
            (!v.is_empty()).then(|| mean_std(&v))
        };
        for (name, value) in [
            ("rmse", pick(&|m| m.rmse)),
            ("mae", pick(&|m| m.mae)),
            ("hr@10", pick(&|m| Some(m.hr))),
            ("recall@10", pick(&|m| Some(m.recall))),
            ("ndcg@10", pick(&|m| Some(m.ndcg))),
            ("coverage", pick(&|m| Some(m.coverage))),
            ("fit_seconds", Some(mean_std(&fit_seconds))),
        ] {
            if let Some(v) = value {
                summary.insert(name, v);
            }
        }
        let report = CvReport { config: cfg.clone(), folds, fit_seconds, summary };
        let mut out = std::io::stdout().lock();
        if self.output.json {
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

    fn train_and_export(&self, cfg: &TrainConfig, data: &Dataset) -> anyhow::Result<()> {
        let started = Instant::now();
        let v = verbosity(&self.output);
        let outcome = pipeline::run(cfg, data, v)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let (train_len, val_len, inner_len) = outcome.sizes;
        let mut report = TrainReport {
            config: cfg.clone(),
            users: data.num_users(),
            items: data.num_items(),
            interactions: data.interactions.len(),
            train_interactions: train_len,
            val_interactions: val_len,
            inner_val_interactions: inner_len,
            best_epoch: outcome.best_epoch,
            epochs_run: outcome.history.len(),
            train_seconds,
            seconds_per_epoch: outcome.history.iter().map(|e| e.seconds).sum::<f64>()
                / outcome.history.len().max(1) as f64,
            metrics: outcome.metrics,
            baselines: outcome.baselines,
            recency: outcome.recency,
            recency_trials: outcome.recency_trials,
            history: outcome.history,
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
        builder.item_projection =
            Some(analyze::pca2(&outcome.weights.main.item.data, data.num_items(), cfg.dim));
        builder.created_at = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let info = serde_json::json!({
            "config": &report.config,
            "metrics": &report.metrics,
            "baselines": &report.baselines,
            "recency": &report.recency,
            "best_epoch": report.best_epoch,
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
                &format!("EdgeRec {} model (inner split)", cfg.objective.to_possible_value_name()),
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

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

pub(crate) fn metrics_row(out: &mut impl Write, name: &str, m: &Metrics) -> std::io::Result<()> {
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

fn print_summary(out: &mut impl Write, r: &TrainReport) -> std::io::Result<()> {
    writeln!(
        out,
        "trained {} model: {} users, {} items, {} interactions ({} train / {} validation)",
        r.config.objective.to_possible_value_name(),
        r.users,
        r.items,
        r.interactions,
        r.train_interactions,
        r.val_interactions
    )?;
    writeln!(
        out,
        "best epoch {} of {} run; {:.2}s total, {:.3}s per epoch",
        r.best_epoch, r.epochs_run, r.train_seconds, r.seconds_per_epoch
    )?;
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

trait PossibleValueName {
    fn to_possible_value_name(&self) -> String;
}

impl<T: clap::ValueEnum> PossibleValueName for T {
    fn to_possible_value_name(&self) -> String {
        self.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
    }
}

pub(crate) fn read_model(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

pub(crate) fn load_model<'a>(path: &Path, bytes: &'a [u8]) -> anyhow::Result<Model<'a>> {
    Model::from_bytes(bytes).with_context(|| format!("loading model {}", path.display()))
}

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
            exclude_items: Vec::new(),
            categories: (!self.categories.is_empty()).then(|| self.categories.clone()),
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

/// `trainer inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectCommand {
    /// The model artifact.
    model: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl InspectCommand {
    /// Runs `trainer inspect`.
    pub fn run(&self) -> anyhow::Result<()> {
        let bytes = read_model(&self.model)?;
        let model = load_model(&self.model, &bytes)?;
        let info = model.info();
        let extra: serde_json::Value =
            model.metadata(names::META_INFO).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        if self.json {
            let v = serde_json::json!({ "file_bytes": bytes.len(), "model": info, "info": extra });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(out, "{}: {} bytes, format v{}", self.model.display(), bytes.len(), info.format_version)?;
        writeln!(out, "  kind          {}", info.kind.as_str())?;
        writeln!(out, "  dim           {}", info.dim)?;
        writeln!(out, "  users         {}", info.num_users)?;
        writeln!(out, "  items         {}", info.num_items)?;
        writeln!(out, "  interactions  {}", info.num_interactions)?;
        writeln!(
            out,
            "  categories    {}",
            if info.categories.is_empty() { "-".into() } else { info.categories.join(", ") }
        )?;
        writeln!(out, "  created_at    {}", info.created_at.as_deref().unwrap_or("-"))?;
        if let Some((lo, hi)) = info.rating_range {
            writeln!(out, "  rating scale  {lo} – {hi}")?;
        }
        if let Some(m) = extra.get("metrics") {
            writeln!(out, "  validation    {m}")?;
        }
        if let Some(fp) = extra.get("data_fingerprint").and_then(|v| v.as_str()) {
            writeln!(out, "  data sha256   {fp}")?;
        }
        Ok(())
    }
}

/// `trainer analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeCommand {
    /// The model artifact.
    #[arg(long, short)]
    model: PathBuf,
    /// Number of k-means clusters.
    #[arg(long, default_value_t = 3)]
    clusters: usize,
    /// Write the analysis (dominant categories, clusters, the 2-D item map) as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed for k-means.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Serialize)]
struct ItemPoint<'a> {
    item_id: &'a str,
    category: Option<&'a str>,
    x: f32,
    y: f32,
    cluster: usize,
}

impl AnalyzeCommand {
    /// Runs `trainer analyze`: user groups, clusters and purity, and the item map.
    pub fn run(&self) -> anyhow::Result<()> {
        if self.clusters == 0 {
            bail!("--clusters must be at least 1");
        }
        let bytes = read_model(&self.model)?;
        let model = load_model(&self.model, &bytes)?;
        let (nu, ni, d) = (model.num_users(), model.num_items(), model.dim());
        let categories = model.categories();
        if categories.is_empty() {
            bail!("{} has no item categories, so there are no groups to analyse", self.model.display());
        }
        let cat_index =
            |i: usize| model.item_category(i).and_then(|c| categories.iter().position(|&x| x == c));
        // A user's dominant category: the one they interacted with most (weighted by value).
        let mut dominant = vec![0usize; nu];
        let mut group_sizes = vec![0usize; categories.len()];
        for (u, dom) in dominant.iter_mut().enumerate() {
            let mut weight = vec![0f32; categories.len()];
            for (i, v) in model.seen_items(u) {
                if let Some(c) = cat_index(i) {
                    weight[c] += v.max(0.0) + 1e-3;
                }
            }
            *dom = (0..categories.len())
                .max_by(|&a, &b| weight[a].total_cmp(&weight[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            group_sizes[*dom] += 1;
        }
        let user_data: Vec<f32> =
            (0..nu).flat_map(|u| model.user_factors(u).unwrap_or(&[]).to_vec()).collect();
        let item_data: Vec<f32> =
            (0..ni).flat_map(|i| model.item_factors(i).unwrap_or(&[]).to_vec()).collect();
        let user_clusters = analyze::kmeans(&user_data, nu, d, self.clusters, self.seed);
        let item_clusters = analyze::kmeans(&item_data, ni, d, self.clusters, self.seed);
        let item_labels: Vec<usize> = (0..ni).map(|i| cat_index(i).unwrap_or(0)).collect();
        let user_purity = analyze::purity(&user_clusters, &dominant);
        let item_purity = analyze::purity(&item_clusters, &item_labels);
        let projection = analyze::pca2(&item_data, ni, d);

        let mut out = std::io::stdout().lock();
        writeln!(out, "users by dominant category:")?;
        for (c, name) in categories.iter().enumerate() {
            writeln!(
                out,
                "  {name:<12} {:>6} ({:.1}%)",
                group_sizes[c],
                100.0 * group_sizes[c] as f64 / nu.max(1) as f64
            )?;
        }
        writeln!(out, "k-means with k={} over factors:", self.clusters)?;
        writeln!(out, "  user clusters: purity {user_purity:.3} against dominant category")?;
        writeln!(out, "  item clusters: purity {item_purity:.3} against item category")?;
        if let Some(path) = &self.out {
            let points: Vec<ItemPoint<'_>> = (0..ni)
                .map(|i| ItemPoint {
                    item_id: model.item_id(i),
                    category: model.item_category(i),
                    x: projection[2 * i],
                    y: projection[2 * i + 1],
                    cluster: item_clusters[i],
                })
                .collect();
            let users: BTreeMap<&str, &str> =
                (0..nu).map(|u| (model.user_id(u), categories[dominant[u]])).collect();
            let v = serde_json::json!({
                "user_purity": user_purity,
                "item_purity": item_purity,
                "group_sizes": categories.iter().zip(&group_sizes).map(|(c, n)| (c.to_string(), n)).collect::<BTreeMap<_, _>>(),
                "user_dominant_category": users,
                "item_map": points,
            });
            write_atomic(path, |w| serde_json::to_writer(w, &v).map_err(std::io::Error::other))
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        Ok(())
    }
}
