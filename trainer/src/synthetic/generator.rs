//! The demo data's generative model: a seeded stand-in for a shop's behaviour log.
//!
//! # The model
//!
//! Everything is drawn from ChaCha8 streams derived from `--seed`: stream 0 for the items and the
//! activity split, stream `1 + u` for user `u`'s parameters and stream `2^32 + u` for user `u`'s
//! interactions, so the output is identical for a given seed and size on every machine.
//!
//! **Items.** Item `i` belongs to category `i mod 3` (tech, fashion, sports; IDs `TECH1005`,
//! `FASH1002`, `SPRT1013`, numbered upwards from 1000 in random steps of 1–7, so not contiguous).
//! Each item has
//! - a taste cluster, uniform in `0..4` within its category,
//! - a quality `q_i ~ N(0, 0.3²)`,
//! - a latent taste vector `v_i ∈ R⁴`, entries `N(0, 0.5²)`,
//! - a popularity weight `1 / (rank + 1)^0.9`, with ranks a random permutation within the
//!   category: a Zipf-like long tail that is unrelated to the ID order.
//!
//! **Users.** IDs `U10001`, `U10004`, … (random steps of 1–7). Each user has
//! - an interest group `g` (tech 40 %, fashion 35 %, sports 25 %),
//! - a rating bias `b_u ~ N(0, 0.3²)`,
//! - category affinities `a_u[c] = +0.6` for the own group's category and `N(-0.1, 0.3²)` for
//!   the other two (cross-interest),
//! - a favourite taste cluster per category, uniform,
//! - a latent taste vector `p_u ∈ R⁴`, entries `N(0, 0.5²)`,
//! - category choice probabilities: own category `U(0.6, 0.9)`, the rest split at random between
//!   the other two,
//! - an activity weight `LogNormal(0, 0.8²)`; the `--interactions` total is split in proportion
//!   (largest remainders, at least one per user while the total allows), so activity is skewed.
//!
//! **Interactions.** For each of user `u`'s interactions: pick a category from `u`'s choice
//! probabilities; with probability 0.8 restrict to `u`'s favourite cluster in it (users have a
//! niche, which is what makes personalised ranking worth having); pick an item
//! by popularity within that set. An item `u` already has is redrawn (up to 8 tries), except that
//! 3 % of interactions deliberately repeat a seen item (a repeat view); so a few duplicate
//! (user, item) pairs exist, as in real logs, and the loader resolves them.
//!
//! **Ratings.** The signal is
//!
//! ```text
//! s = 3.0 + b_u + q_i + a_u[c_i] + 0.5·[cluster_i = favourite_u[c_i]] + p_u·v_i
//! ```
//!
//! and the rating is `clamp(round(s + ε), 1, 5)` with `ε ~ N(0, σ²)`, **σ = [`NOISE_SD`] = 0.6**.
//! The user × item part (category affinity, cluster match, `p_u·v_i`, sd ≈ 0.5 on the sampled
//! pairs) is invisible to a biases-only model, which matrix factorisation can learn.
//!
//! **Best achievable RMSE.** Noise plus rounding leave about `sqrt(0.6² + 1/12) ≈ 0.67` before
//! clipping; clipping at 1 and 5 lowers it a little. The Bayes-optimal predictor
//! `E[rating | s]` (computed exactly, since ε is Gaussian) scores **RMSE ≈ 0.63 on the default
//! data** (seed 42, 50,000 rows; `trainer generate` prints the figure for every run as
//! `oracle RMSE`). No model can beat it on held-out rows, except by chance.
//!
//! **Behaviour and time.** The behaviour depends on the rating (a 5 is a purchase 25 % of the
//! time, a 1 only 1 %; see [`BEHAVIOR_TABLE`]); selection itself carries the group and cluster
//! structure, so an implicit-feedback ranker beats most-popular. Timestamps are uniform over the
//! 90 days from 2026-01-01T00:00:00Z (Unix seconds).
//!
//! **Order.** All of the above is `--order independent`, the default: each interaction is drawn
//! on its own, so the order of a user's history carries no signal. `--order sequential` cuts each
//! user's interactions into sessions in which the next item often follows a fixed transition from
//! the previous one, with strictly increasing timestamps; see [`super::order`].

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use super::order::{Order, Transitions};
use crate::dataset::Behavior;

/// Standard deviation of the Gaussian rating noise.
pub const NOISE_SD: f64 = 0.6;
/// Base of the rating signal.
pub const BASE: f64 = 3.0;
/// The categories, in item order: item `i` has category `CATEGORIES[i % 3]`.
pub const CATEGORIES: [&str; 3] = ["tech", "fashion", "sports"];
/// Item ID prefixes per category.
pub const ITEM_PREFIXES: [&str; 3] = ["TECH", "FASH", "SPRT"];
/// Probability of (view, click, cart, purchase) given the rating 1..=5.
pub const BEHAVIOR_TABLE: [[f64; 4]; 5] = [
    [0.70, 0.25, 0.04, 0.01],
    [0.60, 0.30, 0.07, 0.03],
    [0.45, 0.35, 0.12, 0.08],
    [0.35, 0.33, 0.17, 0.15],
    [0.25, 0.30, 0.20, 0.25],
];
/// 2026-01-01T00:00:00Z.
pub const START_TIME: i64 = 1_767_225_600;
/// Timestamps cover this many seconds (90 days).
pub const TIME_SPAN: i64 = 90 * 86_400;

const DIM: usize = 4;
const CLUSTERS: usize = 4;
const LATENT_SD: f64 = 0.5;
const OWN_AFFINITY: f64 = 0.6;
const CLUSTER_BONUS: f64 = 0.5;
const FAVOURITE_CLUSTER_P: f64 = 0.8;
pub(super) const REPEAT_P: f64 = 0.03;
const ZIPF_EXPONENT: f64 = 0.9;
const GROUP_SHARES: [f64; 3] = [0.40, 0.35, 0.25];

/// The size and seed of a generated data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Number of interactions (rows).
    pub interactions: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// How each user's interactions are ordered.
    pub order: Order,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self { users: 1000, items: 600, interactions: 50_000, seed: 42, order: Order::Independent }
    }
}

/// One generated item.
#[derive(Debug, Clone)]
pub struct Item {
    /// String ID, e.g. `TECH1005`.
    pub id: String,
    /// Index into [`CATEGORIES`].
    pub category: usize,
    pub(super) cluster: usize,
    quality: f64,
    taste: [f64; DIM],
}

/// One generated user.
#[derive(Debug, Clone)]
pub struct User {
    /// String ID, e.g. `U10001`.
    pub id: String,
    /// Interest group, an index into [`CATEGORIES`].
    pub group: usize,
    bias: f64,
    affinity: [f64; 3],
    favourite: [usize; 3],
    taste: [f64; DIM],
    category_cdf: [f64; 3],
    /// Number of interactions this user gets.
    pub activity: usize,
}

/// One generated interaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// Index into [`Generator::users`].
    pub user: u32,
    /// Index into [`Generator::items`].
    pub item: u32,
    /// Rating 1..=5.
    pub rating: u8,
    /// Behaviour type.
    pub behavior: Behavior,
    /// Unix seconds.
    pub timestamp: i64,
    /// The Bayes-optimal prediction `E[rating | signal]`.
    pub oracle: f64,
}

/// Summary statistics of a generation run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GenSummary {
    /// Rows generated.
    pub rows: u64,
    /// Rows repeating a (user, item) pair the user already had.
    pub repeated_pairs: u64,
    /// Mean rating.
    pub mean_rating: f64,
    /// RMSE of the Bayes-optimal predictor `E[rating | signal]` over all rows.
    pub oracle_rmse: f64,
    /// Rows per behaviour: view, click, cart, purchase.
    pub behaviors: [u64; 4],
}

/// A set of item indices with a popularity CDF for sampling.
#[derive(Debug, Clone, Default)]
struct Pool {
    items: Vec<u32>,
    cdf: Vec<f64>,
}

impl Pool {
    fn push(&mut self, item: u32, weight: f64) {
        let last = self.cdf.last().copied().unwrap_or(0.0);
        self.items.push(item);
        self.cdf.push(last + weight);
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Option<u32> {
        let total = *self.cdf.last()?;
        let x = rng.random::<f64>() * total;
        let at = self.cdf.partition_point(|&c| c <= x).min(self.items.len() - 1);
        Some(self.items[at])
    }
}

/// The generator: users and items drawn from the seed, interactions streamed on demand.
#[derive(Debug, Clone)]
pub struct Generator {
    pub(super) config: GenConfig,
    /// All users.
    pub users: Vec<User>,
    /// All items.
    pub items: Vec<Item>,
    all: Pool,
    by_category: [Pool; 3],
    by_cluster: Vec<Pool>,
    /// The item-to-item transitions, in sequential order only.
    pub(super) transitions: Option<Transitions>,
}

pub(super) fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

pub(super) fn normal(mean: f64, sd: f64) -> Normal<f64> {
    Normal::new(mean, sd).unwrap_or_else(|_| unreachable!("constant parameters are valid"))
}

impl Generator {
    /// Draws the users and items for `config`.
    pub fn new(config: GenConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(config.users > 0, "--users must be at least 1");
        anyhow::ensure!(config.items > 0, "--items must be at least 1");
        anyhow::ensure!(
            config.users <= u32::MAX as usize && config.items <= u32::MAX as usize,
            "at most {} users and items",
            u32::MAX
        );
        let mut rng = rng_for(config.seed, 0);
        let latent = normal(0.0, LATENT_SD);
        let quality = normal(0.0, 0.3);

        // Items: category round robin, random ID steps per category, popularity ranks shuffled.
        let mut next_number = [1000u64; 3];
        let mut items = Vec::with_capacity(config.items);
        for i in 0..config.items {
            let category = i % 3;
            next_number[category] += rng.random_range(1..=7);
            items.push(Item {
                id: format!("{}{}", ITEM_PREFIXES[category], next_number[category]),
                category,
                cluster: rng.random_range(0..CLUSTERS),
                quality: quality.sample(&mut rng),
                taste: std::array::from_fn(|_| latent.sample(&mut rng)),
            });
        }
        let mut all = Pool::default();
        let mut by_category: [Pool; 3] = Default::default();
        let mut by_cluster = vec![Pool::default(); 3 * CLUSTERS];
        for (category, pool) in by_category.iter_mut().enumerate() {
            let mut members: Vec<u32> =
                (0..config.items as u32).filter(|&i| i as usize % 3 == category).collect();
            let mut ranks: Vec<usize> = (0..members.len()).collect();
            ranks.shuffle(&mut rng);
            members.sort_unstable_by_key(|&i| ranks[i as usize / 3]);
            for (rank, &item) in members.iter().enumerate() {
                let weight = 1.0 / ((rank + 1) as f64).powf(ZIPF_EXPONENT);
                pool.push(item, weight);
                all.push(item, weight);
                by_cluster[category * CLUSTERS + items[item as usize].cluster].push(item, weight);
            }
        }

        // Activity: log-normal weights, split by largest remainders, at least one each.
        let activity_dist = LogNormal::new(0.0, 0.8)?;
        let weights: Vec<f64> = (0..config.users).map(|_| activity_dist.sample(&mut rng)).collect();
        let activity = split_total(config.interactions, &weights);

        let mut next_user = 10_000u64;
        let mut users = Vec::with_capacity(config.users);
        let cross = normal(-0.1, 0.3);
        let bias = normal(0.0, 0.3);
        for (u, &activity) in activity.iter().enumerate() {
            let mut rng = rng_for(config.seed, 1 + u as u64);
            next_user += rng.random_range(1..=7);
            let x: f64 = rng.random();
            let group = if x < GROUP_SHARES[0] {
                0
            } else if x < GROUP_SHARES[0] + GROUP_SHARES[1] {
                1
            } else {
                2
            };
            let mut affinity = [0.0; 3];
            let mut choice = [0.0; 3];
            let own = rng.random_range(0.6..0.9);
            let split: f64 = rng.random();
            let (a, b) = ((group + 1) % 3, (group + 2) % 3);
            choice[group] = own;
            choice[a] = (1.0 - own) * split;
            choice[b] = (1.0 - own) * (1.0 - split);
            for (c, aff) in affinity.iter_mut().enumerate() {
                *aff = if c == group { OWN_AFFINITY } else { cross.sample(&mut rng) };
            }
            let category_cdf = [choice[0], choice[0] + choice[1], 1.0];
            users.push(User {
                id: format!("U{next_user}"),
                group,
                bias: bias.sample(&mut rng),
                affinity,
                favourite: std::array::from_fn(|_| rng.random_range(0..CLUSTERS)),
                taste: std::array::from_fn(|_| latent.sample(&mut rng)),
                category_cdf,
                activity,
            });
        }
        let transitions = (config.order == Order::Sequential).then(|| {
            Transitions::new(config.seed, items.len(), by_cluster.iter().map(|p| p.items.as_slice()))
        });
        Ok(Self { config, users, items, all, by_category, by_cluster, transitions })
    }

    /// The configuration this generator was built from.
    pub fn config(&self) -> GenConfig {
        self.config
    }

    /// The noise-free rating signal `s` of (user, item).
    pub fn signal(&self, user: usize, item: usize) -> f64 {
        let (u, i) = (&self.users[user], &self.items[item]);
        let cluster = if u.favourite[i.category] == i.cluster { CLUSTER_BONUS } else { 0.0 };
        let dot: f64 = u.taste.iter().zip(&i.taste).map(|(a, b)| a * b).sum();
        BASE + u.bias + i.quality + u.affinity[i.category] + cluster + dot
    }

    pub(super) fn pick_item(&self, user: &User, rng: &mut ChaCha8Rng) -> u32 {
        let x: f64 = rng.random();
        let category = user.category_cdf.iter().position(|&c| x < c).unwrap_or(2);
        let pool = if rng.random_bool(FAVOURITE_CLUSTER_P) {
            &self.by_cluster[category * CLUSTERS + user.favourite[category]]
        } else {
            &self.by_category[category]
        };
        pool.sample(rng)
            .or_else(|| self.by_category[category].sample(rng))
            .or_else(|| self.all.sample(rng))
            .unwrap_or(0)
    }
}

/// Splits `total` in proportion to `weights` by largest remainders, giving each at least one
/// while `total` allows.
fn split_total(total: usize, weights: &[f64]) -> Vec<usize> {
    let n = weights.len();
    let floor = if total >= n { 1 } else { 0 };
    let rest = total - floor * n;
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * rest as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|e| floor + e.floor() as usize).collect();
    let assigned: usize = out.iter().sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(total - assigned) {
        out[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;

    fn collect(config: GenConfig) -> (Vec<Record>, GenSummary) {
        let generator = Arc::new(Generator::new(config).expect("valid config"));
        let mut records = generator.records();
        let rows: Vec<Record> = records.by_ref().collect();
        (rows, records.summary())
    }

    #[test]
    fn same_seed_same_rows_other_seed_other_rows() {
        let config = GenConfig { users: 50, items: 40, interactions: 2000, seed: 7, ..GenConfig::default() };
        let (a, _) = collect(config);
        let (b, _) = collect(config);
        assert_eq!(a, b);
        let (c, _) = collect(GenConfig { seed: 8, ..config });
        assert_ne!(a, c);
        assert_eq!(a.len(), 2000);
    }

    #[test]
    fn ids_are_non_contiguous_and_in_the_seed_style() {
        let generator = Generator::new(GenConfig::default()).expect("valid config");
        assert!(generator.users.iter().all(|u| u.id.starts_with('U') && u.id.len() == 6));
        assert!(generator.items.iter().all(|i| ITEM_PREFIXES.iter().any(|p| i.id.starts_with(p))));
        let numbers: Vec<u64> = generator.users.iter().map(|u| u.id[1..].parse().expect("digits")).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        assert!(numbers.windows(2).any(|w| w[1] - w[0] > 1), "IDs are not contiguous");
        let ids: HashSet<&str> = generator.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), generator.items.len());
    }

    #[test]
    fn default_data_has_the_documented_shape() {
        let (rows, summary) = collect(GenConfig::default());
        assert_eq!(rows.len(), 50_000);
        // The documented best achievable RMSE.
        assert!((0.6..0.68).contains(&summary.oracle_rmse), "{summary:?}");
        // Duplicates exist but are not the norm.
        let share = summary.repeated_pairs as f64 / summary.rows as f64;
        assert!((0.005..0.15).contains(&share), "{summary:?}");
        assert!(rows.iter().all(|r| (1..=5).contains(&r.rating)));
        assert!(rows.iter().all(|r| (START_TIME..START_TIME + TIME_SPAN).contains(&r.timestamp)));
        // Skewed activity: the busiest user has far more rows than the median one.
        let generator = Generator::new(GenConfig::default()).expect("valid config");
        let mut activity: Vec<usize> = generator.users.iter().map(|u| u.activity).collect();
        activity.sort_unstable();
        assert!(activity[activity.len() - 1] > 4 * activity[activity.len() / 2]);
        // Group structure: most interactions fall in the user's own category.
        let own = rows
            .iter()
            .filter(|r| generator.users[r.user as usize].group == generator.items[r.item as usize].category)
            .count();
        assert!(own as f64 / rows.len() as f64 > 0.65);
    }

    #[test]
    fn split_total_is_exact() {
        let parts = split_total(10, &[1.0, 2.0, 3.0, 100.0]);
        assert_eq!(parts.iter().sum::<usize>(), 10);
        assert!(parts.iter().all(|&p| p >= 1));
        assert_eq!(split_total(2, &[1.0, 1.0, 1.0]).iter().sum::<usize>(), 2);
    }
}
