//! Deterministic fixture models for the core's tests.
#![allow(dead_code)]

use std::collections::HashMap;

use edgerec_core::{ModelBuilder, ModelKind, SequenceBlock, SequenceParts};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// SplitMix64: a tiny seeded generator so fixtures need no RNG crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A random model with shuffled, non-contiguous string IDs, categories and seen items.
pub fn random_builder(kind: ModelKind, users: usize, items: usize, dim: usize, seed: u64) -> ModelBuilder {
    let mut rng = Rng::new(seed);
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

/// Re-serialises an artifact with tensor `name` replaced (`None` removes it).
pub fn rewrite(bytes: &[u8], name: &str, replace: Option<(Dtype, Vec<usize>, Vec<u8>)>) -> Vec<u8> {
    rewrite_with(bytes, name, replace, &[])
}

/// Like [`rewrite`], also setting (`Some`) or removing (`None`) metadata keys.
pub fn rewrite_with(
    bytes: &[u8],
    name: &str,
    replace: Option<(Dtype, Vec<usize>, Vec<u8>)>,
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

fn random_block(rng: &mut Rng, d: usize) -> SequenceBlock {
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
pub fn random_sequence(rng: &mut Rng, d: usize, len: usize, blocks: usize) -> SequenceParts {
    SequenceParts {
        max_len: len,
        blocks: (0..blocks).map(|_| random_block(rng, d)).collect(),
        positions: (0..len * d).map(|_| rng.normal() * 0.5).collect(),
        final_g: (0..d).map(|_| 1.0 + rng.normal() * 0.2).collect(),
        final_b: (0..d).map(|_| rng.normal() * 0.2).collect(),
        history: Vec::new(),
    }
}
