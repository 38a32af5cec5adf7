//! The sequence part of an artifact (format v4), as the trainer hands it to the builder.

use safetensors::Dtype;

use super::ModelBuilder;
use super::sections::Csr;
use crate::model::sequence::SequenceInfo;
use crate::{Error, Result, names};

/// One transformer block of the sequence network. Weights (`*_w`) are row-major `[dim, dim]`,
/// stored in × out (`y[o] = Σᵢ x[i]·w[i·dim + o] + b[o]`); the others are `[dim]`.
#[derive(Debug, Clone, Default)]
pub struct SequenceBlock {
    /// First layer norm's gain.
    pub ln1_g: Vec<f32>,
    /// First layer norm's bias.
    pub ln1_b: Vec<f32>,
    /// Query projection.
    pub q_w: Vec<f32>,
    /// Query bias.
    pub q_b: Vec<f32>,
    /// Key projection.
    pub k_w: Vec<f32>,
    /// Key bias.
    pub k_b: Vec<f32>,
    /// Value projection.
    pub v_w: Vec<f32>,
    /// Value bias.
    pub v_b: Vec<f32>,
    /// Attention output projection.
    pub o_w: Vec<f32>,
    /// Attention output bias.
    pub o_b: Vec<f32>,
    /// Second layer norm's gain.
    pub ln2_g: Vec<f32>,
    /// Second layer norm's bias.
    pub ln2_b: Vec<f32>,
    /// First feed-forward layer (ReLU after it).
    pub ff1_w: Vec<f32>,
    /// First feed-forward bias.
    pub ff1_b: Vec<f32>,
    /// Second feed-forward layer.
    pub ff2_w: Vec<f32>,
    /// Second feed-forward bias.
    pub ff2_b: Vec<f32>,
}

impl SequenceBlock {
    /// The parts in [`names::SEQ_BLOCK_PARTS`] order.
    fn parts(&self) -> [&[f32]; 16] {
        [
            &self.ln1_g,
            &self.ln1_b,
            &self.q_w,
            &self.q_b,
            &self.k_w,
            &self.k_b,
            &self.v_w,
            &self.v_b,
            &self.o_w,
            &self.o_b,
            &self.ln2_g,
            &self.ln2_b,
            &self.ff1_w,
            &self.ff1_b,
            &self.ff2_w,
            &self.ff2_b,
        ]
    }
}

/// A sequence network (format v4; see `docs/ARTIFACT.md`) and each user's history for it, in
/// the trainer's own user and item order. The item embeddings are the model's item factors.
#[derive(Debug, Clone)]
pub struct SequenceParts {
    /// `L`: how many of the latest items the network reads.
    pub max_len: usize,
    /// The transformer blocks, first to last.
    pub blocks: Vec<SequenceBlock>,
    /// Row-major `[max_len, dim]` position rows; the newest item sits at the last.
    pub positions: Vec<f32>,
    /// Final layer norm's gain, `[dim]`.
    pub final_g: Vec<f32>,
    /// Final layer norm's bias, `[dim]`.
    pub final_b: Vec<f32>,
    /// `history[u]`: user `u`'s item indices, oldest first; only the latest `max_len` are kept.
    pub history: Vec<Vec<u32>>,
}

/// The sequence tensors in the sorted index space, ready to serialise.
pub(super) struct SequenceTensors<'s> {
    /// `(name, shape, values)` of every float tensor.
    pub(super) floats: Vec<(String, Vec<usize>, &'s [f32])>,
    pub(super) history: Csr<u32>,
}

impl ModelBuilder {
    /// Checks the sequence part and permutes its history, if the model has one.
    pub(super) fn sequence_tensors(
        &self,
        user_order: &[usize],
        item_rank: &[u32],
    ) -> Result<Option<SequenceTensors<'_>>> {
        let Some(seq) = &self.sequence else { return Ok(None) };
        let bad = |m: String| Err(Error::InvalidArgument(m));
        let (d, l, nu) = (self.dim, seq.max_len, self.user_ids.len());
        SequenceInfo { max_len: l, blocks: seq.blocks.len() }.validate()?;
        if self.recency.is_some() {
            return bad("a model with a sequence part carries no recency component".into());
        }
        let mut floats: Vec<(String, Vec<usize>, &[f32])> = vec![
            (names::SEQ_POSITIONS.to_owned(), vec![l, d], &seq.positions),
            (names::SEQ_FINAL_G.to_owned(), vec![d], &seq.final_g),
            (names::SEQ_FINAL_B.to_owned(), vec![d], &seq.final_b),
        ];
        for (k, block) in seq.blocks.iter().enumerate() {
            for ((part, matrix), values) in names::SEQ_BLOCK_PARTS.iter().zip(block.parts()) {
                let shape = if *matrix { vec![d, d] } else { vec![d] };
                floats.push((names::seq_block_tensor(k, part), shape, values));
            }
        }
        for (name, shape, values) in &floats {
            let want: usize = shape.iter().product();
            if values.len() != want {
                return bad(format!("{name} has {} values, expected {want}", values.len()));
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return bad(format!("{name} holds a non-finite value at {i}"));
            }
        }
        if seq.history.len() != nu {
            return bad(format!("sequence history has {} users, expected {nu}", seq.history.len()));
        }
        let mut indptr = vec![0u32; nu + 1];
        let mut entries = Vec::new();
        for (k, &o) in user_order.iter().enumerate() {
            let row = &seq.history[o];
            for &i in &row[row.len().saturating_sub(l)..] {
                let Some(&i2) = item_rank.get(i as usize) else {
                    return bad(format!("sequence history item {i} is out of range"));
                };
                entries.push(i2);
            }
            indptr[k + 1] = u32::try_from(entries.len())
                .map_err(|_| Error::InvalidArgument("sequence history too long".into()))?;
        }
        Ok(Some(SequenceTensors { floats, history: Csr { indptr, entries } }))
    }
}

impl SequenceTensors<'_> {
    /// Every tensor as `(name, dtype, shape, bytes)`.
    pub(super) fn views(&self) -> Vec<(&str, Dtype, Vec<usize>, &[u8])> {
        let mut out: Vec<(&str, Dtype, Vec<usize>, &[u8])> = self
            .floats
            .iter()
            .map(|(n, shape, v)| (n.as_str(), Dtype::F32, shape.clone(), bytemuck::cast_slice(v)))
            .collect();
        let h = &self.history;
        out.push((
            names::SEQ_HISTORY_INDPTR,
            Dtype::U32,
            vec![h.indptr.len()],
            bytemuck::cast_slice(&h.indptr),
        ));
        out.push((
            names::SEQ_HISTORY_INDICES,
            Dtype::U32,
            vec![h.entries.len()],
            bytemuck::cast_slice(&h.entries),
        ));
        out
    }
}
