//! The sequence network in candle: SASRec-class causal self-attention over a user's latest
//! items (Kang & McAuley 2018), with pre-layer-norm blocks, one attention head, learned
//! positions, and item embeddings shared with the output layer.
//!
//! Slots are right-aligned: slot `L − 1` holds the newest item and earlier slots are padding
//! (item 0) for short histories. Padding is masked as a key with a large negative additive
//! mask, so a real slot never reads a padded one; `edgerec-core` runs the same network over
//! the real items alone, at positions `L − n … L − 1`, and gets the same numbers.
//!
//! One block, for a `(slots × d)` input `x`:
//!
//! ```text
//! h = LN₁(x);  x = x + (softmax(h·Wq (h·Wk)ᵀ / √d + mask) · h·Wv) · Wo
//! h = LN₂(x);  x = x + relu(h·W₁ + b₁)·W₂ + b₂
//! ```
//!
//! and the output is `LN_f(x)` (every projection has a bias). An item's score is the dot
//! product of the last slot's output with the item's embedding.

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Layer-norm epsilon (the core uses the same).
pub const LN_EPS: f64 = 1e-6;
/// The additive mask for a padded key: large enough that `exp` gives exactly 0 in f32.
const MASKED: f32 = -1e9;

/// Shape of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Items in the catalogue (embedding rows are `items + 1`: row 0 is padding).
    pub items: usize,
    /// Width of every layer.
    pub dim: usize,
    /// Slots (the longest history read).
    pub max_len: usize,
    /// Transformer blocks.
    pub blocks: usize,
}

/// A dense layer `x·W + b` with `W` stored `(in × out)`.
pub struct Linear {
    pub(crate) w: Var,
    pub(crate) b: Var,
}

/// A layer norm's gain and bias.
pub struct Norm {
    pub(crate) g: Var,
    pub(crate) b: Var,
}

/// One pre-norm transformer block.
pub struct Block {
    pub(crate) ln1: Norm,
    pub(crate) q: Linear,
    pub(crate) k: Linear,
    pub(crate) v: Linear,
    pub(crate) o: Linear,
    pub(crate) ln2: Norm,
    pub(crate) ff1: Linear,
    pub(crate) ff2: Linear,
}

/// The whole network's trainable variables.
pub struct Net {
    pub(crate) shape: Shape,
    /// `(items + 1) × d`; row 0 is the padding item and stays zero.
    pub(crate) items: Var,
    /// `max_len × d`.
    pub(crate) pos: Var,
    pub(crate) blocks: Vec<Block>,
    pub(crate) ln_f: Norm,
}

fn normal(
    rows: usize,
    cols: usize,
    std: f32,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> candle_core::Result<Var> {
    let n = Normal::new(0.0f32, std).map_err(candle_core::Error::wrap)?;
    let data: Vec<f32> = (0..rows * cols).map(|_| n.sample(rng)).collect();
    Var::from_vec(data, (rows, cols), dev)
}

fn constant(len: usize, value: f32, dev: &Device) -> candle_core::Result<Var> {
    Var::from_vec(vec![value; len], len, dev)
}

impl Linear {
    fn new(i: usize, o: usize, rng: &mut ChaCha8Rng, dev: &Device) -> candle_core::Result<Self> {
        // Glorot-normal weights, zero biases.
        let std = (2.0 / (i + o) as f32).sqrt();
        Ok(Self { w: normal(i, o, std, rng, dev)?, b: constant(o, 0.0, dev)? })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(self.w.as_tensor())?.broadcast_add(self.b.as_tensor())
    }
}

impl Norm {
    fn new(d: usize, dev: &Device) -> candle_core::Result<Self> {
        Ok(Self { g: constant(d, 1.0, dev)?, b: constant(d, 0.0, dev)? })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        super::norm::layer_norm(x, self.g.as_tensor(), self.b.as_tensor(), LN_EPS)
    }
}

/// Inverted dropout with a mask drawn from `rng`, so training is deterministic for a seed.
fn dropout(x: &Tensor, p: f32, rng: Option<&mut ChaCha8Rng>) -> candle_core::Result<Tensor> {
    let Some(rng) = rng else { return Ok(x.clone()) };
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> =
        (0..x.elem_count()).map(|_| if rng.random::<f32>() < p { 0.0 } else { keep }).collect();
    x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)
}

/// One batch of right-aligned histories, ready for the network. A batch may use fewer slots
/// than the network has (`len ≤ L`, the longest history in it): its slots are then the last
/// `len` of the `L`, so the padding that every history in the batch would share is skipped.
pub struct Batch {
    /// `(b × len)` item rows (item index + 1; 0 is padding).
    pub inputs: Tensor,
    /// `(b × 1 × len)` additive key mask: 0 for real slots, a large negative for padding.
    pub key_mask: Tensor,
    /// `(len × len)` causal mask.
    pub causal: Tensor,
    /// Batch size.
    pub size: usize,
    /// Slots per row.
    pub len: usize,
}

impl Batch {
    /// Packs `rows` (each `len` item rows, 0 = padding) into tensors.
    pub fn new(rows: &[u32], len: usize, dev: &Device) -> candle_core::Result<Self> {
        let size = rows.len() / len;
        let mask: Vec<f32> = rows.iter().map(|&r| if r == 0 { MASKED } else { 0.0 }).collect();
        Ok(Self {
            inputs: Tensor::from_slice(rows, (size, len), dev)?,
            key_mask: Tensor::from_vec(mask, (size, 1, len), dev)?,
            causal: causal_mask(len, dev)?,
            size,
            len,
        })
    }
}

/// The causal mask `(L × L)`: 0 on and below the diagonal, a large negative above.
pub fn causal_mask(len: usize, dev: &Device) -> candle_core::Result<Tensor> {
    let m: Vec<f32> = (0..len * len).map(|k| if k % len > k / len { MASKED } else { 0.0 }).collect();
    Tensor::from_vec(m, (len, len), dev)
}

impl Net {
    /// A freshly initialised network, deterministic for `rng`'s seed.
    pub fn new(shape: Shape, rng: &mut ChaCha8Rng, dev: &Device) -> candle_core::Result<Self> {
        let d = shape.dim;
        let emb_std = (1.0 / d as f32).sqrt();
        let items = normal(shape.items + 1, d, emb_std, rng, dev)?;
        // The padding row starts (and, being masked, stays) at zero.
        let pad = Tensor::zeros((1, d), DType::F32, dev)?;
        items.set(&Tensor::cat(&[&pad, &items.as_tensor().narrow(0, 1, shape.items)?], 0)?)?;
        let pos = normal(shape.max_len, d, emb_std, rng, dev)?;
        let mut blocks = Vec::with_capacity(shape.blocks);
        for _ in 0..shape.blocks {
            blocks.push(Block {
                ln1: Norm::new(d, dev)?,
                q: Linear::new(d, d, rng, dev)?,
                k: Linear::new(d, d, rng, dev)?,
                v: Linear::new(d, d, rng, dev)?,
                o: Linear::new(d, d, rng, dev)?,
                ln2: Norm::new(d, dev)?,
                ff1: Linear::new(d, d, rng, dev)?,
                ff2: Linear::new(d, d, rng, dev)?,
            });
        }
        Ok(Self { shape, items, pos, blocks, ln_f: Norm::new(d, dev)? })
    }

    /// Every trainable variable, for the optimiser.
    pub fn vars(&self) -> Vec<Var> {
        let mut v = vec![self.items.clone(), self.pos.clone()];
        for b in &self.blocks {
            for n in [&b.ln1, &b.ln2] {
                v.extend([n.g.clone(), n.b.clone()]);
            }
            for l in [&b.q, &b.k, &b.v, &b.o, &b.ff1, &b.ff2] {
                v.extend([l.w.clone(), l.b.clone()]);
            }
        }
        v.extend([self.ln_f.g.clone(), self.ln_f.b.clone()]);
        v
    }

    /// The output of every slot, `(b·L × d)`. With `rng` (training) dropout is applied.
    pub fn forward(
        &self,
        batch: &Batch,
        dropout_p: f32,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> candle_core::Result<Tensor> {
        let (b, l, d) = (batch.size, batch.len, self.shape.dim);
        let flat = batch.inputs.flatten_all()?;
        let emb = self.items.as_tensor().embedding(&flat)?.reshape((b, l, d))?;
        let pos = self.pos.as_tensor().narrow(0, self.shape.max_len - l, l)?;
        let x = emb.broadcast_add(&pos)?;
        let mut x = dropout(&x.reshape((b * l, d))?, dropout_p, rng.as_deref_mut())?;
        let mask = batch.causal.broadcast_add(&batch.key_mask)?.contiguous()?;
        let scale = 1.0 / (d as f64).sqrt();
        for blk in &self.blocks {
            let h = blk.ln1.forward(&x)?;
            let q = blk.q.forward(&h)?.reshape((b, l, d))?;
            let k = blk.k.forward(&h)?.reshape((b, l, d))?;
            let v = blk.v.forward(&h)?.reshape((b, l, d))?;
            let att = super::ops::masked_softmax(&q.matmul(&k.t()?)?, &mask, scale)?;
            let a = blk.o.forward(&att.matmul(&v)?.reshape((b * l, d))?)?;
            x = (x + dropout(&a, dropout_p, rng.as_deref_mut())?)?;
            let h = blk.ln2.forward(&x)?;
            let f = blk.ff2.forward(&blk.ff1.forward(&h)?.relu()?)?;
            x = (x + dropout(&f, dropout_p, rng.as_deref_mut())?)?;
        }
        self.ln_f.forward(&x)
    }

    /// The item embeddings without the padding row, `items × d`.
    pub fn item_table(&self) -> candle_core::Result<Tensor> {
        self.items.as_tensor().narrow(0, 1, self.shape.items)
    }
}
