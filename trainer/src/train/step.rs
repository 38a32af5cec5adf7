//! One SGD batch: the rating objective's squared error (fused on the CPU, through candle's
//! autograd on other devices) and BPR (through candle), each learning on the gathered rows
//! with the sparse optimisers of [`super::tables`].

use anyhow::Context;
use candle_core::{Device, Tensor, Var};
use edgerec_core::kernel;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{DeviceKind, Objective, ValidParams};
use super::tables::Factors;
use crate::dataset::Interaction;

pub(super) fn device(kind: DeviceKind) -> anyhow::Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => Device::new_cuda(0).context("opening CUDA device 0"),
    }
}

/// Per-user sorted training items, for rejecting sampled negatives.
pub(super) struct Positives {
    indptr: Vec<usize>,
    items: Vec<u32>,
}

impl Positives {
    pub(super) fn new(users: usize, train: &[Interaction]) -> Self {
        let mut indptr = vec![0usize; users + 1];
        for x in train {
            indptr[x.user as usize + 1] += 1;
        }
        for u in 0..users {
            indptr[u + 1] += indptr[u];
        }
        let mut fill = indptr.clone();
        let mut items = vec![0u32; train.len()];
        for x in train {
            items[fill[x.user as usize]] = x.item;
            fill[x.user as usize] += 1;
        }
        for u in 0..users {
            items[indptr[u]..indptr[u + 1]].sort_unstable();
        }
        Self { indptr, items }
    }

    fn contains(&self, user: u32, item: u32) -> bool {
        let u = user as usize;
        self.items[self.indptr[u]..self.indptr[u + 1]].binary_search(&item).is_ok()
    }
}

/// Reusable host buffers for one batch.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) users: Vec<u32>,
    items: Vec<u32>,
    negatives: Vec<u32>,
    targets: Vec<f32>,
    gathered: [Vec<f32>; 5],
}

pub(super) struct Step<'c> {
    pub(super) cfg: &'c ValidParams,
    pub(super) device: Device,
}

impl Step<'_> {
    /// A leaf variable holding `data` (moved, not copied, on the CPU).
    fn var(&self, data: &mut Vec<f32>, rows: usize, cols: usize) -> anyhow::Result<Var> {
        Ok(Var::from_vec(std::mem::take(data), (rows, cols), &self.device)?)
    }

    fn grad(grads: &candle_core::backprop::GradStore, v: &Var) -> anyhow::Result<Vec<f32>> {
        let g = grads.get(v).context("missing gradient")?;
        Ok(g.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Squared-error batch: returns the summed squared error, and applies the gradient
    /// of (squared error + L2 on the gathered rows) when `learn` is set.
    pub(super) fn rating(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> anyhow::Result<f64> {
        if self.device.is_cpu() {
            return Ok(self.rating_host(f, b, learn));
        }
        self.rating_candle(f, b, learn)
    }

    /// The squared-error batch on the CPU, fused: the same mini-batch step as
    /// [`Step::rating_candle`] (every gradient from the weights before the batch, applied per
    /// sample in order by the same sparse optimiser), in one pass over the gathered rows and
    /// with no allocation. Candle's CPU ops each allocate and walk a batch-sized tensor, which
    /// evicts the gathered rows from cache before the optimiser writes them back; a test checks
    /// the two steps agree.
    fn rating_host(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> f64 {
        let (n, d) = (b.users.len(), f.user.dim);
        f.user.gather(&b.users, &mut b.gathered[0]);
        f.item.gather(&b.items, &mut b.gathered[1]);
        let [pu, qi, err, ..] = &mut b.gathered;
        err.clear();
        let mut sse = 0.0f32;
        for s in 0..n {
            let (u, i) = (b.users[s] as usize, b.items[s] as usize);
            let (p, q) = (&mut pu[s * d..(s + 1) * d], &mut qi[s * d..(s + 1) * d]);
            let e = kernel::dot(p, q) + f.user_bias.data[u] + f.item_bias.data[i] + f.global - b.targets[s];
            sse += e * e;
            if learn {
                // d(e²)/dp_u = 2e·q_i and d(e²)/dq_i = 2e·p_u: each gathered row becomes the
                // other's gradient, in place, while it is in cache.
                let g = 2.0 * e;
                for (p, q) in p.iter_mut().zip(q.iter_mut()) {
                    (*p, *q) = (g * *q, g * *p);
                }
                err.push(g);
            }
        }
        if !learn {
            return f64::from(sse);
        }
        let (lr, reg) = (self.cfg.lr() as f32, self.cfg.reg() as f32);
        f.user.scatter(&b.users, pu, lr, reg);
        f.item.scatter(&b.items, qi, lr, reg);
        f.user_bias.scatter(&b.users, err, lr, reg);
        f.item_bias.scatter(&b.items, err, lr, reg);
        f64::from(sse)
    }

    /// The squared-error batch through candle's autograd (any device).
    fn rating_candle(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> anyhow::Result<f64> {
        let (n, d) = (b.users.len(), f.user.dim);
        f.user.gather(&b.users, &mut b.gathered[0]);
        f.item.gather(&b.items, &mut b.gathered[1]);
        f.user_bias.gather(&b.users, &mut b.gathered[2]);
        f.item_bias.gather(&b.items, &mut b.gathered[3]);
        let pu = self.var(&mut b.gathered[0], n, d)?;
        let qi = self.var(&mut b.gathered[1], n, d)?;
        let bu = self.var(&mut b.gathered[2], n, 1)?;
        let bi = self.var(&mut b.gathered[3], n, 1)?;
        let target = Tensor::from_slice(&b.targets, (n, 1), &self.device)?;
        let dot = (pu.as_tensor() * qi.as_tensor())?.sum_keepdim(1)?;
        let pred = ((dot + bu.as_tensor())? + bi.as_tensor())?.affine(1.0, f64::from(f.global))?;
        // Summed squared error: each sample's gradient lands on its own gathered rows. The L2
        // penalty's gradient is added by the sparse update, only for the rows touched.
        let sse = (pred - target)?.sqr()?.sum_all()?;
        let sse_value = f64::from(sse.to_scalar::<f32>()?);
        if !learn {
            return Ok(sse_value);
        }
        let grads = sse.backward()?;
        let (lr, reg) = (self.cfg.lr() as f32, self.cfg.reg() as f32);
        f.user.scatter(&b.users, &Self::grad(&grads, &pu)?, lr, reg);
        f.item.scatter(&b.items, &Self::grad(&grads, &qi)?, lr, reg);
        f.user_bias.scatter(&b.users, &Self::grad(&grads, &bu)?, lr, reg);
        f.item_bias.scatter(&b.items, &Self::grad(&grads, &bi)?, lr, reg);
        Ok(sse_value)
    }

    /// BPR batch over (user, positive, negative) triples weighted by `targets`: returns the
    /// summed weighted loss −log σ(x_ui − x_uj), and learns when `learn` is set.
    pub(super) fn ranking(&self, f: &mut Factors, b: &mut Batch, learn: bool) -> anyhow::Result<f64> {
        let (n, d) = (b.users.len(), f.user.dim);
        f.user.gather(&b.users, &mut b.gathered[0]);
        f.item.gather(&b.items, &mut b.gathered[1]);
        f.item.gather(&b.negatives, &mut b.gathered[2]);
        f.item_bias.gather(&b.items, &mut b.gathered[3]);
        f.item_bias.gather(&b.negatives, &mut b.gathered[4]);
        let pu = self.var(&mut b.gathered[0], n, d)?;
        let qi = self.var(&mut b.gathered[1], n, d)?;
        let qj = self.var(&mut b.gathered[2], n, d)?;
        let bi = self.var(&mut b.gathered[3], n, 1)?;
        let bj = self.var(&mut b.gathered[4], n, 1)?;
        let weight = Tensor::from_slice(&b.targets, (n, 1), &self.device)?;
        let diff = (qi.as_tensor() - qj.as_tensor())?;
        let x = ((pu.as_tensor() * diff)?.sum_keepdim(1)? + (bi.as_tensor() - bj.as_tensor())?)?;
        // −log σ(x) = softplus(−x) = relu(−x) + log(1 + e^(−|x|)), stable for any x.
        let softplus = (x.neg()?.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        let data_loss = (softplus * weight)?.sum_all()?;
        let value = f64::from(data_loss.to_scalar::<f32>()?);
        if !learn {
            return Ok(value);
        }
        let grads = data_loss.backward()?;
        let (lr, reg) = (self.cfg.lr() as f32, self.cfg.reg() as f32);
        f.user.scatter(&b.users, &Self::grad(&grads, &pu)?, lr, reg);
        f.item.scatter(&b.items, &Self::grad(&grads, &qi)?, lr, reg);
        f.item.scatter(&b.negatives, &Self::grad(&grads, &qj)?, lr, reg);
        f.item_bias.scatter(&b.items, &Self::grad(&grads, &bi)?, lr, reg);
        f.item_bias.scatter(&b.negatives, &Self::grad(&grads, &bj)?, lr, reg);
        Ok(value)
    }
}

/// Whether the SGD loop trains BPR (the ranking objective with `--ranker bpr`); otherwise it
/// trains a rating model (the rating objective, or the rating head of a hybrid).
pub(super) fn is_bpr(cfg: &ValidParams) -> bool {
    cfg.objective() == Objective::Ranking
}

/// Fills `b` with the batch `rows` of `data` (and sampled negatives for ranking).
pub(super) fn fill(
    cfg: &ValidParams,
    data: &[Interaction],
    rows: &[u32],
    positives: &Positives,
    num_items: usize,
    rng: &mut ChaCha8Rng,
    b: &mut Batch,
) {
    b.users.clear();
    b.items.clear();
    b.negatives.clear();
    b.targets.clear();
    for &r in rows {
        let x = &data[r as usize];
        match is_bpr(cfg) {
            false => {
                b.users.push(x.user);
                b.items.push(x.item);
                b.targets.push(x.rating);
            }
            true => {
                let w = cfg.weight(x.behavior);
                for _ in 0..cfg.negatives() {
                    // Uniform negatives, rejecting the user's known positives (a few tries).
                    let mut j = rng.random_range(0..num_items as u32);
                    for _ in 0..8 {
                        if !positives.contains(x.user, j) {
                            break;
                        }
                        j = rng.random_range(0..num_items as u32);
                    }
                    b.users.push(x.user);
                    b.items.push(x.item);
                    b.negatives.push(j);
                    b.targets.push(w);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::{Objective, Optimizer, TrainParams};

    fn batch(round: u32) -> Batch {
        let mut b = Batch::default();
        for s in 0..40u32 {
            // Repeated users and items, so rows get several updates in one batch.
            b.users.push((s * 3 + round) % 7);
            b.items.push((s * 5 + 2 * round) % 9);
            b.targets.push(1.0 + ((s + round) % 5) as f32);
        }
        b
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{what}[{k}]: fused {x}, candle {y}");
        }
    }

    #[test]
    fn the_fused_rating_step_is_candles() {
        for optimizer in [Optimizer::Sgd, Optimizer::Adagrad, Optimizer::RowwiseAdagrad, Optimizer::Adam] {
            let cfg = TrainParams {
                objective: Objective::Rating,
                dim: 16,
                optimizer: Some(optimizer),
                ..TrainParams::default()
            }
            .check()
            .unwrap();
            let step = Step { cfg: &cfg, device: Device::Cpu };
            let mut fused = Factors::new(7, 9, 16, 0.3, optimizer, 11);
            fused.global = 3.5;
            fused.user_bias.data = (0..7).map(|u| 0.1 * u as f32 - 0.3).collect();
            fused.item_bias.data = (0..9).map(|i| 0.2 - 0.05 * i as f32).collect();
            let mut reference = fused.clone();
            for round in 0..3 {
                let (mut a, mut b) = (batch(round), batch(round));
                let before = fused.user.data.clone();
                let scored = step.rating_host(&mut fused, &mut a, false);
                assert_eq!(fused.user.data, before, "scoring must not learn");
                let (x, y) = (
                    step.rating_host(&mut fused, &mut a, true),
                    step.rating_candle(&mut reference, &mut b, true).unwrap(),
                );
                assert_eq!(scored, x);
                assert!((x - y).abs() <= 1e-5 * y, "{optimizer:?} round {round}: loss {x} against {y}");
                close(&fused.user.data, &reference.user.data, "user");
                close(&fused.item.data, &reference.item.data, "item");
                close(&fused.user_bias.data, &reference.user_bias.data, "user bias");
                close(&fused.item_bias.data, &reference.item_bias.data, "item bias");
            }
        }
    }
}
