//! The network's gradients against finite differences of its loss.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::fit::{SeqParams, batch_loss};
use super::net::{Net, Shape};

fn params(negatives: usize) -> SeqParams {
    SeqParams {
        dim: 4,
        max_len: 4,
        blocks: 2,
        epochs: 1,
        patience: 0,
        lr: 1e-3,
        batch_users: 2,
        negatives,
        dropout: 0.0,
        seed: 3,
    }
}

/// Two users: one fills every slot, one is padded; targets follow the inputs.
const INPUTS: [u32; 8] = [1, 2, 3, 4, 0, 0, 5, 2];
const TARGETS: [u32; 8] = [1, 2, 3, 0, u32::MAX, u32::MAX, 1, 4];

fn loss(net: &Net, p: &SeqParams) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (l, _) = batch_loss(net, p, (&INPUTS, &TARGETS, 4), &mut rng, &Device::Cpu).unwrap();
    f64::from(l.to_scalar::<f32>().unwrap())
}

fn check(var: &Var, net: &Net, p: &SeqParams, analytic: &Tensor) {
    let base = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let grad = analytic.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let eps = 1e-2f32;
    for k in (0..base.len()).step_by(3) {
        let at = |delta: f32| {
            let mut v = base.clone();
            v[k] += delta;
            var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
            loss(net, p)
        };
        let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
        let g = f64::from(grad[k]);
        assert!(
            (numeric - g).abs() <= 2e-3 + 0.03 * g.abs(),
            "element {k}: autograd {g}, finite difference {numeric}"
        );
    }
    var.set(&Tensor::from_vec(base, var.shape(), &Device::Cpu).unwrap()).unwrap();
}

#[test]
fn gradients_match_finite_differences_with_full_and_sampled_softmax() {
    for negatives in [0, 3] {
        let p = params(negatives);
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let shape = Shape { items: 6, dim: p.dim, max_len: p.max_len, blocks: p.blocks };
        let net = Net::new(shape, &mut rng, &Device::Cpu).unwrap();
        let mut r = ChaCha8Rng::seed_from_u64(9);
        let (l, _) = batch_loss(&net, &p, (&INPUTS, &TARGETS, 4), &mut r, &Device::Cpu).unwrap();
        let grads = l.backward().unwrap();
        let vars = net.vars();
        // Item embeddings (input and output), positions, the first block's query projection
        // and its first layer norm's gain.
        for var in [&vars[0], &vars[1], &vars[6], &vars[2]] {
            check(var, &net, &p, grads.get(var).unwrap());
        }
    }
}
