//! Fixture builders, written once for every test, example and benchmark that needs a model
//! without running the trainer (the `testing` feature; the core's own tests, examples and
//! benchmarks turn it on through their dev-dependency on the crate itself).
//!
//! Everything here is deterministic: the same seed gives the same model bytes on every machine
//! and target, which the fixtures' snapshots rely on. Changing a draw here changes those bytes.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::index::build;
use crate::{ModelBuilder, ModelKind, SequenceBlock, SequenceParts};

/// SplitMix64, the generator the index builder seeds k-means with, so fixtures need no RNG
/// crate.
pub struct SplitMix(build::SplitMix);

impl SplitMix {
    /// A generator whose state starts at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(build::SplitMix(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next()
    }

    /// Uniform in [0, 1), with 24 random bits.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Approximately standard normal (the sum of twelve uniforms, less six).
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }

    /// `n` draws of `base + scale · normal`.
    pub fn vec(&mut self, n: usize, base: f32, scale: f32) -> Vec<f32> {
        (0..n).map(|_| base + scale * self.normal()).collect()
    }

    /// In `0..n`, from the 64 bits modulo `n` (the tests' draw).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// In `0..n`, from a uniform scaled by `n` (the fixture examples' draw, a different
    /// sequence from [`SplitMix::below`]'s).
    pub fn scaled_below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f32) as usize).min(n - 1)
    }
}

/// A random model with shuffled, non-contiguous string IDs, categories and seen items.
pub fn random_builder(kind: ModelKind, users: usize, items: usize, dim: usize, seed: u64) -> ModelBuilder {
    let mut rng = SplitMix::new(seed);
    let mut b = ModelBuilder::new(kind, dim);
    b.global_bias = 3.5;
    // Deliberately not in sorted order, so the builder's permutation is exercised.
    b.user_ids = (0..users).map(|u| format!("U{}", 10_000 + (u * 7919) % 99_991)).collect();
    let prefixes = ["TECH", "FASH", "SPRT"];
    b.item_ids = (0..items).map(|i| format!("{}{}", prefixes[i % 3], 100_000 + i * 7)).collect();
    b.item_categories = Some((0..items).map(|i| prefixes[i % 3].to_lowercase()).collect());
    b.user_factors = (0..users * dim).map(|_| rng.normal() * 0.5).collect();
    b.item_factors = (0..items * dim).map(|_| rng.normal() * 0.5).collect();
    b.user_bias = (0..users).map(|_| rng.normal() * 0.2).collect();
    b.item_bias = (0..items).map(|_| rng.normal() * 0.2).collect();
    for u in 0..users {
        for i in 0..items {
            if rng.uniform() < 0.2 {
                b.seen.push((u as u32, i as u32, 1.0 + rng.below(5) as f32));
            }
        }
    }
    b.item_projection = Some((0..items * 2).map(|_| rng.normal()).collect());
    b.rating_range = Some((1.0, 5.0));
    b.created_at = Some("2026-11-26T00:00:00Z".into());
    b.info = Some(r#"{"fixture":true}"#.into());
    b
}

/// The four-item rating model of the Worker's snapshots and the wasm bindings' tests: three
/// users, two dimensions, three categories and two seen items (they add `created_at` or an item
/// projection to it, so changing it changes their snapshots).
pub fn four_items() -> ModelBuilder {
    let mut b = ModelBuilder::new(ModelKind::Rating, 2);
    b.global_bias = 3.5;
    b.rating_range = Some((1.0, 5.0));
    b.user_ids = vec!["U1".into(), "U2".into(), "U3".into()];
    b.item_ids = vec!["FASH1".into(), "SPRT1".into(), "TECH1".into(), "TECH2".into()];
    b.item_categories = Some(vec!["fashion".into(), "sports".into(), "tech".into(), "tech".into()]);
    b.user_factors = vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5];
    b.item_factors = vec![0.0, 1.0, 0.2, 0.6, 1.0, 0.0, 0.9, 0.1];
    b.user_bias = vec![0.0; 3];
    b.item_bias = vec![0.0, 0.1, 0.0, -0.1];
    b.seen = vec![(0, 2, 5.0), (1, 0, 4.0)];
    b
}

/// A tensor to put in place of another: its dtype, shape and little-endian bytes.
pub type Replacement = (Dtype, Vec<usize>, Vec<u8>);

/// Re-serialises an artifact with tensor `name` replaced (`None` removes it).
///
/// # Panics
///
/// When `bytes` is not a safetensors file or the replacement is inconsistent: it is for tests.
pub fn rewrite(bytes: &[u8], name: &str, replace: Option<Replacement>) -> Vec<u8> {
    rewrite_with(bytes, name, replace, &[])
}

/// Like [`rewrite`], also setting (`Some`) or removing (`None`) metadata keys.
///
/// # Panics
///
/// As [`rewrite`].
pub fn rewrite_with(
    bytes: &[u8],
    name: &str,
    replace: Option<Replacement>,
    meta: &[(&str, Option<&str>)],
) -> Vec<u8> {
    let (_, header) = SafeTensors::read_metadata(bytes).expect("valid header");
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    for (k, v) in meta {
        match v {
            Some(v) => metadata.insert((*k).to_owned(), (*v).to_owned()),
            None => metadata.remove(*k),
        };
    }
    let st = SafeTensors::deserialize(bytes).expect("valid artifact");
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != name)
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    if let Some((dtype, shape, data)) = replace {
        owned.push((name.to_owned(), dtype, shape, data));
    }
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).expect("consistent tensor")))
        .collect();
    safetensors::serialize(views, Some(metadata)).expect("serialises")
}

fn random_block(rng: &mut SplitMix, d: usize) -> SequenceBlock {
    let mut m = || (0..d * d).map(|_| rng.normal() * 0.35).collect::<Vec<f32>>();
    let (q_w, k_w, v_w, o_w, ff1_w, ff2_w) = (m(), m(), m(), m(), m(), m());
    let mut v = |base: f32| (0..d).map(|_| base + rng.normal() * 0.2).collect::<Vec<f32>>();
    SequenceBlock {
        ln1_g: v(1.0),
        ln1_b: v(0.0),
        q_w,
        q_b: v(0.0),
        k_w,
        k_b: v(0.0),
        v_w,
        v_b: v(0.0),
        o_w,
        o_b: v(0.0),
        ln2_g: v(1.0),
        ln2_b: v(0.0),
        ff1_w,
        ff1_b: v(0.0),
        ff2_w,
        ff2_b: v(0.0),
    }
}

/// A random sequence network of width `d`, `len` slots and `blocks` blocks, with no history
/// (fill `history` with one row per user).
pub fn random_sequence(rng: &mut SplitMix, d: usize, len: usize, blocks: usize) -> SequenceParts {
    SequenceParts {
        max_len: len,
        blocks: (0..blocks).map(|_| random_block(rng, d)).collect(),
        positions: (0..len * d).map(|_| rng.normal() * 0.5).collect(),
        final_g: (0..d).map(|_| 1.0 + rng.normal() * 0.2).collect(),
        final_b: (0..d).map(|_| rng.normal() * 0.2).collect(),
        history: Vec::new(),
    }
}
