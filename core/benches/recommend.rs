//! `recommend` top-10 latency over 600 and 100,000 items at d = 64 (f32, int8, f16, and an IVF
//! index), fold-in, sessions, the sequence network's forward pass (L = 50, d = 64, 2 blocks),
//! similar items, and artifact load time.
//! Run: `cargo bench -p edgerec-core --bench recommend`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use edgerec_core::testing;
use edgerec_core::{
    IndexParams, Model, ModelKind, Quantization, RecencyInfo, RecencyParts, RecommendOptions, build_index,
};

fn model_bytes(items: usize) -> Vec<u8> {
    scaled_bytes(items, Quantization::F32, None)
}

/// The same fixture with compact item factors and, optionally, an index of `lists` lists
/// probed 16 at a time.
fn scaled_bytes(items: usize, q: Quantization, lists: Option<usize>) -> Vec<u8> {
    let mut b = testing::random_builder(ModelKind::Rating, 1000, items, 64, 7);
    // Keep the seen lists realistic (about 50 per user) at any catalogue size.
    b.seen.retain(|&(_, i, _)| (i as usize) < 250);
    b.item_quantization = q;
    if let Some(lists) = lists {
        let params = IndexParams { nprobe: 16, ..IndexParams::with_lists(lists) };
        b.index = Some(build_index(&b.item_factors, &b.item_bias, 64, &params).expect("index builds"));
    }
    b.build().expect("fixture builds")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("recommend_top10_d64");
    for items in [600usize, 100_000] {
        let bytes = model_bytes(items);
        let model = Model::from_bytes(&bytes).expect("fixture loads");
        let opts = RecommendOptions::default();
        let users: Vec<&str> = model.user_ids(0, 1000).collect();
        group.bench_with_input(BenchmarkId::from_parameter(items), &items, |b, _| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % users.len();
                black_box(model.recommend(users[k], &opts).expect("known user"))
            })
        });
    }
    for (name, items, q, lists) in [
        ("int8_600", 600, Quantization::Int8, None),
        ("f16_600", 600, Quantization::F16, None),
        ("int8_100000", 100_000, Quantization::Int8, None),
        ("ivf316_nprobe16_100000", 100_000, Quantization::F32, Some(316)),
        ("ivf316_nprobe16_int8_100000", 100_000, Quantization::Int8, Some(316)),
    ] {
        let bytes = scaled_bytes(items, q, lists);
        let model = Model::from_bytes(&bytes).expect("fixture loads");
        let opts = RecommendOptions::default();
        let users: Vec<&str> = model.user_ids(0, 1000).collect();
        group.bench_function(name, |b| {
            let mut k = 0;
            b.iter(|| {
                k = (k + 1) % users.len();
                black_box(model.recommend(users[k], &opts).expect("known user"))
            })
        });
    }
    group.finish();

    let bytes = model_bytes(100_000);
    c.bench_function("load_100k_items_d64", |b| {
        b.iter(|| black_box(Model::from_bytes(&bytes).expect("loads")))
    });

    let bytes = model_bytes(600);
    let model = Model::from_bytes(&bytes).expect("fixture loads");
    let interactions: Vec<(&str, f32)> = (0..10).map(|i| (model.item_id(i * 7), 4.0)).collect();
    c.bench_function("fold_in_recommend_10_interactions_600_items", |b| {
        b.iter(|| black_box(model.recommend_for_interactions(&interactions, &RecommendOptions::default())))
    });
    // The served default: a ranking model with a recency component (decay 0.5: 7 latest items),
    // a known user plus three interactions they just made.
    let mut b = testing::random_builder(ModelKind::Ranking, 1000, 600, 64, 7);
    b.rating_range = None;
    b.seen.retain(|&(_, i, _)| i < 250);
    let history = (0..1000u32).map(|u| (0..7).map(|k| (u * 13 + k * 31) % 600).collect()).collect();
    b.recency = Some(RecencyParts { info: RecencyInfo { weight: 2.0, decay: 0.5, window: 7 }, history });
    let session_bytes = b.build().expect("fixture builds");
    let session_model = Model::from_bytes(&session_bytes).expect("fixture loads");
    let users: Vec<&str> = session_model.user_ids(0, 1000).collect();
    let clicks: Vec<(&str, f32)> = (0..3).map(|i| (session_model.item_id(300 + i * 11), 1.0)).collect();
    c.bench_function("session_recommend_known_user_3_interactions_600_items", |bn| {
        let mut k = 0;
        bn.iter(|| {
            k = (k + 1) % users.len();
            black_box(session_model.recommend_session(users[k], &clicks, &RecommendOptions::default()))
        })
    });
    // The sequence network's forward pass (L = 50, d = 64, 2 blocks) over a full window, alone
    // and inside a known user's session (stored history of 47 plus three clicks).
    let mut b = testing::random_builder(ModelKind::Ranking, 1000, 600, 64, 7);
    b.seen.retain(|&(_, i, _)| i < 250);
    let mut rng = testing::SplitMix::new(50);
    let mut parts = testing::random_sequence(&mut rng, 64, 50, 2);
    parts.history = (0..1000u32).map(|u| (0..47).map(|k| (u * 13 + k * 31) % 600).collect()).collect();
    b.sequence = Some(parts);
    let seq_bytes = b.build().expect("fixture builds");
    let seq_model = Model::from_bytes(&seq_bytes).expect("fixture loads");
    let window: Vec<usize> = (0..50).map(|k| (k * 37 + 5) % 600).collect();
    c.bench_function("sequence_forward_l50_d64_2blocks", |bn| {
        bn.iter(|| black_box(seq_model.sequence_state(black_box(&window)).expect("runs")))
    });
    let users: Vec<&str> = seq_model.user_ids(0, 1000).collect();
    c.bench_function("sequence_session_known_user_3_interactions_600_items", |bn| {
        let mut k = 0;
        bn.iter(|| {
            k = (k + 1) % users.len();
            black_box(seq_model.recommend_session(users[k], &clicks, &RecommendOptions::default()))
        })
    });
    c.bench_function("similar_items_600", |b| {
        b.iter(|| black_box(model.similar_items(model.item_id(3), 10, None)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
