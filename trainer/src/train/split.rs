//! Train/validation splits and K-fold cross-validation.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::SplitKind;
use crate::data::Interaction;

/// A train/validation pair of interaction lists.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Interactions to learn from.
    pub train: Vec<Interaction>,
    /// Held-out interactions for metrics and early stopping.
    pub val: Vec<Interaction>,
}

/// Holds out about `fraction` of each user's interactions: at random, or the latest by
/// timestamp. Every user keeps at least one training interaction.
pub fn per_user(data: &[Interaction], kind: SplitKind, fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_user: Vec<Vec<usize>> = Vec::new();
    for (k, x) in data.iter().enumerate() {
        let u = x.user as usize;
        if by_user.len() <= u {
            by_user.resize_with(u + 1, Vec::new);
        }
        by_user[u].push(k);
    }
    let mut split = Split::default();
    for rows in &mut by_user {
        match kind {
            SplitKind::Random => rows.shuffle(&mut rng),
            SplitKind::Time => rows.sort_by_key(|&k| (std::cmp::Reverse(data[k].timestamp), k)),
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
    fn k_folds_partition_the_data() {
        let data = rows(10, 10);
        let folds = k_folds(&data, 5, 3);
        assert_eq!(folds.len(), 5);
        assert_eq!(folds.iter().map(|f| f.val.len()).sum::<usize>(), 100);
        assert!(folds.iter().all(|f| f.train.len() == 80));
    }
}
