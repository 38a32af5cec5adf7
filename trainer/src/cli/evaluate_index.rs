//! `trainer evaluate-index`: how well and how fast index search answers against exact search,
//! both through the serving core.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use edgerec_core::{Model, RecommendOptions};
use serde::Serialize;

use crate::train::index::{exact_top, query_users, recall_at_10};

/// `trainer evaluate-index`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateIndexCommand {
    /// The model artifact; it must carry an index (`trainer train --index auto` on 50,000+
    /// items).
    #[arg(long)]
    model: PathBuf,
    /// How many users to query (spread over the model's users, cycling when there are fewer).
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Lists to probe; the artifact's own `index_nprobe` when absent.
    #[arg(long)]
    nprobe: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Per-query latency percentiles, in milliseconds.
#[derive(Debug, Serialize)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
}

#[derive(Debug, Serialize)]
struct IndexReport {
    recall_at_10: f64,
    exact: Latency,
    index: Latency,
    artifact_bytes: usize,
    items: usize,
    dim: usize,
    item_factors: edgerec_core::Quantization,
    lists: usize,
    nprobe: usize,
    queries: usize,
}

/// Times `recommend` (top 10, seen items excluded) for each user, in milliseconds, sorted.
fn timings(model: &Model<'_>, users: &[usize]) -> anyhow::Result<Vec<f64>> {
    let opts = RecommendOptions::default();
    let mut out = Vec::with_capacity(users.len());
    for &u in users {
        let started = Instant::now();
        let recs = model.recommend_index(u, &opts)?;
        out.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(recs);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

fn latency(sorted: &[f64]) -> Latency {
    let at = |q: f64| {
        sorted.get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
    };
    Latency {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        mean_ms: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
    }
}

impl EvaluateIndexCommand {
    /// Runs the command.
    pub fn run(&self) -> anyhow::Result<()> {
        if self.queries == 0 {
            bail!("--queries must be at least 1");
        }
        let bytes =
            std::fs::read(&self.model).with_context(|| format!("reading {}", self.model.display()))?;
        let mut model =
            Model::from_bytes(&bytes).with_context(|| format!("loading {}", self.model.display()))?;
        let info = model.info();
        let Some(index) = info.index else {
            bail!(
                "{} has no index (export with `--index auto` on 50,000 items or more)",
                self.model.display()
            );
        };
        if model.num_users() == 0 {
            bail!("{} has no users to query", self.model.display());
        }
        let nprobe = self.nprobe.unwrap_or(index.nprobe);
        let users = query_users(&model, self.queries);
        let want = exact_top(&mut model, &users)?;
        let exact = timings(&model, &users)?;
        let recall = recall_at_10(&mut model, &users, &want, nprobe)?;
        let indexed = timings(&model, &users)?;
        let report = IndexReport {
            recall_at_10: recall,
            exact: latency(&exact),
            index: latency(&indexed),
            artifact_bytes: bytes.len(),
            items: info.num_items,
            dim: info.dim,
            item_factors: info.item_factors,
            lists: index.lists,
            nprobe,
            queries: users.len(),
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            let storage = serde_json::to_value(report.item_factors)?;
            println!(
                "{} items, d={}, {} item factors, {} lists, nprobe {nprobe}, {} queries, {} bytes",
                report.items,
                report.dim,
                storage.as_str().unwrap_or("?"),
                report.lists,
                report.queries,
                report.artifact_bytes
            );
            println!("recall@10 (index vs exact): {:.4}", report.recall_at_10);
            for (name, l) in [("exact", &report.exact), ("index", &report.index)] {
                println!(
                    "{name:>5}: p50 {:.3} ms  p99 {:.3} ms  mean {:.3} ms",
                    l.p50_ms, l.p99_ms, l.mean_ms
                );
            }
        }
        Ok(())
    }
}
