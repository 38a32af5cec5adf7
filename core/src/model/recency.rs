//! The recency component of a user's vector (format v2): a decayed mean of the factors of the
//! user's latest items, added to the trained user factors.
//!
//! For a user with trained factors `p` and latest items `h₀, h₁, …` (newest first, the
//! request's own interactions ahead of the stored history), the scoring vector is
//!
//! `p + weight · Σₖ decayᵏ·q[hₖ] / Σₖ decayᵏ`, over the first `window` items.
//!
//! The sums run in f32 in one fixed order, so every target computes the same bits.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use crate::format::read::{check_indices, len_1d, tensor, typed};
use crate::model::factors::ItemFactors;
use crate::{Error, Result, names};

/// The largest `recency_window` the loader accepts.
pub const MAX_RECENCY_WINDOW: usize = 1000;

/// The recency settings of a model, as reported by [`crate::Model::info`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RecencyInfo {
    /// The weight of the recency component (0 turns it off).
    pub weight: f32,
    /// The decay per position, in (0, 1].
    pub decay: f32,
    /// How many of the latest items are read.
    pub window: usize,
}

impl RecencyInfo {
    /// Checks the ranges the loader enforces.
    pub fn validate(&self) -> Result<()> {
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(Error::InvalidArgument(format!("recency weight must be ≥ 0, got {}", self.weight)));
        }
        if !(self.decay.is_finite() && self.decay > 0.0 && self.decay <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "recency decay must be in (0, 1], got {}",
                self.decay
            )));
        }
        if self.window == 0 || self.window > MAX_RECENCY_WINDOW {
            return Err(Error::InvalidArgument(format!(
                "recency window must be in 1..={MAX_RECENCY_WINDOW}, got {}",
                self.window
            )));
        }
        Ok(())
    }
}

/// Each user's latest items and the settings that turn them into a vector.
#[derive(Debug)]
pub(crate) struct Recency<'a> {
    pub(crate) info: RecencyInfo,
    /// The window the artifact was written with: no row is longer.
    pub(crate) stored_window: usize,
    indptr: Cow<'a, [u32]>,
    indices: Cow<'a, [u32]>,
}

fn parse<T: std::str::FromStr>(metadata: &HashMap<String, String>, key: &str) -> Result<T> {
    metadata
        .get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Metadata(format!("`{key}` is missing or malformed")))
}

impl<'a> Recency<'a> {
    /// Reads the optional recency part: the two tensors and three metadata keys come together.
    pub(crate) fn load(
        st: &SafeTensors<'a>,
        metadata: &HashMap<String, String>,
        num_users: usize,
        num_items: usize,
    ) -> Result<Option<Self>> {
        let has_tensor =
            tensor(st, names::RECENT_INDPTR)?.is_some() || tensor(st, names::RECENT_INDICES)?.is_some();
        let has_meta = [names::META_RECENCY_WEIGHT, names::META_RECENCY_DECAY, names::META_RECENCY_WINDOW]
            .iter()
            .any(|k| metadata.contains_key(*k));
        if !has_tensor && !has_meta {
            return Ok(None);
        }
        let info = RecencyInfo {
            weight: parse(metadata, names::META_RECENCY_WEIGHT)?,
            decay: parse(metadata, names::META_RECENCY_DECAY)?,
            window: parse(metadata, names::META_RECENCY_WINDOW)?,
        };
        info.validate().map_err(|e| Error::Metadata(e.to_string()))?;
        let indptr: Cow<'_, [u32]> = typed(st, names::RECENT_INDPTR, Dtype::U32, &[num_users + 1])?
            .ok_or(Error::MissingTensor(names::RECENT_INDPTR))?;
        if indptr.first() != Some(&0)
            || indptr.windows(2).any(|w| w[0] > w[1] || (w[1] - w[0]) as usize > info.window)
        {
            return Err(Error::Invalid(format!(
                "`{}` must start at 0, never decrease, and hold at most `{}` items per user",
                names::RECENT_INDPTR,
                names::META_RECENCY_WINDOW
            )));
        }
        let nnz = len_1d(st, names::RECENT_INDICES)?;
        if Some(nnz) != indptr.last().map(|&n| n as usize) {
            return Err(Error::Invalid(format!(
                "`{}` does not end at the length of `{}`",
                names::RECENT_INDPTR,
                names::RECENT_INDICES
            )));
        }
        let indices: Cow<'_, [u32]> = typed(st, names::RECENT_INDICES, Dtype::U32, &[nnz])?
            .ok_or(Error::MissingTensor(names::RECENT_INDICES))?;
        check_indices(names::RECENT_INDICES, &indices, num_items)?;
        Ok(Some(Self { info, stored_window: info.window, indptr, indices }))
    }

    /// A user's stored latest items, newest first.
    pub(crate) fn history(&self, user: usize) -> &[u32] {
        match (self.indptr.get(user), self.indptr.get(user + 1)) {
            (Some(&s), Some(&e)) => self.indices.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Adds the recency component over `items` (newest first) to `out`. Items past the window
    /// are ignored; with no items, or a weight of 0, `out` is unchanged.
    pub(crate) fn add(
        &self,
        items: impl Iterator<Item = usize>,
        item_factors: &ItemFactors<'_>,
        out: &mut [f32],
    ) {
        let RecencyInfo { weight, decay, window } = self.info;
        if weight == 0.0 {
            return;
        }
        let d = out.len();
        let mut acc = vec![0f32; d];
        let mut buf = Vec::new();
        let (mut w, mut total) = (1.0f32, 0.0f32);
        for item in items.take(window) {
            let Some(row) = item_factors.row(item, d, &mut buf) else { continue };
            for (a, &q) in acc.iter_mut().zip(row) {
                *a += w * q;
            }
            total += w;
            w *= decay;
        }
        if total > 0.0 {
            let scale = weight / total;
            for (o, a) in out.iter_mut().zip(&acc) {
                *o += scale * a;
            }
        }
    }
}
