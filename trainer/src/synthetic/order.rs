//! The order of each user's interactions: independent draws (the seed-compatible default) or
//! sessions that follow item-to-item transitions (`--order sequential`).
//!
//! # What order means
//!
//! A user's rows come out in time order in both modes: the `n`-th row the generator produces for
//! a user is that user's `n`-th interaction. With [`Order::Independent`] that order carries no
//! signal: every item is drawn on its own (see [`super::generator`]) and the timestamps are
//! uniform over the 90 days, unsorted. With [`Order::Sequential`] the next item depends on the
//! previous one, and the timestamps put the rows back in the order they were drawn.
//!
//! # The sequential model
//!
//! **Transitions.** At setup, each taste cluster (a category's cluster, as in
//! [`super::generator`]) is laid out as a hidden cycle: its items in a random order, drawn from
//! ChaCha8 stream `2^33` of `--seed`. An item's [`SUCCESSORS`] = 3 successors are the next three
//! items along its cycle (fewer in a cluster of up to three items). So every item has a few fixed
//! "next" items in its own cluster, unrelated to popularity and to the ID order, and the relation
//! has a direction: `b` follows `a` does not mean `a` follows `b`.
//!
//! **Sessions.** Each user's interactions are cut into sessions: a session goes on after each
//! interaction with probability 0.8 (lengths geometric, mean 5, never past the user's total).
//! A session's first interaction is an ordinary draw, exactly as in independent mode. Each later
//! one, with probability **[`FOLLOW_P`] = 0.6**, follows the previous item: one of its successors,
//! the first, second or third with probability 0.6, 0.3, 0.1; if the user already has it, the
//! next successors are tried in turn. When no successor is new (or with probability 0.4) the row
//! is an ordinary draw, repeats and all. About 45 % of the rows follow a transition on the default
//! sizes. The others keep the groups, the clusters and the popularity long tail; transitions
//! ignore popularity, so the tail is somewhat flatter than in independent order.
//!
//! **Time.** Within a session consecutive interactions are 30 s to 10 min apart (uniform);
//! sessions are at least an hour apart, placed at random in the 90 days from
//! [`super::generator::START_TIME`] (they run past the 90 days only for a user with more
//! sessions than fit). Timestamps are strictly increasing per user, so sorting a user's rows by
//! time recovers the order, and a 30-minute inactivity rule recovers the sessions.
//!
//! **Determinism.** Session lengths and times are drawn first from user `u`'s interaction stream
//! (`2^32 + u`), then the items, ratings and behaviours, row by row, from the same stream.
//! Ratings and behaviours are drawn exactly as in independent mode, given the item, so the
//! rating signal and the oracle RMSE mean the same.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::generator::{START_TIME, TIME_SPAN, rng_for};

/// How each user's interactions are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Order {
    /// Every interaction drawn on its own, timestamps uniform over the 90 days: the same rows as
    /// before orders existed, byte for byte for the same seed.
    #[default]
    Independent,
    /// Sessions whose next item follows a hidden item-to-item transition inside its taste
    /// cluster; timestamps strictly increase per user.
    Sequential,
}

impl Order {
    /// The flag value, e.g. `sequential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Independent => "independent",
            Self::Sequential => "sequential",
        }
    }
}

/// Number of fixed successors of each item.
pub const SUCCESSORS: usize = 3;
/// Probability that a session's next interaction follows a transition from the previous item.
pub const FOLLOW_P: f64 = 0.6;
/// Probability of each successor, in cycle order.
const SUCCESSOR_P: [f64; SUCCESSORS] = [0.6, 0.3, 0.1];
/// Probability that a session goes on after an interaction (mean length `1 / (1 - p)` = 5).
const SESSION_GOES_ON_P: f64 = 0.8;
/// Seconds between consecutive interactions of a session.
const STEP_SECONDS: std::ops::RangeInclusive<i64> = 30..=600;
/// Least number of seconds between sessions.
const MIN_GAP_SECONDS: i64 = 3600;
/// The ChaCha stream of the transition cycles: above every per-user stream (`1 + u` and
/// `2^32 + u` for `u < 2^32`).
const TRANSITION_STREAM: u64 = 1 << 33;

/// Each item's fixed successors: the next items along its cluster's hidden cycle.
#[derive(Debug, Clone)]
pub(super) struct Transitions {
    successors: Vec<Vec<u32>>,
}

impl Transitions {
    /// Lays out each cluster (a list of item indices, in a fixed order) as a random cycle.
    pub(super) fn new<'a>(seed: u64, items: usize, clusters: impl IntoIterator<Item = &'a [u32]>) -> Self {
        let mut rng = rng_for(seed, TRANSITION_STREAM);
        let mut successors = vec![Vec::new(); items];
        for cluster in clusters {
            let mut cycle = cluster.to_vec();
            cycle.shuffle(&mut rng);
            let n = cycle.len();
            for (at, &item) in cycle.iter().enumerate() {
                successors[item as usize] =
                    (1..=SUCCESSORS.min(n.saturating_sub(1))).map(|k| cycle[(at + k) % n]).collect();
            }
        }
        Self { successors }
    }

    /// The successors of `item`, most likely first.
    pub fn successors(&self, item: u32) -> &[u32] {
        &self.successors[item as usize]
    }

    /// With probability [`FOLLOW_P`], a successor of `previous` that is not in `seen`.
    pub(super) fn follow(&self, previous: u32, seen: &HashSet<u32>, rng: &mut ChaCha8Rng) -> Option<u32> {
        let next = self.successors(previous);
        if next.is_empty() || !rng.random_bool(FOLLOW_P) {
            return None;
        }
        let x = rng.random::<f64>() * SUCCESSOR_P[..next.len()].iter().sum::<f64>();
        let mut acc = 0.0;
        let first = SUCCESSOR_P.iter().position(|p| {
            acc += p;
            x < acc
        });
        let first = first.unwrap_or(0).min(next.len() - 1);
        (0..next.len()).map(|k| next[(first + k) % next.len()]).find(|item| !seen.contains(item))
    }
}

/// One user's timestamps in sequential order, and where each session starts.
#[derive(Debug, Clone, Default)]
pub(super) struct Timeline {
    rows: Vec<(i64, bool)>,
    at: usize,
}

impl Timeline {
    /// Draws the sessions of `activity` interactions and their timestamps.
    pub(super) fn draw(activity: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut lengths = Vec::new();
        let mut left = activity;
        while left > 0 {
            let mut length = 1;
            while length < left && rng.random_bool(SESSION_GOES_ON_P) {
                length += 1;
            }
            lengths.push(length);
            left -= length;
        }
        let steps: Vec<i64> = (0..activity - lengths.len()).map(|_| rng.random_range(STEP_SECONDS)).collect();
        let sessions = lengths.len() as i64;
        // Random session starts in what the window leaves after the sessions and the least gaps;
        // adding each one's predecessors' lengths and gaps keeps them apart and in order.
        let spare =
            (TIME_SPAN - 1 - steps.iter().sum::<i64>() - (sessions - 1).max(0) * MIN_GAP_SECONDS).max(0);
        let mut starts: Vec<i64> = (0..sessions).map(|_| rng.random_range(0..=spare)).collect();
        starts.sort_unstable();
        let mut rows = Vec::with_capacity(activity);
        let (mut shift, mut steps) = (0, steps.into_iter());
        for (&start, &length) in starts.iter().zip(&lengths) {
            let mut t = START_TIME + start + shift;
            rows.push((t, true));
            for step in steps.by_ref().take(length - 1) {
                t += step;
                rows.push((t, false));
            }
            shift = t - START_TIME - start + MIN_GAP_SECONDS;
        }
        Self { rows, at: 0 }
    }

    /// The next row's timestamp, and whether it starts a session.
    pub(super) fn next(&mut self) -> (i64, bool) {
        let row = self.rows.get(self.at).copied().unwrap_or((START_TIME, true));
        self.at += 1;
        row
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
