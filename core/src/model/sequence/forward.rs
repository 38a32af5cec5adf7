//! The forward pass of the sequence network, in plain f32 loops in one fixed order (no fused
//! multiply-add, no libm: see [`super::exp`]), so native and wasm32 give the same bits.
//!
//! The `m ≤ L` items sit at the last `m` position slots (the trainer pads on the left and masks
//! padded keys, so a real slot never reads a padded one: computing over the real items alone
//! gives the same numbers). Per block, for rows `x_t`:
//!
//! ```text
//! h = LN₁(x);  q, k, v = h·Wq + bq, h·Wk + bk, h·Wv + bv
//! x_t += (Σ_{j ≤ t} softmax_j(q_t·k_j / √d) · v_j)·Wo + bo
//! x_t += relu(LN₂(x_t)·W₁ + b₁)·W₂ + b₂
//! ```
//!
//! and the state is `LN_f(x_last)`. Only the last row is read at the end, so the last block
//! computes keys and values for every row but the query, attention and feed-forward for the
//! last row alone. Matrix products run in axpy form (`y += x[i] · W[i, ..]`, over the output
//! dimension), which the compiler vectorises without changing any element's order of sums.

use super::{Block, Sequence, exp::exp};
use crate::model::factors::ItemFactors;
use crate::{Error, Result};

/// Layer-norm epsilon, as in the trainer.
const LN_EPS: f32 = 1e-6;

/// `y = LN(x)·g + b` over the `d` features, with the biased variance.
fn layer_norm(x: &[f32], g: &[f32], b: &[f32], y: &mut [f32]) {
    let n = x.len() as f32;
    let mut sum = 0.0f32;
    for &v in x {
        sum += v;
    }
    let mean = sum / n;
    let mut sq = 0.0f32;
    for &v in x {
        let c = v - mean;
        sq += c * c;
    }
    let denom = (sq / n + LN_EPS).sqrt();
    for (((y, &v), &g), &b) in y.iter_mut().zip(x).zip(g).zip(b) {
        *y = (v - mean) / denom * g + b;
    }
}

/// Outputs per tile of [`linear`]: the accumulators stay in registers across the inputs.
const TILE: usize = 32;

/// `y = x·W + b` for one row, `W` stored `(in × out)` row-major. Each output is
/// `b[o] + x[0]·W[0, o] + x[1]·W[1, o] + …` summed in that order, tile by tile.
fn linear(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let d = y.len();
    let mut o = 0;
    while o + TILE <= d {
        let mut acc = [0f32; TILE];
        acc.copy_from_slice(&b[o..o + TILE]);
        for (&xi, row) in x.iter().zip(w.chunks_exact(d)) {
            for (a, &wv) in acc.iter_mut().zip(&row[o..o + TILE]) {
                *a += xi * wv;
            }
        }
        y[o..o + TILE].copy_from_slice(&acc);
        o += TILE;
    }
    if o < d {
        let rest = &mut y[o..];
        rest.copy_from_slice(&b[o..]);
        for (&xi, row) in x.iter().zip(w.chunks_exact(d)) {
            for (a, &wv) in rest.iter_mut().zip(&row[o..]) {
                *a += xi * wv;
            }
        }
    }
}

/// `x += y`.
fn add(x: &mut [f32], y: &[f32]) {
    for (x, &y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

/// Buffers of one pass: `m` rows of `d`.
struct Scratch {
    /// Layer-normed rows.
    h: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The keys transposed, `kt[i·m + j] = k[j][i]`, so that scores are axpys over the keys.
    kt: Vec<f32>,
    scores: Vec<f32>,
    q: Vec<f32>,
    a: Vec<f32>,
    out: Vec<f32>,
    hidden: Vec<f32>,
}

impl Scratch {
    fn new(m: usize, d: usize) -> Self {
        Self {
            h: vec![0.0; m * d],
            k: vec![0.0; m * d],
            v: vec![0.0; m * d],
            kt: vec![0.0; m * d],
            scores: vec![0.0; m],
            q: vec![0.0; d],
            a: vec![0.0; d],
            out: vec![0.0; d],
            hidden: vec![0.0; d],
        }
    }
}

impl Sequence<'_> {
    /// The state over `items` (oldest first; only the latest `max_len` are read). With
    /// `every_row` every row is carried through every block (the plain definition, for tests);
    /// without, the last block computes the last row only. Both give the same bits.
    pub(crate) fn state(
        &self,
        items: &[usize],
        factors: &ItemFactors<'_>,
        every_row: bool,
    ) -> Result<Vec<f32>> {
        let (d, l) = (self.dim, self.info.max_len);
        let items = &items[items.len().saturating_sub(l)..];
        let m = items.len();
        if m == 0 {
            return Err(Error::InvalidArgument("the sequence network needs at least one item".into()));
        }
        let mut x = vec![0f32; m * d];
        let mut buf = Vec::new();
        for (t, (&item, xt)) in items.iter().zip(x.chunks_exact_mut(d)).enumerate() {
            let row = factors
                .row(item, d, &mut buf)
                .ok_or_else(|| Error::InvalidArgument(format!("item index {item} is out of range")))?;
            let pos = self.positions.get((l - m + t) * d..(l - m + t + 1) * d).unwrap_or(&[]);
            for ((x, &e), &p) in xt.iter_mut().zip(row).zip(pos) {
                *x = e + p;
            }
        }
        let mut s = Scratch::new(m, d);
        let last = self.blocks.len().saturating_sub(1);
        for (b, block) in self.blocks.iter().enumerate() {
            let first = if every_row || b < last { 0 } else { m - 1 };
            block_forward(block, &mut x, &mut s, m, d, first);
        }
        let mut state = vec![0f32; d];
        layer_norm(&x[(m - 1) * d..], &self.final_g, &self.final_b, &mut state);
        Ok(state)
    }
}

/// One block over the `m` rows of `x`, updating rows `first..m` (keys and values come from
/// every row).
fn block_forward(blk: &Block<'_>, x: &mut [f32], s: &mut Scratch, m: usize, d: usize, first: usize) {
    for (xt, ht) in x.chunks_exact(d).zip(s.h.chunks_exact_mut(d)) {
        layer_norm(xt, &blk.ln1_g, &blk.ln1_b, ht);
    }
    for ((ht, kt), vt) in s.h.chunks_exact(d).zip(s.k.chunks_exact_mut(d)).zip(s.v.chunks_exact_mut(d)) {
        linear(ht, &blk.k_w, &blk.k_b, kt);
        linear(ht, &blk.v_w, &blk.v_b, vt);
    }
    for (j, kj) in s.k.chunks_exact(d).enumerate() {
        for (i, &kv) in kj.iter().enumerate() {
            s.kt[i * m + j] = kv;
        }
    }
    let scale = 1.0 / (d as f32).sqrt();
    for t in first..m {
        linear(&s.h[t * d..(t + 1) * d], &blk.q_w, &blk.q_b, &mut s.q);
        // Causal: query t reads keys 0..=t.
        let scores = &mut s.scores[..=t];
        scores.fill(0.0);
        for (&qi, krow) in s.q.iter().zip(s.kt.chunks_exact(m)) {
            for (sc, &kv) in scores.iter_mut().zip(krow) {
                *sc += qi * kv;
            }
        }
        let mut max = f32::NEG_INFINITY;
        for sc in scores.iter_mut() {
            *sc *= scale;
            max = max.max(*sc);
        }
        let mut total = 0.0f32;
        for sc in scores.iter_mut() {
            *sc = exp(*sc - max);
            total += *sc;
        }
        s.a.fill(0.0);
        for (&e, vj) in scores.iter().zip(s.v.chunks_exact(d)) {
            let p = e / total;
            for (a, &vv) in s.a.iter_mut().zip(vj) {
                *a += p * vv;
            }
        }
        linear(&s.a, &blk.o_w, &blk.o_b, &mut s.out);
        add(&mut x[t * d..(t + 1) * d], &s.out);
    }
    for t in first..m {
        let xt = &mut x[t * d..(t + 1) * d];
        layer_norm(xt, &blk.ln2_g, &blk.ln2_b, &mut s.q);
        linear(&s.q, &blk.ff1_w, &blk.ff1_b, &mut s.hidden);
        for h in s.hidden.iter_mut() {
            *h = h.max(0.0);
        }
        linear(&s.hidden, &blk.ff2_w, &blk.ff2_b, &mut s.out);
        add(xt, &s.out);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::{Block, Sequence, SequenceInfo};
    use crate::index::build::SplitMix;
    use crate::model::factors::ItemFactors;

    /// SplitMix64 values in [-scale, scale).
    fn values(n: usize, seed: u64, scale: f32) -> Cow<'static, [f32]> {
        let mut rng = SplitMix(seed);
        let v =
            (0..n).map(|_| ((rng.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale).collect();
        Cow::Owned(v)
    }

    fn network(d: usize, l: usize, blocks: usize) -> Sequence<'static> {
        let mut seed = 1;
        let mut next = |n: usize, scale: f32| {
            seed += 1;
            values(n, seed, scale)
        };
        let blocks = (0..blocks)
            .map(|_| {
                let parts = crate::names::SEQ_BLOCK_PARTS
                    .iter()
                    .map(|&(_, matrix)| if matrix { next(d * d, 0.3) } else { next(d, 0.5) })
                    .collect();
                Block::from_parts(parts).expect("16 parts")
            })
            .collect();
        Sequence {
            info: SequenceInfo { max_len: l, blocks: 2 },
            dim: d,
            positions: next(l * d, 0.5),
            blocks,
            final_g: next(d, 1.0),
            final_b: next(d, 1.0),
            indptr: Cow::Owned(vec![0]),
            indices: Cow::Owned(Vec::new()),
        }
    }

    #[test]
    fn the_last_row_shortcut_gives_the_bits_of_every_row() {
        let (d, l, items) = (8, 6, 20);
        let seq = network(d, l, 2);
        let factors = ItemFactors::F32(values(items * d, 99, 1.0));
        for n in 1..=9 {
            let history: Vec<usize> = (0..n).map(|k| (k * 7 + 3) % items).collect();
            let fast = seq.state(&history, &factors, false).expect("runs");
            let full = seq.state(&history, &factors, true).expect("runs");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&full), "n = {n}");
        }
    }

    #[test]
    fn out_of_range_items_and_empty_sequences_are_errors() {
        let seq = network(4, 3, 2);
        let factors = ItemFactors::F32(values(5 * 4, 7, 1.0));
        assert!(seq.state(&[], &factors, false).is_err());
        assert!(seq.state(&[1, 5], &factors, false).is_err());
    }
}
