//! `trainer analyze`: user groups, k-means clusters with purity, and a 2-D item map.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;

use super::output::{load_model, read_model};
use crate::atomic::write_atomic;
use crate::train::analyze;

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
        let projection = edgerec_core::pca2(&item_data, ni, d);

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
