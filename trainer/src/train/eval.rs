//! Metrics, computed through `edgerec-core` (the same code that serves), and baselines.

use std::collections::BTreeMap;

use anyhow::Context;
use edgerec_core::{Model, ModelKind, RecommendOptions};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::config::{Objective, ValidParams};
use super::export;
use super::tables::Factors;
use crate::dataset::{Dataset, Interaction};

/// The cut-off of the top-N metrics.
pub const K: usize = 10;

/// Quality figures of one model on one test set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Root mean squared error of predicted ratings (rating data only).
    pub rmse: Option<f64>,
    /// Mean absolute error of predicted ratings.
    pub mae: Option<f64>,
    /// Hit rate at 10: the share of users with at least one held-out item in their top 10.
    pub hr: f64,
    /// Recall at 10: held-out items found in the top 10, over the user's held-out items.
    pub recall: f64,
    /// NDCG at 10 with binary relevance.
    pub ndcg: f64,
    /// Share of the catalogue that appears in any evaluated user's top 10.
    pub coverage: f64,
    /// Users evaluated for the top-N metrics.
    pub users: usize,
    /// Test pairs scored for RMSE/MAE.
    pub pairs: usize,
    /// Test pairs whose user or item the model does not know.
    pub skipped_unknown: usize,
}

impl Metrics {
    /// These figures with the top-N ones (HR, recall, NDCG, coverage, users) of `top`.
    pub fn with_top_n(self, top: &Metrics) -> Metrics {
        Metrics {
            hr: top.hr,
            recall: top.recall,
            ndcg: top.ndcg,
            coverage: top.coverage,
            users: top.users,
            ..self
        }
    }
}

/// Test pairs as core indices, with their ratings.
pub struct TestSet {
    pairs: Vec<(usize, usize, f32)>,
    skipped_unknown: usize,
}

impl TestSet {
    /// Maps a dataset's interactions to `model`'s indices (by ID), skipping unknown IDs.
    pub fn new(model: &Model<'_>, data: &Dataset, rows: &[Interaction]) -> Self {
        let users: Vec<Option<usize>> = data.user_ids.iter().map(|id| model.user_index(id)).collect();
        let items: Vec<Option<usize>> = data.item_ids.iter().map(|id| model.item_index(id)).collect();
        let mut pairs = Vec::with_capacity(rows.len());
        let mut skipped_unknown = 0;
        for x in rows {
            match (users[x.user as usize], items[x.item as usize]) {
                (Some(u), Some(i)) => pairs.push((u, i, x.rating)),
                _ => skipped_unknown += 1,
            }
        }
        Self { pairs, skipped_unknown }
    }

    /// How many pairs are in the model's seen lists, i.e. interactions it was trained on. The
    /// top-N metrics exclude a user's seen items from the ranking, so these can never be hits.
    pub fn seen_in_training(&self, model: &Model<'_>) -> usize {
        self.pairs.iter().filter(|&&(u, i, _)| model.seen_items(u).any(|(j, _)| j == i)).count()
    }
}

/// Computes metrics for `model` on `test`: RMSE/MAE when `ratings` is set, and full-ranking
/// top-10 metrics over all items the user has not seen in training (the model's seen items),
/// for up to `max_users` users sampled with `seed` (0: all).
pub fn metrics(
    model: &Model<'_>,
    test: &TestSet,
    ratings: bool,
    max_users: usize,
    seed: u64,
) -> anyhow::Result<Metrics> {
    let mut m = rated_metrics(model, test, ratings)?;
    let users = ranked_users(test, max_users, seed);
    // Users are ranked in parallel; their figures are added in the sampled order, so the sums
    // are the same bits on any number of threads.
    let opts = RecommendOptions { top_n: K, exclude_rated: true, ..RecommendOptions::default() };
    let lists = users
        .par_iter()
        .map(|(u, _)| model.recommend_index(*u, &opts).map(|r| r.items.iter().map(|s| s.index).collect()))
        .collect::<Result<Vec<_>, _>>()?;
    top_n_metrics(&users, &lists, model.num_items(), &mut m);
    Ok(m)
}

/// The figures of `test` that need no ranking: its sizes, and RMSE/MAE when `ratings` is set.
pub fn rated_metrics(model: &Model<'_>, test: &TestSet, ratings: bool) -> anyhow::Result<Metrics> {
    let mut m =
        Metrics { pairs: test.pairs.len(), skipped_unknown: test.skipped_unknown, ..Metrics::default() };
    if ratings && !test.pairs.is_empty() {
        let (mut se, mut ae) = (0.0f64, 0.0f64);
        for &(u, i, r) in &test.pairs {
            let err = f64::from(model.predict_index(u, i).context("test pair out of range")? - r);
            se += err * err;
            ae += err.abs();
        }
        m.rmse = Some((se / test.pairs.len() as f64).sqrt());
        m.mae = Some(ae / test.pairs.len() as f64);
    }
    Ok(m)
}

/// The users the top-N metrics rank: every user of `test`, or `max_users` of them sampled with
/// `seed` (0: all), each with their held-out items, sorted and unique.
pub fn ranked_users(test: &TestSet, max_users: usize, seed: u64) -> Vec<(usize, Vec<usize>)> {
    let mut relevant: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(u, i, _) in &test.pairs {
        relevant.entry(u).or_default().push(i);
    }
    let mut users: Vec<usize> = relevant.keys().copied().collect();
    if max_users > 0 && users.len() > max_users {
        users.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        users.truncate(max_users);
    }
    users
        .into_iter()
        .map(|u| {
            let mut rel = relevant.remove(&u).unwrap_or_default();
            rel.sort_unstable();
            rel.dedup();
            (u, rel)
        })
        .collect()
}

/// HR, recall and NDCG at [`K`] and the coverage of `lists`, one top-K list (best first) for each
/// of `users` ([`ranked_users`]), into `m`.
pub fn top_n_metrics(users: &[(usize, Vec<usize>)], lists: &[Vec<usize>], num_items: usize, m: &mut Metrics) {
    let mut shown = vec![false; num_items];
    let (mut hr, mut recall, mut ndcg) = (0.0, 0.0, 0.0);
    for ((_, rel), list) in users.iter().zip(lists) {
        let mut hits = 0usize;
        let mut dcg = 0.0;
        for (rank, &index) in list.iter().enumerate() {
            shown[index] = true;
            if rel.binary_search(&index).is_ok() {
                hits += 1;
                dcg += 1.0 / (rank as f64 + 2.0).log2();
            }
        }
        let ideal: f64 = (0..rel.len().min(K)).map(|r| 1.0 / (r as f64 + 2.0).log2()).sum();
        hr += f64::from(u8::from(hits > 0));
        recall += hits as f64 / rel.len() as f64;
        ndcg += dcg / ideal;
    }
    let n = users.len().max(1) as f64;
    m.users = users.len();
    m.hr = hr / n;
    m.recall = recall / n;
    m.ndcg = ndcg / n;
    m.coverage = shown.iter().filter(|&&s| s).count() as f64 / num_items.max(1) as f64;
}

/// Evaluates weights during training: builds an in-memory artifact and scores it through
/// the core, on the validation interactions.
pub struct Evaluator<'d> {
    data: &'d Dataset,
    train: &'d [Interaction],
    val: &'d [Interaction],
    sample: Sample,
}

/// Which users the ranking metrics rank: up to `users` of them (0: all), drawn with `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Users ranked (0: all).
    pub users: usize,
    /// Seed of the draw.
    pub seed: u64,
}

impl<'d> Evaluator<'d> {
    /// An evaluator of `val`, excluding `train` interactions from the rankings.
    pub fn new(data: &'d Dataset, train: &'d [Interaction], val: &'d [Interaction], sample: Sample) -> Self {
        Self { data, train, val, sample }
    }

    /// Which users are ranked.
    pub fn sample(&self) -> Sample {
        self.sample
    }

    /// The metrics of `f` on the validation set.
    pub fn metrics(&self, f: &Factors, cfg: &ValidParams) -> anyhow::Result<Metrics> {
        let seen = self.train.iter().map(|x| (x.user, x.item, export::seen_value(cfg, x)));
        let range = match cfg.objective() {
            Objective::Rating => export::rating_range(self.train),
            _ => None,
        };
        let bytes = export::builder(f, export::kind(cfg.objective()), self.data, seen, range).build()?;
        let model = Model::from_bytes(&bytes)?;
        let test = TestSet::new(&model, self.data, self.val);
        metrics(&model, &test, cfg.objective() == Objective::Rating, self.sample.users, self.sample.seed)
    }

    /// The baselines' metrics on the validation set: global mean, biases only, most popular.
    pub fn baselines(&self, cfg: &ValidParams) -> anyhow::Result<BTreeMap<&'static str, Metrics>> {
        let (nu, ni) = (self.data.num_users(), self.data.num_items());
        let rating = matches!(cfg.objective(), Objective::Rating | Objective::Hybrid);
        let mut out = BTreeMap::new();
        let blank = || Factors::zeros(nu, ni);
        let seen = || self.train.iter().map(|x| (x.user, x.item, x.rating));
        let range = export::rating_range(self.train);
        let score = |f: &Factors, kind: ModelKind, ratings: bool| -> anyhow::Result<Metrics> {
            let bytes = export::builder(f, kind, self.data, seen(), range).build()?;
            let model = Model::from_bytes(&bytes)?;
            metrics(
                &model,
                &TestSet::new(&model, self.data, self.val),
                ratings,
                self.sample.users,
                self.sample.seed,
            )
        };
        if rating {
            let mut mean = blank();
            mean.global = mean_rating(self.train);
            out.insert("global_mean", score(&mean, ModelKind::Rating, true)?);
            let biases = fit_biases(self.train, nu, ni, mean.global);
            out.insert("biases_only", score(&biases, ModelKind::Rating, true)?);
        }
        let mut popular = blank();
        for x in self.train {
            popular.item_bias.data[x.item as usize] += 1.0;
        }
        out.insert("most_popular", score(&popular, ModelKind::Ranking, false)?);
        Ok(out)
    }
}

impl Evaluator<'_> {
    /// The top-N metrics of a popularity-style baseline whose item biases are its scores.
    pub fn score_ranking(&self, f: &Factors) -> anyhow::Result<Metrics> {
        let seen = self.train.iter().map(|x| (x.user, x.item, 1.0));
        let mut full = Factors::zeros(self.data.num_users(), self.data.num_items());
        full.item_bias = f.item_bias.clone();
        let bytes = export::builder(&full, ModelKind::Ranking, self.data, seen, None).build()?;
        let model = Model::from_bytes(&bytes)?;
        metrics(
            &model,
            &TestSet::new(&model, self.data, self.val),
            false,
            self.sample.users,
            self.sample.seed,
        )
    }

    /// The popularity baselines: most popular (all training interactions) and, with
    /// timestamps, recently popular (the latest share of them).
    pub fn popularity_baselines(&self, item_rank: &[u32]) -> anyhow::Result<BTreeMap<&'static str, Metrics>> {
        let mut out = BTreeMap::new();
        let mut popular = Factors::zeros(0, self.data.num_items());
        for x in self.train {
            popular.item_bias.data[x.item as usize] += 1.0;
        }
        out.insert("most_popular", self.score_ranking(&popular)?);
        if super::split::has_timestamps(self.train) {
            let recent = recently_popular(self.train, self.data.num_items(), item_rank);
            out.insert("recently_popular", self.score_ranking(&recent)?);
        }
        Ok(out)
    }
}

/// The share of the latest training interactions that "recently popular" counts.
pub const RECENT_WINDOW_SHARE: f64 = 0.1;

/// "Recently popular": items by interactions in the latest share of the training data (ties,
/// and items unseen in the window, fall back to overall popularity).
pub fn recently_popular(rows: &[Interaction], items: usize, item_rank: &[u32]) -> Factors {
    let mut order: Vec<&Interaction> = rows.iter().collect();
    order.sort_by_key(|x| (x.timestamp, item_rank.get(x.item as usize).copied()));
    let window = ((rows.len() as f64 * RECENT_WINDOW_SHARE).ceil() as usize).max(1);
    let mut f = Factors::zeros(0, items);
    for x in order.iter().rev().take(window) {
        f.item_bias.data[x.item as usize] += 1.0;
    }
    for x in rows {
        f.item_bias.data[x.item as usize] += 1e-6;
    }
    f
}

fn mean_rating(rows: &[Interaction]) -> f32 {
    (rows.iter().map(|x| f64::from(x.rating)).sum::<f64>() / rows.len().max(1) as f64) as f32
}

/// Regularised user and item biases by alternating least squares (Surprise's baseline:
/// 10 rounds, λ_item = 10, λ_user = 15).
pub fn fit_biases(rows: &[Interaction], users: usize, items: usize, mu: f32) -> Factors {
    let mut f = Factors::zeros(users, items);
    f.global = mu;
    for _ in 0..10 {
        let (mut sum, mut cnt) = (vec![0f64; items], vec![0f64; items]);
        for x in rows {
            sum[x.item as usize] += f64::from(x.rating - mu - f.user_bias.data[x.user as usize]);
            cnt[x.item as usize] += 1.0;
        }
        for i in 0..items {
            f.item_bias.data[i] = (sum[i] / (10.0 + cnt[i])) as f32;
        }
        let (mut sum, mut cnt) = (vec![0f64; users], vec![0f64; users]);
        for x in rows {
            sum[x.user as usize] += f64::from(x.rating - mu - f.item_bias.data[x.item as usize]);
            cnt[x.user as usize] += 1.0;
        }
        for u in 0..users {
            f.user_bias.data[u] = (sum[u] / (15.0 + cnt[u])) as f32;
        }
    }
    f
}
