//! Train/validation splits and K-fold cross-validation.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::experiment::{Experiment, SplitKind};
use crate::dataset::{Dataset, Interaction};

/// A train/validation pair of interaction lists.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Interactions to learn from.
    pub train: Vec<Interaction>,
    /// Held-out interactions for metrics and early stopping.
    pub val: Vec<Interaction>,
}

/// The row indices of each user's interactions, by dense user index.
fn rows_by_user(data: &[Interaction]) -> Vec<Vec<usize>> {
    let mut by_user: Vec<Vec<usize>> = Vec::new();
    for (k, x) in data.iter().enumerate() {
        let u = x.user as usize;
        if by_user.len() <= u {
            by_user.resize_with(u + 1, Vec::new);
        }
        by_user[u].push(k);
    }
    by_user
}

/// Holds out about `fraction` of each user's interactions: at random, or the latest by
/// timestamp. Every user keeps at least one training interaction.
pub fn per_user(data: &[Interaction], kind: SplitKind, fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_user = rows_by_user(data);
    let mut split = Split::default();
    for rows in &mut by_user {
        if kind == SplitKind::Time {
            rows.sort_by_key(|&k| (std::cmp::Reverse(data[k].timestamp), k));
        } else {
            rows.shuffle(&mut rng);
        }
        // Expected held-out count n·fraction, rounded randomly so small users are fair.
        let n = rows.len();
        let want = n as f64 * fraction;
        let mut held = want.floor() as usize + usize::from(rng.random::<f64>() < want.fract());
        held = held.min(n.saturating_sub(1));
        split.val.extend(rows[..held].iter().map(|&k| data[k]));
        split.train.extend(rows[held..].iter().map(|&k| data[k]));
    }
    split
}

/// Each item's position in ID order, comparing IDs as integers when both are integers (so
/// MovieLens's `999` comes before `1000`): the tie-break "the larger item ID is later" for
/// interactions with equal timestamps.
pub fn item_id_rank(data: &Dataset) -> Vec<u32> {
    let key = |id: &str| id.parse::<u64>().ok();
    let mut order: Vec<usize> = (0..data.num_items()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&data.item_ids[a], &data.item_ids[b]);
        match (key(x), key(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.cmp(y),
        }
    });
    let mut rank = vec![0u32; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i] = pos as u32;
    }
    rank
}

/// Whether the interactions carry usable timestamps (not all equal).
pub fn has_timestamps(data: &[Interaction]) -> bool {
    data.first().is_some_and(|f| data.iter().any(|x| x.timestamp != f.timestamp))
}

/// Holds out each user's latest `n` interactions (by timestamp, ties: the larger item ID is
/// later). Every user keeps at least one training interaction.
pub fn last_n(data: &[Interaction], n: usize, item_rank: &[u32]) -> Split {
    let mut by_user = rows_by_user(data);
    let mut split = Split::default();
    for rows in &mut by_user {
        rows.sort_by_key(|&k| (data[k].timestamp, item_rank.get(data[k].item as usize).copied(), k));
        let held = n.min(rows.len().saturating_sub(1));
        let cut = rows.len() - held;
        split.train.extend(rows[..cut].iter().map(|&k| data[k]));
        split.val.extend(rows[cut..].iter().map(|&k| data[k]));
    }
    split
}

/// A global time cut: the latest `fraction` of all interactions (by timestamp, ties by item
/// ID) is held out, whoever made them. Users first seen after the cut are unknown to a model
/// trained on the rest; evaluation skips them and says how many.
pub fn global_time(data: &[Interaction], fraction: f64, item_rank: &[u32]) -> Split {
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&k| (data[k].timestamp, item_rank.get(data[k].item as usize).copied(), k));
    let held = ((data.len() as f64 * fraction).round() as usize).min(data.len().saturating_sub(1));
    let cut = data.len() - held;
    Split {
        train: order[..cut].iter().map(|&k| data[k]).collect(),
        val: order[cut..].iter().map(|&k| data[k]).collect(),
    }
}

/// The evaluation split the experiment asks for.
pub fn outer(data: &[Interaction], exp: &Experiment, item_rank: &[u32]) -> Split {
    let (kind, fraction, holdout, seed) = (exp.split(), exp.val_fraction(), exp.holdout(), exp.seed());
    match kind {
        SplitKind::Random | SplitKind::Time => per_user(data, kind, fraction, seed),
        SplitKind::Last => last_n(data, holdout, item_rank),
        SplitKind::Auto if has_timestamps(data) => last_n(data, holdout, item_rank),
        SplitKind::Auto => per_user(data, SplitKind::Random, fraction, seed),
        SplitKind::Global => global_time(data, fraction, item_rank),
        SplitKind::None => Split { train: data.to_vec(), val: Vec::new() },
    }
}

/// The inner validation split of training data, for early stopping and tuning. It mirrors the
/// evaluation protocol: after a random evaluation split, a random 10 % per user; otherwise each
/// user's latest interaction when there are timestamps (else a random 10 %).
pub fn inner(train: &[Interaction], outer: SplitKind, seed: u64, item_rank: &[u32]) -> Split {
    if outer != SplitKind::Random && has_timestamps(train) {
        last_n(train, 1, item_rank)
    } else {
        per_user(train, SplitKind::Random, 0.1, seed ^ 0x1111)
    }
}

/// K random folds over all interactions (Surprise's protocol): fold `f` validates on the
/// `f`-th part and trains on the rest.
pub fn k_folds(data: &[Interaction], k: usize, seed: u64) -> Vec<Split> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut rng);
    (0..k)
        .map(|f| {
            let mut split = Split::default();
            for (pos, &row) in order.iter().enumerate() {
                if pos % k == f {
                    split.val.push(data[row]);
                } else {
                    split.train.push(data[row]);
                }
            }
            split
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(users: u32, per_user: u32) -> Vec<Interaction> {
        (0..users)
            .flat_map(|u| {
                (0..per_user).map(move |i| Interaction {
                    user: u,
                    item: i,
                    rating: 3.0,
                    timestamp: i64::from(i),
                    behavior: None,
                })
            })
            .collect()
    }

    #[test]
    fn per_user_split_keeps_everyone_in_train_and_is_deterministic() {
        let data = rows(50, 10);
        let a = per_user(&data, SplitKind::Random, 0.2, 7);
        let b = per_user(&data, SplitKind::Random, 0.2, 7);
        assert_eq!(a.val, b.val);
        assert_eq!(a.train.len() + a.val.len(), data.len());
        assert_eq!(a.val.len(), 100);
        for u in 0..50 {
            assert!(a.train.iter().any(|x| x.user == u));
        }
    }

    #[test]
    fn time_split_holds_out_the_latest() {
        let data = rows(3, 10);
        let s = per_user(&data, SplitKind::Time, 0.3, 1);
        assert!(s.val.iter().all(|x| x.timestamp >= 7));
        assert_eq!(s.val.len(), 9);
    }

    #[test]
    fn last_n_holds_out_the_latest_and_breaks_ties_by_item_id() {
        let mut data = rows(4, 6);
        // Two interactions at the latest time for user 0: item 5 (larger ID) counts as later.
        data[4].timestamp = 5;
        let rank: Vec<u32> = (0..6).collect();
        let s = last_n(&data, 1, &rank);
        assert_eq!(s.val.len(), 4);
        assert!(s.val.iter().all(|x| x.item == 5));
        let s2 = last_n(&data, 2, &rank);
        assert_eq!(s2.val.len(), 8);
        assert!(s2.val.iter().all(|x| x.item >= 4));
        // A user with one interaction keeps it for training.
        let one = rows(1, 1);
        assert_eq!(last_n(&one, 1, &rank).train.len(), 1);
    }

    #[test]
    fn global_time_cut_holds_out_the_latest_share() {
        let data = rows(5, 10);
        let rank: Vec<u32> = (0..10).collect();
        let s = global_time(&data, 0.2, &rank);
        assert_eq!(s.val.len(), 10);
        let cut = s.train.iter().map(|x| x.timestamp).max().unwrap();
        assert!(s.val.iter().all(|x| x.timestamp >= cut));
    }

    #[test]
    fn k_folds_partition_the_data() {
        let data = rows(10, 10);
        let folds = k_folds(&data, 5, 3);
        assert_eq!(folds.len(), 5);
        assert_eq!(folds.iter().map(|f| f.val.len()).sum::<usize>(), 100);
        assert!(folds.iter().all(|f| f.train.len() == 80));
    }
}
