//! Users outside the artifact: a user answered from their record by the artifact without users
//! gets exactly the answer the full artifact gives them, for every filter option, with and
//! without the index; records round-trip; the decoder refuses what does not fit.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::testing;
use edgerec_core::{
    Error, IndexParams, Model, ModelBuilder, ModelKind, Quantization, RatingHeadParts, RecencyInfo,
    RecencyParts, RecommendOptions, Search, Source, UserRecord, build_index, split_users,
};
use proptest::prelude::*;

/// The fixture shapes: a rating model, and a ranking model with a rating head, a recency
/// component, int8 rows and an index; either ranking shape with a sequence network.
fn fixture(kind: ModelKind, users: usize, items: usize, dim: usize, seed: u64, rich: bool) -> ModelBuilder {
    let b = testing::random_builder(kind, users, items, dim, seed);
    if rich { with_head_recency_index(b, users, items, dim, seed) } else { b }
}

/// `b` (a ranking model) with a sequence network reading 4 items, and each user's history (0 to
/// 6 items).
fn with_sequence(mut b: ModelBuilder, users: usize, items: usize, dim: usize, seed: u64) -> ModelBuilder {
    let mut rng = testing::SplitMix::new(seed ^ 0x5EC);
    let mut parts = testing::random_sequence(&mut rng, dim, 4, 1);
    parts.history = (0..users).map(|u| (0..u % 7).map(|_| rng.below(items) as u32).collect()).collect();
    b.sequence = Some(parts);
    // The network's state is the whole user vector: no recency component, no biases.
    b.recency = None;
    b.user_bias = vec![0.0; users];
    b.item_bias = vec![0.0; items];
    b
}

/// `b` with a rating head, a recency component, int8 rows and an index.
fn with_head_recency_index(
    mut b: ModelBuilder,
    users: usize,
    items: usize,
    dim: usize,
    seed: u64,
) -> ModelBuilder {
    let head = testing::random_builder(ModelKind::Rating, users, items, 3, seed ^ 1);
    b.rating_head = Some(RatingHeadParts {
        dim: 3,
        global_bias: 3.5,
        user_factors: head.user_factors,
        item_factors: head.item_factors,
        user_bias: head.user_bias,
        item_bias: head.item_bias,
    });
    let info = RecencyInfo { weight: 2.0, decay: 0.7, window: 5 };
    let history =
        (0..users).map(|u| (0..u % 6).map(|k| ((u * 5 + k * 3) % items) as u32).collect()).collect();
    b.recency = Some(RecencyParts { info, history });
    b.item_quantization = Quantization::Int8;
    let params = IndexParams { lists: 6, nprobe: 2, iterations: 4, seed, sample_per_list: 8 };
    b.index = Some(build_index(&b.item_factors, &b.item_bias, dim, &params).unwrap());
    b
}

fn options(
    model: &Model<'_>,
    top_n: usize,
    exclude_rated: bool,
    excluded: &[usize],
    category: Option<usize>,
) -> RecommendOptions {
    RecommendOptions {
        top_n,
        exclude_rated,
        exclude_items: excluded.iter().map(|&i| model.item_id(i % model.num_items()).to_owned()).collect(),
        categories: category.map(|c| vec![model.categories()[c % 3].to_owned()]),
        unavailable: None,
        ..RecommendOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_record_answers_exactly_as_the_artifact(
        seed in any::<u64>(),
        ranking in any::<bool>(),
        rich in any::<bool>(),
        dim in prop_oneof![1usize..9, Just(16)],
        top_n in 1usize..30,
        exclude_rated in any::<bool>(),
        excluded in proptest::collection::vec(0usize..200, 0..8),
        category in proptest::option::of(0usize..3),
        exact in any::<bool>(),
        sequential in any::<bool>(),
    ) {
        let kind = if ranking || rich || sequential { ModelKind::Ranking } else { ModelKind::Rating };
        let mut b = fixture(kind, 12, 60, dim, seed, rich);
        if sequential {
            b = with_sequence(b, 12, 60, dim, seed);
        }
        let full_bytes = b.build().unwrap();
        let (outside_bytes, records) = split_users(&full_bytes).unwrap();
        let mut full = Model::from_bytes(&full_bytes).unwrap();
        let mut outside = Model::from_bytes(&outside_bytes).unwrap();
        prop_assert!(outside.users_external() && !full.users_external());
        prop_assert_eq!(outside.num_users(), 0);
        if exact && rich {
            full.set_search(Search::Exact).unwrap();
            outside.set_search(Search::Exact).unwrap();
        }
        prop_assert_eq!(records.len(), full.num_users());
        let opts = options(&full, top_n, exclude_rated, &excluded, category);
        for (id, record) in &records {
            let decoded = UserRecord::decode(&record.encode(), &outside).unwrap();
            prop_assert_eq!(&decoded, record);
            let want = full.recommend(id, &opts).unwrap();
            let got = outside.recommend_record(&decoded, &opts).unwrap();
            prop_assert_eq!(want.source, Source::Personalized);
            prop_assert_eq!(&got, &want);
            // The artifact without users knows nobody: the popular fallback.
            prop_assert_eq!(outside.recommend(id, &opts).unwrap().source, Source::Popular);
            // A session continues the record as it continues the artifact's user: the sequence
            // network over its history, the recency component, or the fold-in shift.
            let clicked = [(full.item_id(seed as usize % 60), 1.0), ("NOPE", 1.0), (full.item_id(7), 2.0)];
            let want = full.recommend_session(id, &clicked, &opts).unwrap();
            let got = outside.recommend_record_session(&decoded, &clicked, &opts).unwrap();
            prop_assert_eq!(want.source, Source::Session);
            prop_assert_eq!(&got, &want);
        }
    }
}

#[test]
fn an_artifact_without_users_serves_items() {
    let b = fixture(ModelKind::Ranking, 8, 50, 4, 3, true);
    let full_bytes = b.build().unwrap();
    let (bytes, records) = split_users(&full_bytes).unwrap();
    assert!(bytes.len() < full_bytes.len());
    let (full, outside) = (Model::from_bytes(&full_bytes).unwrap(), Model::from_bytes(&bytes).unwrap());
    let id = full.item_id(7);
    assert_eq!(outside.similar_items(id, 5, None).unwrap(), full.similar_items(id, 5, None).unwrap());
    let clicks = [(full.item_id(1), 1.0), (full.item_id(9), 2.0)];
    let opts = RecommendOptions::default();
    assert_eq!(
        outside.recommend_for_interactions(&clicks, &opts).unwrap(),
        full.recommend_for_interactions(&clicks, &opts).unwrap()
    );
    assert_eq!(outside.popular_items(), full.popular_items());
    assert_eq!(
        outside.predict(&records[0].0, id).unwrap_err().to_string(),
        format!("unknown user `{}`", records[0].0)
    );
    // Splitting twice changes nothing more, down to the bytes; so does splitting again.
    let (again, none) = split_users(&bytes).unwrap();
    assert!(none.is_empty());
    assert_eq!(again, bytes);
    assert_eq!(split_users(&full_bytes).unwrap().0, bytes);
}

fn user_record_error(bytes: &[u8], model: &Model<'_>) -> String {
    match UserRecord::decode(bytes, model) {
        Err(e @ Error::UserRecord(_)) => e.to_string(),
        other => panic!("expected a user record error, got {other:?}"),
    }
}

#[test]
fn the_decoder_refuses_what_does_not_fit() {
    let rich = fixture(ModelKind::Ranking, 8, 50, 4, 5, true).build().unwrap();
    let plain = fixture(ModelKind::Rating, 8, 50, 4, 5, false).build().unwrap();
    let wide = fixture(ModelKind::Rating, 8, 50, 5, 5, false).build().unwrap();
    let (rich, plain, wide) = (
        Model::from_bytes(&rich).unwrap(),
        Model::from_bytes(&plain).unwrap(),
        Model::from_bytes(&wide).unwrap(),
    );
    let with_head = rich.user_record(3).unwrap();
    let good = plain.user_record(3).unwrap().encode();
    assert!(user_record_error(&with_head.encode(), &plain).contains("rating head"));
    assert!(user_record_error(&good, &rich).contains("rating head"));
    assert!(user_record_error(&good, &wide).contains("dimension 4"));
    // Every truncation, and one byte too many.
    for n in 0..good.len() {
        user_record_error(&good[..n], &plain);
    }
    user_record_error(&[good.as_slice(), &[0]].concat(), &plain);
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    assert!(user_record_error(&patched(0, b"XRUR"), &plain).contains("ERUR"));
    assert!(user_record_error(&patched(4, &3u16.to_le_bytes()), &plain).contains("version 3"));
    // A version 2 header over a version 1 body: the lengths disagree.
    assert!(user_record_error(&patched(4, &2u16.to_le_bytes()), &plain).contains("header says"));
    assert!(user_record_error(&patched(6, &4u16.to_le_bytes()), &plain).contains("flags"));
    assert!(user_record_error(&patched(20, &f32::NAN.to_le_bytes()), &plain).contains("bias"));
    let seen = plain.seen_items(3).count();
    assert!(seen >= 2, "the fixture user has seen items");
    let first_seen = 20 + 4 * (1 + 4);
    let last_seen = first_seen + 4 * (seen - 1);
    assert!(user_record_error(&patched(last_seen, &50u32.to_le_bytes()), &plain).contains("out of range"));
    let second = plain.seen_items(3).next().unwrap().0 as u32;
    assert!(
        user_record_error(&patched(first_seen + 4, &second.to_le_bytes()), &plain).contains("increasing")
    );
    // Latest items past the stored window.
    let mut long = with_head.encode();
    let stored = with_head.recent_items().len();
    long[16..20].copy_from_slice(&6u32.to_le_bytes());
    long.extend(std::iter::repeat_n(0u8, 4 * (6 - stored)));
    assert!(user_record_error(&long, &rich).contains("at most 5"));
    // A sequence model's record is version 2 and carries the network's history; a model
    // without a network refuses it.
    let seq = with_sequence(fixture(ModelKind::Ranking, 8, 50, 4, 5, false), 8, 50, 4, 5).build().unwrap();
    let seq = Model::from_bytes(&seq).unwrap();
    let record = seq.user_record(6).unwrap();
    let bytes = record.encode();
    assert_eq!(bytes[4..6], 2u16.to_le_bytes());
    assert_eq!(UserRecord::decode(&bytes, &seq).unwrap(), record);
    assert!(user_record_error(&bytes, &plain).contains("reads at most 0"));
    assert_eq!(good[4..6], 1u16.to_le_bytes(), "records without a network stay version 1");
}

#[test]
fn only_an_empty_version_2_artifact_has_external_users() {
    let bytes = fixture(ModelKind::Rating, 4, 20, 3, 1, false).build().unwrap();
    let tagged = testing::rewrite_with(&bytes, "none", None, &[("users", Some("external"))]);
    let err = Model::from_bytes(&tagged).unwrap_err().to_string();
    assert!(err.contains("holds no users"), "{err}");
    let (outside, _) = split_users(&bytes).unwrap();
    let other = testing::rewrite_with(&outside, "none", None, &[("users", Some("elsewhere"))]);
    assert!(Model::from_bytes(&other).is_err());
}
