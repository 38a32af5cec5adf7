//! The rating head (format v2): a rating model stored beside a ranking model, so one artifact
//! ranks with the ranking factors and still reports `predicted_rating` on the rating scale.
//!
//! Its prediction for user `u` and item `i` is
//! `global + user_bias[u] + item_bias[i] + user_factors[u] · item_factors[i]`; a user the head
//! does not know (an anonymous visitor) gets `global + item_bias[i]`.

use std::borrow::Cow;

use safetensors::{Dtype, SafeTensors};

use crate::kernel::dot;
use crate::read::{check_finite, tensor, typed};
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
