//! The output layer fused with its loss: `−log softmax(h·Eᵀ)[target]` for each target slot's
//! output `h`, over the whole item table `E`.
//!
//! Written as candle ops, the logits of a batch (target slots × items: 87 MB for 6,400 slots of
//! MovieLens-1M) are written, read by the softmax, written again as gradients and read by two
//! matrix products. The fused op works through the slots a chunk at a time, so a chunk's
//! logits stay in cache: it computes the loss and both gradients in the forward pass, and the
//! backward pass only scales them by the loss's gradient (the mean's `1 / slots`). Each row's
//! arithmetic and the order of the chunks do not depend on the thread count, so training stays
//! deterministic for a seed. Other devices (CUDA) use candle's generic ops.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, DType, Device, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::ops;

/// Target slots per chunk: 256 slots of a 3,416-item catalogue are 3.5 MB of logits.
const CHUNK: usize = 256;

/// The loss per row and the gradients of `Σ w·loss` by the outputs and by the item table.
struct Pass {
    loss: Vec<f32>,
    grad_h: Vec<f32>,
    grad_table: Tensor,
}

/// One pass over the chunks; `weights` (one per row) default to 1.
fn pass(h: &[f32], table: &Tensor, targets: &[u32], weights: Option<&[f32]>) -> candle_core::Result<Pass> {
    let (items, d) = table.dims2()?;
    let dev = Device::Cpu;
    let rows = targets.len();
    if h.len() != rows * d || targets.iter().any(|&t| t as usize >= items) {
        candle_core::bail!("cross-entropy targets do not match the outputs and the item table");
    }
    let table_t = table.t()?;
    let mut out = Pass {
        loss: Vec::with_capacity(rows),
        grad_h: Vec::with_capacity(rows * d),
        grad_table: Tensor::zeros((items, d), DType::F32, &dev)?,
    };
    for (c, tg) in targets.chunks(CHUNK).enumerate() {
        let (r0, n) = (c * CHUNK, tg.len());
        let hc = Tensor::from_slice(&h[r0 * d..(r0 + n) * d], (n, d), &dev)?;
        let mut g = hc.matmul(&table_t)?.flatten_all()?.to_vec1::<f32>()?;
        let w = |k: usize| weights.map_or(1.0, |w| w[r0 + k]);
        let loss: Vec<f32> = g
            .par_chunks_mut(items)
            .zip(tg.par_iter())
            .enumerate()
            .map(|(k, (row, &t))| {
                let max = ops::row_max(row);
                let picked = row[t as usize];
                let sum = ops::exp_shifted(row, max);
                let scale = w(k) / sum;
                row.iter_mut().for_each(|x| *x *= scale);
                row[t as usize] -= w(k);
                max + sum.ln() - picked
            })
            .collect();
        out.loss.extend(loss);
        let g = Tensor::from_vec(g, (n, items), &dev)?;
        out.grad_h.extend(g.matmul(table)?.flatten_all()?.to_vec1::<f32>()?);
        out.grad_table = (out.grad_table + g.t()?.matmul(&hc)?)?;
    }
    Ok(out)
}

/// The gradients by the outputs and by the item table.
type Cached = (Vec<f32>, Tensor);

struct CatalogueCrossEntropy {
    targets: Vec<u32>,
    /// The forward pass's gradients (for unit weights), taken by the backward pass.
    grads: Mutex<Option<Cached>>,
}

impl CatalogueCrossEntropy {
    fn cache(&self) -> candle_core::Result<std::sync::MutexGuard<'_, Option<Cached>>> {
        self.grads.lock().map_err(|_| candle_core::Error::Msg("poisoned gradient cache".into()))
    }
}

impl CustomOp2 for CatalogueCrossEntropy {
    fn name(&self) -> &'static str {
        "edgerec-catalogue-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        h: &CpuStorage,
        h_layout: &Layout,
        table: &CpuStorage,
        table_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let h = ops::contiguous(h, h_layout)?;
        let table =
            Tensor::from_slice(ops::contiguous(table, table_layout)?, table_layout.shape(), &Device::Cpu)?;
        let p = pass(h, &table, &self.targets, None)?;
        *self.cache()? = Some((p.grad_h, p.grad_table));
        Ok((CpuStorage::F32(p.loss), Shape::from(self.targets.len())))
    }

    fn bwd(
        &self,
        h: &Tensor,
        table: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad_res.to_vec1::<f32>()?;
        let uniform = g.first().is_some_and(|&first| g.iter().all(|&x| x == first));
        let (grad_h, grad_table) = match self.cache()?.take() {
            Some((grad_h, grad_table)) if uniform => {
                let s = f64::from(g[0]);
                (Tensor::from_vec(grad_h, h.shape(), h.device())?.affine(s, 0.0)?, grad_table.affine(s, 0.0)?)
            }
            // Per-row weights, or a second backward pass: another pass with the weights.
            _ => {
                let hv = h.flatten_all()?.to_vec1::<f32>()?;
                let p = pass(&hv, &table.contiguous()?, &self.targets, Some(&g))?;
                (Tensor::from_vec(p.grad_h, h.shape(), h.device())?, p.grad_table)
            }
        };
        Ok((Some(grad_h), Some(grad_table)))
    }
}

/// The mean cross-entropy of each row of `h` (`rows × d`) scored against every row of `table`
/// (`items × d`), the right item being `targets[row]`.
pub fn cross_entropy(h: &Tensor, table: &Tensor, targets: &[u32]) -> candle_core::Result<Tensor> {
    if h.device().is_cpu() {
        let op = CatalogueCrossEntropy { targets: targets.to_vec(), grads: Mutex::new(None) };
        h.contiguous()?.apply_op2(&table.contiguous()?, op)?.mean_all()
    } else {
        ops::cross_entropy(&h.matmul(&table.t()?)?, targets)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    /// More rows than a chunk, so the chunks' gradients are summed.
    #[test]
    fn the_fused_output_layer_matches_candles_ops_forward_and_backward() {
        let dev = Device::Cpu;
        let (rows, items, d) = (CHUNK * 2 + 37, 23, 6);
        let hv: Vec<f32> = (0..rows * d).map(|k| ((k * 37 % 19) as f32 - 9.0) * 0.1).collect();
        let tv: Vec<f32> = (0..items * d).map(|k| ((k * 11 % 13) as f32 - 6.0) * 0.2).collect();
        let targets: Vec<u32> = (0..rows).map(|r| (r * 7 % items) as u32).collect();
        let h = Var::from_vec(hv, (rows, d), &dev).unwrap();
        let table = Var::from_vec(tv, (items, d), &dev).unwrap();
        let fused = cross_entropy(h.as_tensor(), table.as_tensor(), &targets).unwrap();
        let logits = h.as_tensor().matmul(&table.as_tensor().t().unwrap()).unwrap();
        let t = Tensor::from_slice(&targets, rows, &dev).unwrap();
        let generic = candle_nn::loss::cross_entropy(&logits, &t).unwrap();
        assert!(max_diff(&fused, &generic) < 1e-5);
        let (a, b) = (fused.backward().unwrap(), generic.backward().unwrap());
        for v in [&h, &table] {
            let diff = max_diff(a.get(v).unwrap(), b.get(v).unwrap());
            assert!(diff < 1e-6, "gradients differ by {diff}");
        }
        // Weights per row take the second pass; a sum weights every row by 1.
        let weighted = (CatalogueCrossEntropy { targets: targets.clone(), grads: Mutex::new(None) }).bwd(
            h.as_tensor(),
            table.as_tensor(),
            &fused,
            &Tensor::ones(rows, DType::F32, &dev).unwrap(),
        );
        let (gh, _) = weighted.unwrap();
        let expected = (b.get(&h).unwrap() * rows as f64).unwrap();
        assert!(max_diff(&gh.unwrap(), &expected) < 1e-4);
    }
}
