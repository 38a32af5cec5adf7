//! Fused CPU kernels for the softmaxes of the sequence model's training: the cross-entropy
//! against sampled negatives (one row per target slot; the full catalogue's is `output.rs`) and
//! the attention weights, scaled and masked in the same pass.
//!
//! Built from candle's generic ops, a softmax costs about six passes over its input forward and
//! as many backward, each allocating a tensor as large as its input. A fused op makes one pass
//! forward and one backward, and works row by row in parallel with rayon: each row's arithmetic
//! is the same whatever the thread count, so training stays deterministic for a seed. Other
//! devices (CUDA) use candle's generic ops.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, D, Layout, Shape, Tensor};
use rayon::prelude::*;

pub(super) fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(all) = storage else { candle_core::bail!("expected f32 logits") };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => candle_core::bail!("expected contiguous logits"),
    }
}

/// `eˣ` by Cephes' single-precision polynomial (relative error about 1e-7), written without
/// calls or branches so that a loop over it vectorises, unlike `f32::exp`; exactly 0 below
/// −87 (the softmaxes' masked logits), where `eˣ` leaves the normal range anyway.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub(super) fn exp(x: f32) -> f32 {
    // 1.5 × 2²³: adding it rounds to the nearest integer n, which the low bits then hold.
    const ROUND: f32 = 12_582_912.0;
    let xc = x.clamp(-87.0, 88.0);
    let v = xc * std::f32::consts::LOG2_E + ROUND;
    let n = v - ROUND;
    // ln 2 in two parts, so that r = x − n·ln 2 is exact enough.
    let r = xc - n * 0.693_359_375 - n * -2.121_944_40e-4;
    let p = ((((1.987_569_150e-4 * r + 1.398_199_950e-3) * r + 8.333_451_907e-3) * r + 4.166_579_589e-2) * r
        + 1.666_666_546e-1)
        * r
        + 5.000_000_120e-1;
    let y = p * (r * r) + r + 1.0;
    // 2ⁿ from n's bits, without a float-to-integer conversion (which would not vectorise).
    let scale = f32::from_bits(v.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    if x < -87.0 { 0.0 } else { y * scale }
}

/// Replaces each `x` of `row` by `e^(x − max)` and returns their sum, added in eight lanes (a
/// fixed order) so that the loop vectorises.
pub(super) fn exp_shifted(row: &mut [f32], max: f32) -> f32 {
    row.iter_mut().for_each(|x| *x = exp(*x - max));
    let mut lanes = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..8 {
            lanes[k] += c[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The largest value of a row.
pub(super) fn row_max(row: &[f32]) -> f32 {
    row.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The softmax of one row into `out`.
fn softmax_row(row: &[f32], out: &mut [f32]) {
    out.copy_from_slice(row);
    let inv = 1.0 / exp_shifted(out, row_max(row));
    out.iter_mut().for_each(|o| *o *= inv);
}

/// `−log softmax(logits)[target]` per row of a `(rows × classes)` tensor. The forward pass
/// keeps the softmax it computed, so the backward pass (which candle runs once, on the same
/// op) turns it into the gradient in place instead of exponentiating every logit again.
struct CrossEntropy {
    targets: Vec<u32>,
    probs: std::sync::Mutex<Option<Vec<f32>>>,
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "edgerec-cross-entropy"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, classes) = layout.shape().dims2()?;
        let logits = contiguous(storage, layout)?;
        if self.targets.len() != rows || self.targets.iter().any(|&t| t as usize >= classes) {
            candle_core::bail!("cross-entropy targets do not match the logits");
        }
        let mut probs = vec![0f32; logits.len()];
        let loss: Vec<f32> = probs
            .par_chunks_mut(classes)
            .zip(logits.par_chunks(classes))
            .zip(self.targets.par_iter())
            .map(|((out, row), &t)| {
                let max = row_max(row);
                out.copy_from_slice(row);
                let sum = exp_shifted(out, max);
                let inv = 1.0 / sum;
                out.iter_mut().for_each(|o| *o *= inv);
                max + sum.ln() - row[t as usize]
            })
            .collect();
        *self.probs.lock().map_err(|_| candle_core::Error::Msg("poisoned softmax cache".into()))? =
            Some(probs);
        Ok((CpuStorage::F32(loss), Shape::from(rows)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (rows, classes) = arg.dims2()?;
        let g = grad_res.to_vec1::<f32>()?;
        let cached =
            self.probs.lock().map_err(|_| candle_core::Error::Msg("poisoned softmax cache".into()))?.take();
        let mut grad = match cached {
            Some(p) if p.len() == rows * classes => p,
            // A second backward pass over the same graph: compute the softmax again.
            _ => {
                let logits = arg.flatten_all()?.to_vec1::<f32>()?;
                let mut p = vec![0f32; rows * classes];
                p.par_chunks_mut(classes)
                    .zip(logits.par_chunks(classes))
                    .for_each(|(o, r)| softmax_row(r, o));
                p
            }
        };
        grad.par_chunks_mut(classes).zip(self.targets.par_iter().zip(g.par_iter())).for_each(
            |(out, (&t, &gr))| {
                out[t as usize] -= 1.0;
                out.iter_mut().for_each(|o| *o *= gr);
            },
        );
        Ok(Some(Tensor::from_vec(grad, (rows, classes), arg.device())?))
    }
}

/// The mean cross-entropy of `logits` (`rows × classes`) against `targets` (class per row).
pub fn cross_entropy(logits: &Tensor, targets: &[u32]) -> candle_core::Result<Tensor> {
    if logits.device().is_cpu() {
        let logits = logits.contiguous()?;
        logits.apply_op1(CrossEntropy { targets: targets.to_vec(), probs: Default::default() })?.mean_all()
    } else {
        let t = Tensor::from_slice(targets, targets.len(), logits.device())?;
        candle_nn::loss::cross_entropy(logits, &t)
    }
}

/// `softmax(scale · x + mask)` over the last dimension, with `mask` as large as `x` and constant:
/// the attention weights in one pass, where the scale and the mask would be two more passes
/// over the scores forward and backward.
struct MaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "edgerec-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        mask: &CpuStorage,
        mask_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = x_layout.shape().clone();
        let cols = shape.dims().last().copied().unwrap_or(1).max(1);
        let (x, mask) = (contiguous(x, x_layout)?, contiguous(mask, mask_layout)?);
        if mask.len() != x.len() {
            candle_core::bail!("masked softmax: the mask must be as large as the scores");
        }
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(cols).zip(x.par_chunks(cols).zip(mask.par_chunks(cols))).for_each(
            |(out, (row, m))| {
                for ((o, &v), &m) in out.iter_mut().zip(row).zip(m) {
                    *o = v * self.scale + m;
                }
                let inv = 1.0 / exp_shifted(out, row_max(out));
                out.iter_mut().for_each(|o| *o *= inv);
            },
        );
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = softmax_grad(x, res, grad_res, self.scale)?;
        Ok((Some(grad), None))
    }
}

/// The gradient of a softmax's input: `scale · y ⊙ (g − Σ y·g)` per row.
fn softmax_grad(x: &Tensor, y: &Tensor, g: &Tensor, scale: f32) -> candle_core::Result<Tensor> {
    let cols = x.dim(D::Minus1)?.max(1);
    let y = y.flatten_all()?.to_vec1::<f32>()?;
    let g = g.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
    let mut grad = vec![0f32; y.len()];
    grad.par_chunks_mut(cols).zip(y.par_chunks(cols).zip(g.par_chunks(cols))).for_each(|(out, (yr, gr))| {
        let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
        for ((o, &a), &b) in out.iter_mut().zip(yr).zip(gr) {
            *o = scale * a * (b - dot);
        }
    });
    Tensor::from_vec(grad, x.shape(), x.device())
}

/// `softmax(scale · x + mask)` over the last dimension; `mask` (as large as `x`) gets no gradient.
pub fn masked_softmax(x: &Tensor, mask: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op2(&mask.contiguous()?, MaskedSoftmax { scale: scale as f32 })
    } else {
        candle_nn::ops::softmax(&(x * scale)?.broadcast_add(mask)?, D::Minus1)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn grads_match(fused: &Tensor, generic: &Tensor, var: &Var) {
        let a = fused.backward().unwrap();
        let b = generic.backward().unwrap();
        let (ga, gb) = (a.get(var).unwrap(), b.get(var).unwrap());
        let diff = (ga - gb).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "gradients differ by {diff}");
    }

    #[test]
    fn the_polynomial_exp_follows_the_librarys() {
        for k in -8700..=800 {
            let x = k as f32 * 0.01 + 0.003;
            let (a, b) = (exp(x), x.exp());
            assert!((a - b).abs() <= 2e-7 * b, "exp({x}) = {a}, not {b}");
        }
        assert_eq!(exp(-1e9), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        let mut row = [0.5f32, -1.0, 2.0, -3.0, 0.0, 1.0, -0.5, 0.25, 3.0, -2.0];
        let expected: f32 = row.iter().map(|&x| (x - 3.0).exp()).sum();
        assert!((exp_shifted(&mut row, 3.0) - expected).abs() < 1e-6);
    }

    #[test]
    fn fused_cross_entropy_matches_candles_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..5 * 7).map(|k| ((k * 37 % 11) as f32 - 5.0) * 0.3).collect();
        let x = Var::from_vec(data, (5, 7), &dev).unwrap();
        let targets = [0u32, 6, 3, 3, 1];
        let fused = cross_entropy(x.as_tensor(), &targets).unwrap();
        let t = Tensor::from_slice(&targets, 5, &dev).unwrap();
        let generic = candle_nn::loss::cross_entropy(x.as_tensor(), &t).unwrap();
        let (f, g) = (fused.to_scalar::<f32>().unwrap(), generic.to_scalar::<f32>().unwrap());
        assert!((f - g).abs() < 1e-5, "{f} vs {g}");
        grads_match(&fused, &generic, &x);
    }

    #[test]
    fn the_masked_softmax_matches_candles_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..2 * 3 * 5).map(|k| ((k * 13 % 7) as f32 - 3.0) * 0.5).collect();
        let x = Var::from_vec(data, (2, 3, 5), &dev).unwrap();
        let m: Vec<f32> = (0..2 * 3 * 5).map(|k| if k % 4 == 1 { -1e9 } else { 0.0 }).collect();
        let mask = Tensor::from_vec(m, (2, 3, 5), &dev).unwrap();
        let w = Tensor::arange(0f32, 30.0, &dev).unwrap().reshape((2, 3, 5)).unwrap();
        let fused = masked_softmax(x.as_tensor(), &mask, 0.125).unwrap();
        let generic = candle_nn::ops::softmax(
            &(x.as_tensor() * 0.125).unwrap().broadcast_add(&mask).unwrap(),
            D::Minus1,
        )
        .unwrap();
        let diff = (&fused - &generic).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-6);
        grads_match(
            &(fused * &w).unwrap().sum_all().unwrap(),
            &(generic * &w).unwrap().sum_all().unwrap(),
            &x,
        );
    }
}
