//! The stream of generated interactions, and the Bayes-optimal rating predictor that gives the
//! data's best achievable RMSE (see [`super::generator`] for the model).

use std::collections::HashSet;
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::generator::{
    BEHAVIOR_TABLE, GenSummary, Generator, NOISE_SD, REPEAT_P, Record, START_TIME, TIME_SPAN, User, normal,
    rng_for,
};
use super::order::Timeline;
use crate::dataset::Behavior;

/// The interactions of a [`Generator`], in user order.
#[derive(Debug)]
pub struct Records {
    generator: Arc<Generator>,
    next_user: usize,
    user: usize,
    left: usize,
    rng: ChaCha8Rng,
    seen: HashSet<u32>,
    /// Sequential order only: the user's timestamps and sessions, and the previous item.
    timeline: Timeline,
    previous: Option<u32>,
    noise: Normal<f64>,
    summary: GenSummary,
    rating_sum: f64,
    sq_err: f64,
}

impl Records {
    /// Statistics of the rows produced so far.
    pub fn summary(&self) -> GenSummary {
        let mut summary = self.summary.clone();
        if summary.rows > 0 {
            summary.mean_rating = self.rating_sum / summary.rows as f64;
            summary.oracle_rmse = (self.sq_err / summary.rows as f64).sqrt();
        }
        summary
    }

    /// The generator these records come from.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }
}

impl Iterator for Records {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let generator = &*self.generator;
        while self.left == 0 {
            let u = self.next_user;
            let user = generator.users.get(u)?;
            self.next_user += 1;
            self.user = u;
            self.left = user.activity;
            self.rng = rng_for(generator.config.seed, (1 << 32) + u as u64);
            self.seen.clear();
            self.previous = None;
            if generator.transitions.is_some() {
                self.timeline = Timeline::draw(user.activity, &mut self.rng);
            }
        }
        self.left -= 1;
        let (u, user, rng) = (self.user, &generator.users[self.user], &mut self.rng);
        let (item, timestamp) = match &generator.transitions {
            None => (ordinary_draw(generator, user, &self.seen, rng), None),
            Some(transitions) => {
                let (timestamp, starts_session) = self.timeline.next();
                let followed = match self.previous {
                    Some(previous) if !starts_session => transitions.follow(previous, &self.seen, rng),
                    _ => None,
                };
                (followed.unwrap_or_else(|| ordinary_draw(generator, user, &self.seen, rng)), Some(timestamp))
            }
        };
        self.previous = Some(item);
        if !self.seen.insert(item) {
            self.summary.repeated_pairs += 1;
        }
        let s = generator.signal(u, item as usize);
        let rating = (s + self.noise.sample(rng)).round().clamp(1.0, 5.0) as u8;
        let oracle = expected_rating(s, NOISE_SD);
        let x: f64 = rng.random();
        let mut acc = 0.0;
        let mut kind = 3;
        for (k, p) in BEHAVIOR_TABLE[usize::from(rating) - 1].iter().enumerate() {
            acc += p;
            if x < acc {
                kind = k;
                break;
            }
        }
        let behavior = [Behavior::View, Behavior::Click, Behavior::Cart, Behavior::Purchase][kind];
        self.summary.rows += 1;
        self.summary.behaviors[kind] += 1;
        self.rating_sum += f64::from(rating);
        self.sq_err += (f64::from(rating) - oracle).powi(2);
        Some(Record {
            user: u as u32,
            item,
            rating,
            behavior,
            // Drawn last in independent order, as it always was, so those rows stay the same.
            timestamp: timestamp.unwrap_or_else(|| START_TIME + rng.random_range(0..TIME_SPAN)),
            oracle,
        })
    }
}

/// An item drawn by the user's tastes and popularity: new to the user (up to 8 tries), except
/// that a share of [`REPEAT_P`] deliberately comes back to one already seen.
fn ordinary_draw(generator: &Generator, user: &User, seen: &HashSet<u32>, rng: &mut ChaCha8Rng) -> u32 {
    let mut item = generator.pick_item(user, rng);
    let want_seen = !seen.is_empty() && rng.random_bool(REPEAT_P);
    for _ in 0..8 {
        if seen.contains(&item) == want_seen {
            break;
        }
        item = generator.pick_item(user, rng);
    }
    item
}

/// `E[clamp(round(s + ε), 1, 5)]` for `ε ~ N(0, sd²)`.
pub fn expected_rating(s: f64, sd: f64) -> f64 {
    let cdf = |x: f64| normal_cdf((x - s) / sd);
    let mut expected = 0.0;
    let mut below = 0.0;
    for k in 1..=5 {
        let upper = if k == 5 { 1.0 } else { cdf(f64::from(k) + 0.5) };
        expected += f64::from(k) * (upper - below);
        below = upper;
    }
    expected
}

/// Standard normal CDF via `erfc` (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let erfc = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { 1.0 - 0.5 * erfc } else { 0.5 * erfc }
}

impl Generator {
    /// Every interaction, user by user, as an iterator that also keeps a [`GenSummary`].
    pub fn records(self: &Arc<Self>) -> Records {
        Records {
            generator: Arc::clone(self),
            next_user: 0,
            user: 0,
            left: 0,
            rng: rng_for(self.config.seed, 1 << 32),
            seen: HashSet::new(),
            timeline: Timeline::default(),
            previous: None,
            noise: normal(0.0, NOISE_SD),
            summary: GenSummary::default(),
            rating_sum: 0.0,
            sq_err: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_rating_matches_limits() {
        assert!((expected_rating(3.0, 0.6) - 3.0).abs() < 1e-6);
        assert!(expected_rating(10.0, 0.6) > 4.999);
        assert!(expected_rating(-10.0, 0.6) < 1.001);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    /// FNV-1a over the CSV lines of `config`'s rows.
    fn csv_fingerprint(config: super::super::generator::GenConfig) -> u64 {
        let generator = Arc::new(Generator::new(config).expect("valid config"));
        let mut buf = Vec::new();
        for r in generator.records() {
            super::super::csv::push_line(&mut buf, &generator, &r, b',', true);
        }
        buf.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    /// The default data, byte for byte: the snapshot tests and the demo's thresholds depend on it,
    /// so a change to the generator must leave this stream alone.
    #[test]
    fn default_rows_are_seed_compatible() {
        let config = super::super::generator::GenConfig::default();
        assert_eq!(csv_fingerprint(config), 0x90f2_55c6_c6a4_d668, "default rows changed");
    }
}
