//! `--objective auto`: whether order in the data is worth a sequence model, and which model
//! ranks best on the inner split.
//!
//! The sequence model costs minutes where the factorisation costs seconds, so it is only tried
//! when the data has order: when a user's previous item predicts their next one better than an
//! earlier item of theirs does. Both guesses use the same item-to-item transition counts of the
//! inner split's training part, so on data without order they are the same guess at a random
//! position, and only the position differs. McNemar's test on the paired hits decides, at
//! p < 0.001: a trial costs minutes, so the evidence must be strong (the generated demo data
//! without order scores χ² 3.1, MovieLens-100k 58.7, the generator's sequential data 364).
//! When it is tried, the two models are scored on the same inner split by the same ruler, and
//! the higher NDCG@10 is kept.

use serde::Serialize;

use crate::train::config::Objective;
use crate::train::sequence::Holdout;

/// χ² with one degree of freedom at p = 0.001.
const CHI2_CRITICAL: f64 = 10.83;
/// How many of a transition's most frequent successors are guessed.
const GUESSES: usize = 10;

/// How much the previous item says about the next, against an earlier item.
#[derive(Debug, Clone, Serialize)]
pub struct OrderSignal {
    /// Users whose next item was guessed.
    pub users: usize,
    /// HR@10 of the previous item's most frequent successors.
    pub hr_previous: f64,
    /// HR@10 of an earlier item's (a fixed, pseudo-random position of each history).
    pub hr_earlier: f64,
    /// McNemar's χ² (with continuity correction) on the paired hits.
    pub chi2: f64,
    /// Whether the previous item is the better guess at p < 0.001.
    pub ordered: bool,
}

/// One model scored on the inner split.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// What was trained.
    pub objective: Objective,
    /// Inner-split HR@10.
    pub hr: f64,
    /// Inner-split NDCG@10.
    pub ndcg: f64,
    /// Seconds of training on the inner split.
    pub seconds: f64,
}

/// What `auto` compared, what it kept and why.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// The models scored (the sequence model only when it was tried).
    pub candidates: Vec<Candidate>,
    /// The model kept.
    pub chosen: Objective,
    /// Why, in words.
    pub reason: String,
    /// The order test (None without timestamps).
    pub order: Option<OrderSignal>,
}

impl Choice {
    /// The same choice with every candidate's training seconds set to 0: what the artifact
    /// records, so that its bytes depend on the data and the seed alone.
    pub fn without_timings(&self) -> Self {
        let candidates = self.candidates.iter().map(|c| Candidate { seconds: 0.0, ..c.clone() }).collect();
        Self { candidates, ..self.clone() }
    }
}

/// A fixed pseudo-random number per user (SplitMix64), so the earlier position is reproducible.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Each item's successors in `histories` (oldest first), most frequent first (ties: the
/// smaller index). Repeats of the same item are not transitions.
fn successors(histories: &[Vec<u32>], items: usize) -> Vec<Vec<u32>> {
    let mut pairs: Vec<(u32, u32)> =
        histories.iter().flat_map(|h| h.windows(2).map(|w| (w[0], w[1]))).filter(|(a, b)| a != b).collect();
    pairs.sort_unstable();
    let mut out: Vec<Vec<(u32, u32)>> = vec![Vec::new(); items];
    for run in pairs.chunk_by(|x, y| x == y) {
        let (a, b) = run[0];
        if let Some(list) = out.get_mut(a as usize) {
            list.push((run.len() as u32, b));
        }
    }
    out.into_iter()
        .map(|mut l| {
            l.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            l.into_iter().map(|(_, b)| b).collect()
        })
        .collect()
}

/// Whether `next` is among the first `GUESSES` successors of `from` not excluded.
fn hit(succ: &[Vec<u32>], from: u32, excluded: &[u32], next: u32) -> bool {
    succ.get(from as usize).is_some_and(|l| {
        l.iter().filter(|i| excluded.binary_search(i).is_err()).take(GUESSES).any(|&i| i == next)
    })
}

/// The order test on the inner split: `histories` are the training part's, `holdout` its next
/// items.
pub fn order_signal(histories: &[Vec<u32>], holdout: &Holdout, items: usize) -> OrderSignal {
    let succ = successors(histories, items);
    let (mut users, mut prev_hits, mut earlier_hits, mut only_prev, mut only_earlier) = (0, 0, 0, 0, 0);
    for (u, (h, excluded, next)) in holdout.users.iter().enumerate() {
        if h.len() < 2 {
            continue;
        }
        users += 1;
        let earlier = h[(mix(u as u64) % (h.len() as u64 - 1)) as usize];
        let (p, e) = (hit(&succ, h[h.len() - 1], excluded, *next), hit(&succ, earlier, excluded, *next));
        prev_hits += usize::from(p);
        earlier_hits += usize::from(e);
        only_prev += usize::from(p && !e);
        only_earlier += usize::from(e && !p);
    }
    let (b, c) = (only_prev as f64, only_earlier as f64);
    let chi2 = if b + c > 0.0 { ((b - c).abs() - 1.0).max(0.0).powi(2) / (b + c) } else { 0.0 };
    let n = users.max(1) as f64;
    OrderSignal {
        users,
        hr_previous: prev_hits as f64 / n,
        hr_earlier: earlier_hits as f64 / n,
        chi2,
        ordered: b > c && chi2 > CHI2_CRITICAL,
    }
}

/// The reason the sequence model was not tried.
pub fn untried(matrix: Objective, order: Option<&OrderSignal>) -> String {
    let name = matrix.name();
    match order {
        None => format!("{name}: the data has no timestamps, so no order for a sequence model to learn"),
        Some(o) => format!(
            "{name}: no order in the data (a user's previous item predicts the next no better than an \
             earlier one: HR@10 {:.4} against {:.4}, McNemar chi2 {:.1} < {CHI2_CRITICAL}); the sequence model \
             was not tried",
            o.hr_previous, o.hr_earlier, o.chi2
        ),
    }
}

/// The model with the higher inner NDCG@10 (the factorisation model keeps ties: it is cheaper to
/// serve and to retrain), and why.
pub fn decide(matrix: &Candidate, seq: &Candidate, out_of_time: bool) -> (Objective, String) {
    let winner = if seq.ndcg > matrix.ndcg { seq } else { matrix };
    let loser = if seq.ndcg > matrix.ndcg { matrix } else { seq };
    let budget = if out_of_time { " (the sequence model stopped at its time budget)" } else { "" };
    let reason = format!(
        "{}: inner NDCG@10 {:.4} against {:.4} for {} (HR@10 {:.4} against {:.4}){budget}",
        winner.objective.name(),
        winner.ndcg,
        loser.ndcg,
        loser.objective.name(),
        winner.hr,
        loser.hr
    );
    (winner.objective, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holdout(histories: &[Vec<u32>], next: &[u32]) -> Holdout {
        let users = histories
            .iter()
            .zip(next)
            .map(|(h, &n)| {
                let mut ex = h.clone();
                ex.sort_unstable();
                ex.dedup();
                (h.clone(), ex, n)
            })
            .collect();
        Holdout { users }
    }

    #[test]
    fn a_fixed_successor_is_order_and_a_shuffle_is_not() {
        // 40 items on a cycle: each user walks 8 steps from their own start, and the next item
        // is the following step.
        let walk = |start: u32, len: u32| (0..len).map(|k| (start + k) % 40).collect::<Vec<u32>>();
        let histories: Vec<Vec<u32>> = (0..400).map(|u| walk(u % 40, 8)).collect();
        let next: Vec<u32> = (0..400).map(|u| (u % 40 + 8) % 40).collect();
        let o = order_signal(&histories, &holdout(&histories, &next), 40);
        assert!(o.ordered && o.hr_previous > 0.9 && o.hr_earlier < 0.1, "{o:?}");

        // The same items in a shuffled order carry no order: the test must not call it ordered.
        let shuffled: Vec<Vec<u32>> = histories
            .iter()
            .enumerate()
            .map(|(u, h)| {
                let mut h = h.clone();
                h.sort_by_key(|&i| mix((u as u64) << 32 | u64::from(i)));
                h
            })
            .collect();
        let o = order_signal(&shuffled, &holdout(&shuffled, &next), 40);
        assert!(!o.ordered, "{o:?}");
    }

    #[test]
    fn ties_keep_the_factorisation_model() {
        let c = |objective, ndcg| Candidate { objective, hr: 0.2, ndcg, seconds: 1.0 };
        assert_eq!(
            decide(&c(Objective::Hybrid, 0.1), &c(Objective::Sequence, 0.1), false).0,
            Objective::Hybrid
        );
        let (o, why) = decide(&c(Objective::Ranking, 0.1), &c(Objective::Sequence, 0.12), true);
        assert_eq!(o, Objective::Sequence);
        assert!(why.starts_with("sequence: inner NDCG@10 0.1200 against 0.1000 for ranking"), "{why}");
        assert!(why.contains("time budget"), "{why}");
    }
}
