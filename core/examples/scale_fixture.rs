//! Writes a large synthetic catalogue for the scale benchmark (`bench/scale/run.py`): item
//! factors around 1,000 centres (trained factors cluster; uniform noise would not), users
//! drawn the same way, an IVF index and the chosen item storage. Optionally dumps the raw
//! vectors (f32, little-endian) for faiss.
//!
//! `cargo run --release -p edgerec-core --example scale_fixture -- OUT ITEMS DIM USERS LISTS none|int8|f16 [RAW_DIR]`

use std::time::Instant;

use edgerec_core::{IndexParams, Model, ModelBuilder, ModelKind, build_index};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: scale_fixture OUT ITEMS DIM USERS LISTS none|int8|f16 [RAW_DIR]";
    let [out, items, dim, users, lists, quant, ..] = args.as_slice() else { return Err(usage.into()) };
    let (items, dim, users, lists): (usize, usize, usize, usize) =
        (items.parse()?, dim.parse()?, users.parse()?, lists.parse()?);
    let mut state = 42u64;
    let mut normal = move || {
        let mut s = 0f32;
        for _ in 0..12 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            s += (state >> 40) as f32 / (1u64 << 24) as f32;
        }
        s - 6.0
    };
    let centres = 1000;
    let centre: Vec<f32> = (0..centres * dim).map(|_| normal() * 0.3).collect();
    let mut b = ModelBuilder::new(ModelKind::Ranking, dim);
    b.user_ids = (0..users).map(|u| format!("u{u:07}")).collect();
    b.item_ids = (0..items).map(|i| format!("i{i:08}")).collect();
    let mut draw = |n: usize| -> Vec<f32> {
        let mut v = Vec::with_capacity(n * dim);
        for r in 0..n {
            let c = (r * 7919) % centres;
            v.extend((0..dim).map(|k| centre[c * dim + k] + 0.15 * normal()));
        }
        v
    };
    b.item_factors = draw(items);
    b.user_factors = draw(users);
    b.user_bias = vec![0.0; users];
    b.item_bias = vec![0.0; items];
    b.item_quantization = quant.parse()?;
    let started = Instant::now();
    let params = IndexParams { nprobe: 1, ..IndexParams::with_lists(lists) };
    b.index = Some(build_index(&b.item_factors, &b.item_bias, dim, &params)?);
    let index_seconds = started.elapsed().as_secs_f64();
    let bytes = b.build()?;
    if let Some(raw) = args.get(6) {
        // In the artifact's order (users: IDs sort as generated; items: numbered list by list
        // in format v3), so faiss ids match core indices.
        let model = Model::from_bytes(&bytes)?;
        let mut items_f32 = Vec::with_capacity(b.item_factors.len());
        for k in 0..items {
            let original: usize = model.item_id(k)[1..].parse()?;
            items_f32.extend_from_slice(&b.item_factors[original * dim..(original + 1) * dim]);
        }
        std::fs::create_dir_all(raw)?;
        std::fs::write(format!("{raw}/items.f32"), bytemuck::cast_slice(&items_f32))?;
        std::fs::write(format!("{raw}/users.f32"), bytemuck::cast_slice(&b.user_factors))?;
    }
    std::fs::write(out, &bytes)?;
    // The same catalogue without users: what a catalogue-only artifact weighs.
    let mut items_only = b.clone();
    (items_only.user_ids, items_only.user_factors, items_only.user_bias) =
        (Vec::new(), Vec::new(), Vec::new());
    let no_users = items_only.build()?.len();
    println!(
        r#"{{"items":{items},"dim":{dim},"users":{users},"lists":{lists},"item_factors":"{quant}","index_build_seconds":{index_seconds:.2},"artifact_bytes":{},"artifact_bytes_without_users":{no_users}}}"#,
        bytes.len()
    );
    Ok(())
}
