//! Layer norm as one fused CPU op with its backward pass.
//!
//! Built from candle's generic ops, a layer norm is nine passes over its input forward and
//! about fifteen backward, each allocating a tensor as large as the input (every slot of the
//! batch × d); with five norms per batch they cost more than the blocks' matrix products. The
//! fused op makes one pass forward and one backward, row by row in parallel. The gains' and
//! biases' gradients are summed per fixed chunk of rows and then in chunk order, so the result
//! does not depend on the thread count. Other devices (CUDA) use candle's generic ops.

use candle_core::{CpuStorage, CustomOp3, D, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::ops;

/// Rows per chunk of the gradient sums.
const CHUNK: usize = 256;

/// Layer norm over the last dimension with gain `g` and bias `b`, as the core computes it:
/// `(x − mean) / √(var + eps) · g + b`.
struct LayerNorm {
    eps: f32,
}

/// A row's mean and `1 / √(var + eps)`.
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&x| (x - mean) * (x - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

fn to_vec(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.contiguous()?.flatten_all()?.to_vec1::<f32>()
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "edgerec-layer-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        g: &CpuStorage,
        g_layout: &Layout,
        b: &CpuStorage,
        b_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = x_layout.shape().clone();
        let d = shape.dims().last().copied().unwrap_or(1).max(1);
        let (x, g, b) =
            (ops::contiguous(x, x_layout)?, ops::contiguous(g, g_layout)?, ops::contiguous(b, b_layout)?);
        if g.len() != d || b.len() != d {
            candle_core::bail!("layer norm: gain and bias must have the input's last dimension");
        }
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(d).zip(x.par_chunks(d)).for_each(|(out, row)| {
            let (mean, rstd) = moments(row, self.eps);
            for (k, (o, &v)) in out.iter_mut().zip(row).enumerate() {
                *o = (v - mean) * rstd * g[k] + b[k];
            }
        });
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        g: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = x.dim(D::Minus1)?.max(1);
        let (xv, gv, dy) = (to_vec(x)?, to_vec(g)?, to_vec(grad_res)?);
        let mut dx = vec![0f32; xv.len()];
        // Per chunk of rows: (Σ dy·x̂, Σ dy) for the gain and the bias.
        let partial: Vec<(Vec<f32>, Vec<f32>)> = dx
            .par_chunks_mut(CHUNK * d)
            .zip(xv.par_chunks(CHUNK * d).zip(dy.par_chunks(CHUNK * d)))
            .map(|(dxc, (xc, dyc))| {
                let (mut dg, mut db) = (vec![0f32; d], vec![0f32; d]);
                for (out, (row, grow)) in dxc.chunks_mut(d).zip(xc.chunks(d).zip(dyc.chunks(d))) {
                    let (mean, rstd) = moments(row, self.eps);
                    let (mut m1, mut m2) = (0.0f32, 0.0f32);
                    for k in 0..d {
                        let xh = (row[k] - mean) * rstd;
                        let dxh = grow[k] * gv[k];
                        dg[k] += grow[k] * xh;
                        db[k] += grow[k];
                        m1 += dxh;
                        m2 += dxh * xh;
                    }
                    let (m1, m2) = (m1 / d as f32, m2 / d as f32);
                    for k in 0..d {
                        let xh = (row[k] - mean) * rstd;
                        out[k] = rstd * (grow[k] * gv[k] - m1 - xh * m2);
                    }
                }
                (dg, db)
            })
            .collect();
        let (mut dg, mut db) = (vec![0f32; d], vec![0f32; d]);
        for (pg, pb) in &partial {
            dg.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
            db.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
        }
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dg, g.shape(), dev)?),
            Some(Tensor::from_vec(db, b.shape(), dev)?),
        ))
    }
}

/// `(x − mean) / √(var + eps) · g + b` over the last dimension of `x`.
pub fn layer_norm(x: &Tensor, g: &Tensor, b: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op3(&g.contiguous()?, &b.contiguous()?, LayerNorm { eps: eps as f32 })
    } else {
        generic(x, g, b, eps)
    }
}

/// The same layer norm from candle's generic ops, which every device has.
fn generic(x: &Tensor, g: &Tensor, b: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    xn.broadcast_mul(g)?.broadcast_add(b)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    /// More rows than a chunk, so the gains' and biases' partial sums are added.
    #[test]
    fn the_fused_layer_norm_matches_candles_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let (rows, d) = (CHUNK * 2 + 5, 7);
        let xv: Vec<f32> = (0..rows * d).map(|k| ((k * 29 % 17) as f32 - 8.0) * 0.25).collect();
        let x = Var::from_vec(xv, (rows, d), &dev).unwrap();
        let g = Var::from_vec((0..d).map(|k| 0.5 + k as f32 * 0.1).collect(), d, &dev).unwrap();
        let b = Var::from_vec((0..d).map(|k| k as f32 * -0.05).collect(), d, &dev).unwrap();
        let w = Tensor::arange(0f32, (rows * d) as f32, &dev).unwrap().reshape((rows, d)).unwrap();
        let w = (w * 0.01).unwrap().cos().unwrap();
        let fused = layer_norm(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-6).unwrap();
        let slow = generic(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-6).unwrap();
        assert!(max_diff(&fused, &slow) < 1e-5);
        let a = (fused * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let s = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &g, &b] {
            let diff = max_diff(a.get(v).unwrap(), s.get(v).unwrap());
            assert!(diff < 1e-3, "gradients differ by {diff}");
        }
    }
}
