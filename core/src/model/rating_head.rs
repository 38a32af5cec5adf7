//! The rating head (format v2): a rating model stored beside a ranking model, so one artifact
//! ranks with the ranking factors and still reports `predicted_rating` on the rating scale.
//!
//! Its prediction for user `u` and item `i` is
//! `global + user_bias[u] + item_bias[i] + user_factors[u] · item_factors[i]`; a user the head
//! does not know (an anonymous visitor) gets `global + item_bias[i]`.
//!
//! The ranker picks and orders the list, the head rates it, and the two need not agree. A client
//! of the seed's API reads rank 1 as the highest `predicted_rating`, so a list's ratings are made
//! non-increasing in rank by [`non_increasing`]: the closest such sequence in squared error.

use std::borrow::Cow;

use safetensors::{Dtype, SafeTensors};

use crate::format::read::{check_finite, tensor, typed};
use crate::kernel::dot;
use crate::{Error, Result, names};

#[derive(Debug)]
pub(crate) struct RatingHead<'a> {
    pub(crate) dim: usize,
    global: f32,
    user_factors: Cow<'a, [f32]>,
    item_factors: Cow<'a, [f32]>,
    user_bias: Cow<'a, [f32]>,
    item_bias: Cow<'a, [f32]>,
}

const PARTS: [&str; 5] = [
    names::RATING_USER_FACTORS,
    names::RATING_ITEM_FACTORS,
    names::RATING_USER_BIAS,
    names::RATING_ITEM_BIAS,
    names::RATING_GLOBAL_BIAS,
];

impl<'a> RatingHead<'a> {
    /// Reads the optional rating head: all five tensors or none.
    pub(crate) fn load(st: &SafeTensors<'a>, num_users: usize, num_items: usize) -> Result<Option<Self>> {
        let mut present = 0;
        for name in PARTS {
            present += usize::from(tensor(st, name)?.is_some());
        }
        if present == 0 {
            return Ok(None);
        }
        if present != PARTS.len() {
            return Err(Error::Invalid("the rating head's five tensors must come together".into()));
        }
        let dim = match tensor(st, names::RATING_ITEM_FACTORS)?.map(|v| v.shape().to_vec()).as_deref() {
            Some(&[rows, d]) if rows == num_items && (1..=4096).contains(&d) => d,
            other => {
                return Err(Error::Shape {
                    name: names::RATING_ITEM_FACTORS,
                    expected: vec![num_items, 0],
                    got: other.map(<[usize]>::to_vec).unwrap_or_default(),
                });
            }
        };
        let need = |name: &'static str, shape: &[usize]| -> Result<Cow<'a, [f32]>> {
            let v = typed(st, name, Dtype::F32, shape)?.ok_or(Error::MissingTensor(name))?;
            check_finite(name, &v)?;
            Ok(v)
        };
        let head = Self {
            dim,
            user_factors: need(names::RATING_USER_FACTORS, &[num_users, dim])?,
            item_factors: need(names::RATING_ITEM_FACTORS, &[num_items, dim])?,
            user_bias: need(names::RATING_USER_BIAS, &[num_users])?,
            item_bias: need(names::RATING_ITEM_BIAS, &[num_items])?,
            global: need(names::RATING_GLOBAL_BIAS, &[1])?[0],
        };
        Ok(Some(head))
    }

    /// The unclamped predicted rating of `item` for `user` (`None`: an anonymous visitor).
    pub(crate) fn predict(&self, user: Option<usize>, item: usize) -> f32 {
        let d = self.dim;
        let user = user.and_then(|u| {
            Some((self.user_factors.get(u * d..(u + 1) * d)?, self.user_bias.get(u).copied().unwrap_or(0.0)))
        });
        self.predict_for(user, item)
    }

    /// The unclamped predicted rating of `item` for a user given by their head factors and bias
    /// (`None`: an anonymous visitor, or a user the head does not know).
    pub(crate) fn predict_for(&self, user: Option<(&[f32], f32)>, item: usize) -> f32 {
        let d = self.dim;
        let item_part = self.global + self.item_bias.get(item).copied().unwrap_or(0.0);
        match (user, self.item_factors.get(item * d..(item + 1) * d)) {
            (Some((p, bias)), Some(q)) if p.len() == d => item_part + bias + dot(p, q),
            _ => item_part,
        }
    }

    /// The head's factor row and bias of a user in the artifact.
    pub(crate) fn user(&self, user: usize) -> Option<(&[f32], f32)> {
        let d = self.dim;
        Some((self.user_factors.get(user * d..(user + 1) * d)?, *self.user_bias.get(user)?))
    }
}

/// Replaces `ratings` (in rank order) by the non-increasing sequence closest to them in squared
/// error: isotonic regression by pool-adjacent-violators. Each run that breaks the order becomes
/// its mean; a list already in order is unchanged. Deterministic (f64 sums, in order), so native
/// and wasm32 agree bit for bit.
pub(crate) fn non_increasing(ratings: &mut [f32]) {
    // Blocks of (sum, count), each mean no higher than the block before it.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(ratings.len());
    for &r in ratings.iter() {
        let mut block = (f64::from(r), 1);
        while let Some(&(sum, n)) = blocks.last() {
            if sum / n as f64 >= block.0 / block.1 as f64 {
                break;
            }
            blocks.pop();
            block = (block.0 + sum, block.1 + n);
        }
        blocks.push(block);
    }
    let mut at = 0;
    for (sum, n) in blocks {
        let mean = if n == 1 { sum as f32 } else { (sum / n as f64) as f32 };
        ratings[at..at + n].fill(mean);
        at += n;
    }
}

#[cfg(test)]
mod tests {
    use super::non_increasing;

    fn iso(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        non_increasing(&mut v);
        v
    }

    #[test]
    fn ordered_lists_are_unchanged_and_violations_are_pooled() {
        assert_eq!(iso(&[]), Vec::<f32>::new());
        assert_eq!(iso(&[4.5, 4.0, 4.0, 3.0]), vec![4.5, 4.0, 4.0, 3.0]);
        assert_eq!(iso(&[3.75, 4.0]), vec![3.875, 3.875]);
        assert_eq!(iso(&[5.0, 3.0, 4.0, 1.0]), vec![5.0, 3.5, 3.5, 1.0]);
        assert_eq!(iso(&[1.0, 2.0, 3.0]), vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn the_result_is_non_increasing_keeps_the_sum_and_is_closest() {
        let mut state = 0x9e37_79b9_u32;
        for len in 1..40 {
            let v: Vec<f32> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    1.0 + (state % 4000) as f32 / 1000.0
                })
                .collect();
            let out = iso(&v);
            assert!(out.windows(2).all(|w| w[0] >= w[1]), "{out:?}");
            let sum = |x: &[f32]| x.iter().map(|&a| f64::from(a)).sum::<f64>();
            assert!((sum(&v) - sum(&out)).abs() < 1e-3);
            // No non-increasing sequence is closer: try the constant one and small nudges.
            let dist = |x: &[f32]| v.iter().zip(x).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
            let mean = (sum(&v) / len as f64) as f32;
            assert!(dist(&out) <= dist(&vec![mean; len]) + 1e-6);
            for k in 0..len {
                for delta in [-0.01_f32, 0.01] {
                    let mut nudged = out.clone();
                    nudged[k] += delta;
                    if nudged.windows(2).all(|w| w[0] >= w[1]) {
                        assert!(dist(&out) <= dist(&nudged) + 1e-9);
                    }
                }
            }
        }
    }
}
