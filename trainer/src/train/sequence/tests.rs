//! The network's gradients against finite differences of its loss.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::fit::{SeqParams, batch_loss};
use super::net::{Net, Shape};
use crate::train::fit::Verbosity;

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

/// Training is the same, bit for bit, whatever the thread count: a batch's parts and the
/// fused ops' chunks are fixed, and their sums are added in order.
#[test]
fn training_is_bit_identical_on_one_two_and_four_threads() {
    let histories: Vec<Vec<u32>> =
        (0..40u32).map(|u| (0..3 + u % 9).map(|k| (u * 7 + k * 3) % 29).collect()).collect();
    let p = SeqParams { dim: 8, max_len: 6, epochs: 2, batch_users: 8, dropout: 0.2, ..params(0) };
    let weights = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let f = pool
            .install(|| super::fit::fit(&p, 29, &histories, None, None, &Device::Cpu, Verbosity::Quiet))
            .unwrap();
        f.net
            .vars()
            .iter()
            .flat_map(|v| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .collect::<Vec<_>>()
    };
    let one = weights(1);
    assert_eq!(one, weights(2));
    assert_eq!(one, weights(4));
    assert!(one.iter().all(|w| w.is_finite()));
}
