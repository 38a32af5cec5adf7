//! Users' histories in time order, and the right-aligned windows the network reads.

use crate::dataset::Interaction;

/// Each user's items, oldest first (ties: the larger item ID is later, as the splits order
/// them), as dense item indices.
pub fn histories(rows: &[Interaction], users: usize, item_rank: &[u32]) -> Vec<Vec<u32>> {
    let mut by_user: Vec<Vec<(i64, u32, u32)>> = vec![Vec::new(); users];
    for x in rows {
        if let Some(h) = by_user.get_mut(x.user as usize) {
            h.push((x.timestamp, item_rank.get(x.item as usize).copied().unwrap_or(0), x.item));
        }
    }
    by_user
        .into_iter()
        .map(|mut h| {
            h.sort_unstable();
            h.into_iter().map(|(_, _, i)| i).collect()
        })
        .collect()
}

/// Writes the latest `len` items of `items` right-aligned into `out` as embedding rows
/// (index + 1), padding the front with 0.
pub fn window(items: &[u32], len: usize, out: &mut Vec<u32>) {
    let take = items.len().min(len);
    out.extend(std::iter::repeat_n(0, len - take));
    out.extend(items[items.len() - take..].iter().map(|&i| i + 1));
}

/// One training example: the inputs and, slot for slot, the next item (both right-aligned;
/// targets are dense item indices, `u32::MAX` where the slot is padding).
pub fn example(items: &[u32], len: usize, inputs: &mut Vec<u32>, targets: &mut Vec<u32>) {
    let n = items.len();
    debug_assert!(n >= 2);
    let take = (n - 1).min(len);
    inputs.extend(std::iter::repeat_n(0, len - take));
    targets.extend(std::iter::repeat_n(u32::MAX, len - take));
    inputs.extend(items[n - 1 - take..n - 1].iter().map(|&i| i + 1));
    targets.extend_from_slice(&items[n - take..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_right_aligned_and_cut_to_the_latest() {
        let mut out = Vec::new();
        window(&[4, 5], 4, &mut out);
        assert_eq!(out, [0, 0, 5, 6]);
        out.clear();
        window(&[1, 2, 3, 4, 5], 3, &mut out);
        assert_eq!(out, [4, 5, 6]);
    }

    #[test]
    fn examples_pair_each_slot_with_the_next_item() {
        let (mut i, mut t) = (Vec::new(), Vec::new());
        example(&[7, 8, 9], 4, &mut i, &mut t);
        assert_eq!(i, [0, 0, 8, 9]);
        assert_eq!(t, [u32::MAX, u32::MAX, 8, 9]);
        let (mut i, mut t) = (Vec::new(), Vec::new());
        example(&[1, 2, 3, 4, 5], 2, &mut i, &mut t);
        assert_eq!(i, [4, 5]);
        assert_eq!(t, [4, 5]);
    }

    #[test]
    fn histories_follow_time_then_item_rank() {
        let row = |user, item, timestamp| Interaction { user, item, rating: 1.0, timestamp, behavior: None };
        let rows = [row(0, 2, 5), row(0, 1, 5), row(0, 0, 9), row(1, 3, 1)];
        let rank = [0, 2, 1, 3];
        let h = histories(&rows, 2, &rank);
        assert_eq!(h[0], [2, 1, 0]);
        assert_eq!(h[1], [3]);
    }
}
