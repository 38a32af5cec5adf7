//! Fused CPU kernels for the two softmaxes that dominate the sequence model's training: the
//! cross-entropy over the catalogue (one row per target slot) and the attention weights.
//!
//! Built from candle's generic ops, a softmax costs about six passes over its input forward and
//! as many backward, each allocating a tensor as large as the logits (batch slots × items). A
//! fused op makes one pass forward and one backward, and works row by row in parallel with
//! rayon: each row's arithmetic is the same whatever the thread count, so training stays
//! deterministic for a seed. Other devices (CUDA) use candle's generic ops.

use candle_core::{CpuStorage, CustomOp1, D, Layout, Shape, Tensor};
use rayon::prelude::*;

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(all) = storage else { candle_core::bail!("expected f32 logits") };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => candle_core::bail!("expected contiguous logits"),
    }
}

/// The softmax of one row into `out`.
fn softmax_row(row: &[f32], out: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (o, &x) in out.iter_mut().zip(row) {
        *o = (x - max).exp();
        sum += *o;
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// `−log softmax(logits)[target]` per row of a `(rows × classes)` tensor.
struct CrossEntropy {
    targets: Vec<u32>,
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
        let loss: Vec<f32> = logits
            .par_chunks(classes)
            .zip(self.targets.par_iter())
            .map(|(row, &t)| {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = row.iter().map(|&x| (x - max).exp()).sum();
                max + sum.ln() - row[t as usize]
            })
            .collect();
        Ok((CpuStorage::F32(loss), Shape::from(rows)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (rows, classes) = arg.dims2()?;
        let logits = arg.flatten_all()?.to_vec1::<f32>()?;
        let g = grad_res.to_vec1::<f32>()?;
        let mut grad = vec![0f32; rows * classes];
        grad.par_chunks_mut(classes)
            .zip(logits.par_chunks(classes))
            .zip(self.targets.par_iter().zip(g.par_iter()))
            .for_each(|((out, row), (&t, &gr))| {
                softmax_row(row, out);
                out[t as usize] -= 1.0;
                out.iter_mut().for_each(|o| *o *= gr);
            });
        Ok(Some(Tensor::from_vec(grad, (rows, classes), arg.device())?))
    }
}

/// The mean cross-entropy of `logits` (`rows × classes`) against `targets` (class per row).
pub fn cross_entropy(logits: &Tensor, targets: &[u32]) -> candle_core::Result<Tensor> {
    if logits.device().is_cpu() {
        let logits = logits.contiguous()?;
        logits.apply_op1(CrossEntropy { targets: targets.to_vec() })?.mean_all()
    } else {
        let t = Tensor::from_slice(targets, targets.len(), logits.device())?;
        candle_nn::loss::cross_entropy(logits, &t)
    }
}

/// Softmax over the last dimension, with its backward pass `y ⊙ (g − Σ y·g)`.
struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "edgerec-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = layout.shape().clone();
        let cols = shape.dims().last().copied().unwrap_or(1).max(1);
        let x = contiguous(storage, layout)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(cols).zip(x.par_chunks(cols)).for_each(|(out, row)| softmax_row(row, out));
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let cols = arg.dim(D::Minus1)?.max(1);
        let y = res.flatten_all()?.to_vec1::<f32>()?;
        let g = grad_res.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let mut grad = vec![0f32; y.len()];
        grad.par_chunks_mut(cols).zip(y.par_chunks(cols).zip(g.par_chunks(cols))).for_each(
            |(out, (yr, gr))| {
                let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
                for ((o, &a), &b) in out.iter_mut().zip(yr).zip(gr) {
                    *o = a * (b - dot);
                }
            },
        );
        Ok(Some(Tensor::from_vec(grad, arg.shape(), arg.device())?))
    }
}

/// Softmax over the last dimension.
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op1(Softmax)
    } else {
        candle_nn::ops::softmax(x, D::Minus1)
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
    fn fused_softmax_matches_candles_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..2 * 3 * 4).map(|k| ((k * 13 % 7) as f32 - 3.0) * 0.5).collect();
        let x = Var::from_vec(data, (2, 3, 4), &dev).unwrap();
        let w = Tensor::arange(0f32, 24.0, &dev).unwrap().reshape((2, 3, 4)).unwrap();
        let fused = softmax_last_dim(x.as_tensor()).unwrap();
        let generic = candle_nn::ops::softmax(x.as_tensor(), D::Minus1).unwrap();
        let diff = (&fused - &generic).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-6);
        grads_match(
            &(fused * &w).unwrap().sum_all().unwrap(),
            &(generic * &w).unwrap().sum_all().unwrap(),
            &x,
        );
    }
}
