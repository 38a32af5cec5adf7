//! Writes small real artifacts (v1, v2 plain, v2 with recency and a rating head, int8, f16, v3
//! with an index, v5 with compact item tables) as the fuzzer's seed corpus; `run.sh` adds the v2 indexed test fixture.
//!
//! `cargo run -p edgerec-core --example fuzz_seeds -- DIR`

use edgerec_core::{
    IndexParams, ModelBuilder, ModelKind, Quantization, RatingHeadParts, RecencyInfo, RecencyParts,
    build_index,
};

fn base(kind: ModelKind, users: usize, items: usize, dim: usize, seed: u64) -> ModelBuilder {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let mut b = ModelBuilder::new(kind, dim);
    b.global_bias = if kind == ModelKind::Rating { 3.5 } else { 0.0 };
    b.user_ids = (0..users).map(|u| format!("U{u}")).collect();
    b.item_ids = (0..items).map(|i| format!("I{i}")).collect();
    b.item_categories = Some((0..items).map(|i| ["a", "b", "c"][i % 3].to_owned()).collect());
    b.user_factors = (0..users * dim).map(|_| next()).collect();
    b.item_factors = (0..items * dim).map(|_| next()).collect();
    b.user_bias = (0..users).map(|_| next() * 0.1).collect();
    b.item_bias = (0..items).map(|_| next() * 0.1).collect();
    b.seen = (0..users)
        .flat_map(|u| (0..3).map(move |k| (u as u32, ((u * 5 + k * 7) % items) as u32, 4.0)))
        .collect();
    if kind == ModelKind::Rating {
        b.rating_range = Some((1.0, 5.0));
    }
    b
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?;
    std::fs::create_dir_all(&dir)?;
    let write = |name: &str, bytes: Vec<u8>| -> Result<(), Box<dyn std::error::Error>> {
        edgerec_core::Model::from_bytes(&bytes)?; // every seed is a valid artifact
        Ok(std::fs::write(format!("{dir}/{name}.safetensors"), bytes)?)
    };

    let plain = base(ModelKind::Rating, 5, 24, 4, 1).build()?;
    // Version 1 is version 2 without the optional parts: the same bytes, another version.
    let key = br#""format_version":"2""#;
    let at = plain.windows(key.len()).position(|w| w == key).ok_or("no format_version")?;
    let mut v1 = plain.clone();
    v1[at + key.len() - 2] = b'1';
    write("v1_rating", v1)?;
    write("v2_rating", plain)?;

    let mut ranked = base(ModelKind::Ranking, 5, 30, 6, 2);
    ranked.recency = Some(RecencyParts {
        info: RecencyInfo { weight: 2.0, decay: 0.5, window: 3 },
        history: (0..5).map(|u| vec![u as u32, (u + 9) as u32]).collect(),
    });
    let head = base(ModelKind::Rating, 5, 30, 2, 3);
    ranked.rating_head = Some(RatingHeadParts {
        dim: 2,
        global_bias: 3.5,
        user_factors: head.user_factors,
        item_factors: head.item_factors,
        user_bias: head.user_bias,
        item_bias: head.item_bias,
    });
    ranked.rating_range = Some((1.0, 5.0));
    ranked.fold_in = Some((2.0, 0.5));
    write("v2_ranking_recency_head", ranked.build()?)?;

    for (name, q) in [("int8", Quantization::Int8), ("f16", Quantization::F16)] {
        let mut b = base(ModelKind::Ranking, 4, 40, 8, 4);
        b.item_quantization = q;
        write(&format!("v2_{name}"), b.build()?)?;
        let params = IndexParams { lists: 5, nprobe: 2, iterations: 5, seed: 1, sample_per_list: 8 };
        b.index = Some(build_index(&b.item_factors, &b.item_bias, b.dim, &params)?);
        write(&format!("v3_{name}_index"), b.build()?)?;
    }
    let mut b = base(ModelKind::Rating, 4, 50, 4, 5);
    let params = IndexParams { lists: 6, nprobe: 1, iterations: 5, seed: 2, sample_per_list: 8 };
    b.index = Some(build_index(&b.item_factors, &b.item_bias, b.dim, &params)?);
    write("v3_rating_index", b.build()?)?;
    // Version 5: U8 categories and no item biases (all zero, as iALS leaves them), with an index.
    let mut b = base(ModelKind::Ranking, 4, 40, 8, 6);
    b.item_bias = vec![0.0; 40];
    b.item_quantization = Quantization::Int8;
    b.compact_item_tables = true;
    let params = IndexParams { lists: 5, nprobe: 2, iterations: 5, seed: 3, sample_per_list: 8 };
    b.index = Some(build_index(&b.item_factors, &b.item_bias, b.dim, &params)?);
    write("v5_int8_index_compact_tables", b.build()?)?;
    eprintln!("wrote 9 seed artifacts to {dir}");
    Ok(())
}
