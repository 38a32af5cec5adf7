//! The sequence part of a model (format v4): a SASRec-class network (causal self-attention
//! over a user's latest items, one head, learned positions, pre-layer-norm blocks) that turns
//! an ordered list of items into a user vector, and each user's stored history for sessions.
//!
//! The trainer stores each known user's final state as their `user_factors` row, so a plain
//! `recommend` costs what it always has; the core runs the network only for a session (a
//! known user's stored history followed by what they just did) and for anonymous visitors.
//! The state is scored against the item factors with the usual dot product, so ranking,
//! filters and the index are unchanged. [`forward`] holds the pass itself.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};
use serde::Serialize;

use crate::format::read::{check_indices, dtype_name, len_1d, tensor, typed};
use crate::model::Model;
use crate::{Error, Result, names};

mod exp;
mod forward;

/// The most position slots (`seq_max_len`) the loader accepts.
pub const MAX_SEQUENCE_LEN: usize = 4096;
/// The most transformer blocks (`seq_blocks`) the loader accepts.
pub const MAX_SEQUENCE_BLOCKS: usize = 64;

/// The shape of a model's sequence network, as reported by [`Model::info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SequenceInfo {
    /// How many of the latest items the network reads (`L`).
    pub max_len: usize,
    /// Transformer blocks.
    pub blocks: usize,
}

impl SequenceInfo {
    /// Checks the ranges the loader enforces.
    pub fn validate(&self) -> Result<()> {
        if self.max_len == 0 || self.max_len > MAX_SEQUENCE_LEN {
            return Err(Error::InvalidArgument(format!(
                "sequence max_len must be in 1..={MAX_SEQUENCE_LEN}, got {}",
                self.max_len
            )));
        }
        if self.blocks == 0 || self.blocks > MAX_SEQUENCE_BLOCKS {
            return Err(Error::InvalidArgument(format!(
                "sequence blocks must be in 1..={MAX_SEQUENCE_BLOCKS}, got {}",
                self.blocks
            )));
        }
        Ok(())
    }
}

/// One block's weights, named as in [`names::SEQ_BLOCK_PARTS`]; `*_w` are `[d, d]` (in × out),
/// the others `[d]`.
#[derive(Debug)]
pub(crate) struct Block<'a> {
    pub(crate) ln1_g: Cow<'a, [f32]>,
    pub(crate) ln1_b: Cow<'a, [f32]>,
    pub(crate) q_w: Cow<'a, [f32]>,
    pub(crate) q_b: Cow<'a, [f32]>,
    pub(crate) k_w: Cow<'a, [f32]>,
    pub(crate) k_b: Cow<'a, [f32]>,
    pub(crate) v_w: Cow<'a, [f32]>,
    pub(crate) v_b: Cow<'a, [f32]>,
    pub(crate) o_w: Cow<'a, [f32]>,
    pub(crate) o_b: Cow<'a, [f32]>,
    pub(crate) ln2_g: Cow<'a, [f32]>,
    pub(crate) ln2_b: Cow<'a, [f32]>,
    pub(crate) ff1_w: Cow<'a, [f32]>,
    pub(crate) ff1_b: Cow<'a, [f32]>,
    pub(crate) ff2_w: Cow<'a, [f32]>,
    pub(crate) ff2_b: Cow<'a, [f32]>,
}

impl<'a> Block<'a> {
    /// The block from its 16 tensors in [`names::SEQ_BLOCK_PARTS`] order.
    fn from_parts(parts: Vec<Cow<'a, [f32]>>) -> Option<Self> {
        let [ln1_g, ln1_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln2_g, ln2_b, ff1_w, ff1_b, ff2_w, ff2_b]: [_; 16] =
            parts.try_into().ok()?;
        Some(Self {
            ln1_g,
            ln1_b,
            q_w,
            q_b,
            k_w,
            k_b,
            v_w,
            v_b,
            o_w,
            o_b,
            ln2_g,
            ln2_b,
            ff1_w,
            ff1_b,
            ff2_w,
            ff2_b,
        })
    }
}

/// The loaded network and each user's stored history (oldest first).
#[derive(Debug)]
pub(crate) struct Sequence<'a> {
    pub(crate) info: SequenceInfo,
    pub(crate) dim: usize,
    /// `[max_len, dim]`.
    pub(crate) positions: Cow<'a, [f32]>,
    pub(crate) blocks: Vec<Block<'a>>,
    pub(crate) final_g: Cow<'a, [f32]>,
    pub(crate) final_b: Cow<'a, [f32]>,
    indptr: Cow<'a, [u32]>,
    indices: Cow<'a, [u32]>,
}

/// A finite `F32` tensor of exactly `shape`, under a name built at run time.
fn floats<'a>(st: &SafeTensors<'a>, name: &str, shape: &[usize]) -> Result<Cow<'a, [f32]>> {
    let view = match st.tensor(name) {
        Ok(view) => view,
        Err(safetensors::SafeTensorError::TensorNotFound(_)) => {
            return Err(Error::Invalid(format!("the sequence part is missing tensor `{name}`")));
        }
        Err(e) => return Err(Error::Format(e.to_string())),
    };
    if view.dtype() != Dtype::F32 {
        return Err(Error::Invalid(format!(
            "tensor `{name}` has dtype {}, expected F32",
            dtype_name(view.dtype())
        )));
    }
    if view.shape() != shape {
        return Err(Error::Invalid(format!(
            "tensor `{name}` has shape {:?}, expected {shape:?}",
            view.shape()
        )));
    }
    let data = view.data();
    let values: Cow<'a, [f32]> = match bytemuck::try_cast_slice::<u8, f32>(data) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytemuck::pod_collect_to_vec(data)),
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!("`{name}` holds a non-finite value at {i}")));
    }
    Ok(values)
}

fn meta_usize(metadata: &HashMap<String, String>, key: &str) -> Result<usize> {
    metadata
        .get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Metadata(format!("`{key}` is missing or malformed")))
}

impl<'a> Sequence<'a> {
    /// Whether the artifact has any part of a sequence network (a key or a `seq.` tensor).
    pub(crate) fn present(st: &SafeTensors<'_>, metadata: &HashMap<String, String>) -> bool {
        metadata.contains_key(names::META_SEQ_MAX_LEN)
            || metadata.contains_key(names::META_SEQ_BLOCKS)
            || st.names().iter().any(|n| n.starts_with("seq."))
    }

    /// Reads and checks the sequence part: both keys, every tensor (shapes against `dim` and
    /// `seq_max_len`, finite values), and the history (rows of at most `seq_max_len` items in
    /// range). No other `seq.` tensor may be present.
    pub(crate) fn load(
        st: &SafeTensors<'a>,
        metadata: &HashMap<String, String>,
        num_users: usize,
        num_items: usize,
        dim: usize,
    ) -> Result<Self> {
        let info = SequenceInfo {
            max_len: meta_usize(metadata, names::META_SEQ_MAX_LEN)?,
            blocks: meta_usize(metadata, names::META_SEQ_BLOCKS)?,
        };
        info.validate().map_err(|e| Error::Metadata(e.to_string()))?;
        let mut expected: Vec<String> = [
            names::SEQ_POSITIONS,
            names::SEQ_FINAL_G,
            names::SEQ_FINAL_B,
            names::SEQ_HISTORY_INDPTR,
            names::SEQ_HISTORY_INDICES,
        ]
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
        let mut blocks = Vec::with_capacity(info.blocks);
        for k in 0..info.blocks {
            let mut parts = Vec::with_capacity(names::SEQ_BLOCK_PARTS.len());
            for (part, matrix) in names::SEQ_BLOCK_PARTS {
                let name = names::seq_block_tensor(k, part);
                let shape = if matrix { vec![dim, dim] } else { vec![dim] };
                parts.push(floats(st, &name, &shape)?);
                expected.push(name);
            }
            blocks.push(Block::from_parts(parts).ok_or_else(|| Error::Invalid("bad block".into()))?);
        }
        if let Some(stray) =
            st.names().into_iter().find(|n| n.starts_with("seq.") && !expected.iter().any(|e| e == *n))
        {
            return Err(Error::Invalid(format!(
                "unexpected tensor `{stray}` in a sequence part of {} blocks",
                info.blocks
            )));
        }
        let positions = floats(st, names::SEQ_POSITIONS, &[info.max_len, dim])?;
        let final_g = floats(st, names::SEQ_FINAL_G, &[dim])?;
        let final_b = floats(st, names::SEQ_FINAL_B, &[dim])?;

        let indptr: Cow<'_, [u32]> = typed(st, names::SEQ_HISTORY_INDPTR, Dtype::U32, &[num_users + 1])?
            .ok_or(Error::MissingTensor(names::SEQ_HISTORY_INDPTR))?;
        if let Some(u) = indptr.windows(2).position(|w| w[0] > w[1] || (w[1] - w[0]) as usize > info.max_len)
        {
            return Err(Error::Invalid(format!(
                "`{}` row {u} decreases or holds more than `{}` = {} items",
                names::SEQ_HISTORY_INDPTR,
                names::META_SEQ_MAX_LEN,
                info.max_len
            )));
        }
        if indptr.first() != Some(&0) {
            return Err(Error::Invalid(format!("`{}` must start at 0", names::SEQ_HISTORY_INDPTR)));
        }
        if tensor(st, names::SEQ_HISTORY_INDICES)?.is_none() {
            return Err(Error::MissingTensor(names::SEQ_HISTORY_INDICES));
        }
        let nnz = len_1d(st, names::SEQ_HISTORY_INDICES)?;
        if Some(nnz) != indptr.last().map(|&n| n as usize) {
            return Err(Error::Invalid(format!(
                "`{}` does not end at the length of `{}`",
                names::SEQ_HISTORY_INDPTR,
                names::SEQ_HISTORY_INDICES
            )));
        }
        let indices: Cow<'_, [u32]> = typed(st, names::SEQ_HISTORY_INDICES, Dtype::U32, &[nnz])?
            .ok_or(Error::MissingTensor(names::SEQ_HISTORY_INDICES))?;
        check_indices(names::SEQ_HISTORY_INDICES, &indices, num_items)?;
        Ok(Self { info, dim, positions, blocks, final_g, final_b, indptr, indices })
    }

    /// A user's stored history, oldest first (empty for an index out of range).
    pub(crate) fn history(&self, user: usize) -> &[u32] {
        match (self.indptr.get(user), self.indptr.get(user + 1)) {
            (Some(&s), Some(&e)) => self.indices.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl Model<'_> {
    /// The output of the sequence network over `items` (item indices, oldest first; only the
    /// latest `max_len` are read): the vector that is scored against the item factors, as a
    /// known user's stored vector is. The same bits on every target.
    ///
    /// Errors when the model has no sequence part, `items` is empty, or an index is out of
    /// range.
    pub fn sequence_state(&self, items: &[usize]) -> Result<Vec<f32>> {
        let Some(seq) = &self.sequence else {
            return Err(Error::InvalidArgument("this model has no sequence part".into()));
        };
        seq.state(items, &self.item_factors, false)
    }

    /// A user's stored history for the sequence network, oldest first (empty when the model
    /// has no sequence part or the index is out of range).
    pub fn sequence_history(&self, user: usize) -> &[u32] {
        self.sequence.as_ref().map_or(&[], |s| s.history(user))
    }

    /// The sequence state of a stored `history` followed by `session` (item indices, both
    /// oldest first), if the model has a sequence part.
    pub(crate) fn state_after(&self, history: &[u32], session: &[usize]) -> Option<Result<Vec<f32>>> {
        let seq = self.sequence.as_ref()?;
        let l = seq.info.max_len;
        // Only the latest L items are read: skip what the session pushes out of the window.
        let from_history = l.saturating_sub(session.len()).min(history.len());
        let items: Vec<usize> = history[history.len() - from_history..]
            .iter()
            .map(|&i| i as usize)
            .chain(session.iter().copied())
            .collect();
        Some(seq.state(&items, &self.item_factors, false))
    }
}
