//! Fallbacks, exclusions, filters, fold-in and load errors.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::testing;
use edgerec_core::{Error, Model, ModelBuilder, ModelKind, RecommendOptions, Source};

fn fixture(kind: ModelKind) -> Vec<u8> {
    testing::random_builder(kind, 20, 40, 8, 11).build().unwrap()
}

#[test]
fn unknown_user_gets_popularity_fallback_and_says_so() {
    let bytes = fixture(ModelKind::Rating);
    let model = Model::from_bytes(&bytes).unwrap();
    let recs = model.recommend("U-nobody", &RecommendOptions { top_n: 5, ..Default::default() }).unwrap();
    assert_eq!(recs.source, Source::Popular);
    assert!(recs.reason.as_deref().unwrap().contains("U-nobody"));
    let expected: Vec<usize> = model.popular_items()[..5].iter().map(|&i| i as usize).collect();
    assert_eq!(recs.items.iter().map(|s| s.index).collect::<Vec<_>>(), expected);
    // Popularity is by seen counts when the builder is not told otherwise.
    let count =
        |i: usize| (0..model.num_users()).filter(|&u| model.seen_items(u).any(|(j, _)| j == i)).count();
    assert!(expected.windows(2).all(|w| count(w[0]) >= count(w[1])));
    // Ordered by popularity, rated by the model: the ratings still never rise with rank.
    let ratings: Vec<f32> = recs.items.iter().map(|s| s.predicted_rating.unwrap()).collect();
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "{ratings:?}");
}

#[test]
fn exclusions_and_category_filter_apply() {
    let bytes = fixture(ModelKind::Rating);
    let model = Model::from_bytes(&bytes).unwrap();
    let user = 3;
    let uid = model.user_id(user);
    let seen: Vec<usize> = model.seen_items(user).map(|(i, _)| i).collect();
    assert!(!seen.is_empty());
    let all = model.recommend(uid, &RecommendOptions { top_n: 40, ..Default::default() }).unwrap();
    assert_eq!(all.items.len(), 40 - seen.len());
    assert!(all.items.iter().all(|s| !seen.contains(&s.index)));

    let with_seen = model
        .recommend(uid, &RecommendOptions { top_n: 40, exclude_rated: false, ..Default::default() })
        .unwrap();
    assert_eq!(with_seen.items.len(), 40);

    let banned = all.items[0].item_id.to_owned();
    let opts =
        RecommendOptions { exclude_items: vec![banned.clone(), "NOT-AN-ITEM".into()], ..Default::default() };
    let recs = model.recommend(uid, &opts).unwrap();
    assert!(recs.items.iter().all(|s| s.item_id != banned));

    let opts = RecommendOptions { top_n: 40, categories: Some(vec!["tech".into()]), ..Default::default() };
    let recs = model.recommend(uid, &opts).unwrap();
    assert!(!recs.items.is_empty());
    assert!(recs.items.iter().all(|s| model.item_category(s.index) == Some("tech")));

    let opts = RecommendOptions { categories: Some(vec!["garden".into()]), ..Default::default() };
    assert!(matches!(model.recommend(uid, &opts), Err(Error::UnknownCategory { .. })));
    for n in [0, edgerec_core::MAX_TOP_N + 1] {
        let opts = RecommendOptions { top_n: n, ..Default::default() };
        assert!(matches!(model.recommend(uid, &opts), Err(Error::InvalidArgument(_))));
    }
}

#[test]
fn rating_predictions_are_clamped_to_the_scale() {
    let mut b = testing::random_builder(ModelKind::Rating, 2, 3, 2, 1);
    b.user_factors = vec![10.0, 10.0, -10.0, -10.0];
    b.item_factors = vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let bytes = b.build().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    for u in 0..2 {
        for i in 0..3 {
            let p = model.predict(model.user_id(u), model.item_id(i)).unwrap();
            assert!((1.0..=5.0).contains(&p), "{p}");
        }
    }
    assert!(matches!(model.predict("nobody", model.item_id(0)), Err(Error::UnknownUser { .. })));
    assert!(matches!(model.similar_items("nothing", 3, None), Err(Error::UnknownItem { .. })));
}

/// Builds a model whose users have planted tastes, so a user's best items are known.
fn planted(kind: ModelKind) -> (ModelBuilder, Vec<Vec<usize>>) {
    let (users, items, dim) = (30, 300, 8);
    let mut rng = testing::SplitMix::new(5);
    let mut b = ModelBuilder::new(kind, dim);
    b.global_bias = 3.0;
    b.rating_range = Some((-100.0, 100.0));
    b.user_ids = (0..users).map(|u| format!("U{u:05}")).collect();
    b.item_ids = (0..items).map(|i| format!("I{i:05}")).collect();
    b.user_factors = (0..users * dim).map(|_| rng.normal()).collect();
    b.item_factors = (0..items * dim).map(|_| rng.normal() * 0.5).collect();
    b.user_bias = vec![0.0; users];
    b.item_bias = vec![0.0; items];
    // Each user's 30 best items by true score.
    let mut best = Vec::new();
    for u in 0..users {
        let uf = &b.user_factors[u * dim..(u + 1) * dim];
        let mut order: Vec<usize> = (0..items).collect();
        let score = |i: usize| edgerec_core::kernel::dot(uf, &b.item_factors[i * dim..(i + 1) * dim]);
        order.sort_by(|&x, &y| score(y).total_cmp(&score(x)));
        order.truncate(30);
        best.push(order);
    }
    (b, best)
}

fn fold_in_ranks_held_back_items_well(kind: ModelKind) {
    let (b, best) = planted(kind);
    let bytes = b.build().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut percentiles = Vec::new();
    for (u, top) in best.iter().enumerate() {
        let uf = &b.user_factors[u * b.dim..(u + 1) * b.dim];
        let (given, held) = top.split_at(20);
        let interactions: Vec<(String, f32)> = given
            .iter()
            .map(|&i| {
                let value = match kind {
                    ModelKind::Rating => {
                        3.0 + edgerec_core::kernel::dot(uf, &b.item_factors[i * b.dim..(i + 1) * b.dim])
                    }
                    ModelKind::Ranking => 1.0,
                };
                (b.item_ids[i].clone(), value)
            })
            .collect();
        let opts = RecommendOptions { top_n: 280, ..Default::default() };
        let recs = model.recommend_for_interactions(&interactions, &opts).unwrap();
        assert_eq!(recs.source, Source::FoldIn);
        assert_eq!(recs.items.len(), 280, "the 20 given items are excluded");
        for &h in held {
            let rank = recs.items.iter().position(|s| s.item_id == b.item_ids[h]).unwrap();
            percentiles.push(rank as f64 / 280.0);
        }
    }
    let mean = percentiles.iter().sum::<f64>() / percentiles.len() as f64;
    // Random ranking puts held-back items at the 50th percentile on average.
    assert!(mean < 0.15, "{kind:?}: held-back items at mean percentile {mean:.3}");
}

#[test]
fn fold_in_ranks_held_back_items_well_above_random_rating() {
    fold_in_ranks_held_back_items_well(ModelKind::Rating);
}

#[test]
fn fold_in_ranks_held_back_items_well_above_random_ranking() {
    fold_in_ranks_held_back_items_well(ModelKind::Ranking);
}

#[test]
fn fold_in_reports_unknown_items_and_falls_back_when_none_known() {
    let bytes = fixture(ModelKind::Rating);
    let model = Model::from_bytes(&bytes).unwrap();
    let known = model.item_id(0).to_owned();
    let recs = model
        .recommend_for_interactions(&[(known.as_str(), 5.0), ("GHOST1", 4.0)], &RecommendOptions::default())
        .unwrap();
    assert_eq!(recs.source, Source::FoldIn);
    assert_eq!(recs.unknown_items, vec!["GHOST1".to_owned()]);
    assert!(recs.items.iter().all(|s| s.item_id != known));

    let recs = model.recommend_for_interactions(&[("GHOST1", 4.0)], &RecommendOptions::default()).unwrap();
    assert_eq!(recs.source, Source::Popular);
    assert_eq!(recs.unknown_items, vec!["GHOST1".to_owned()]);
    let empty: [(&str, f32); 0] = [];
    assert_eq!(
        model.recommend_for_interactions(&empty, &RecommendOptions::default()).unwrap().source,
        Source::Popular
    );
    assert!(matches!(model.fold_in(&[(known.as_str(), f32::NAN)]), Err(Error::InvalidArgument(_))));
}

#[test]
fn listings_paginate_in_id_order() {
    let bytes = fixture(ModelKind::Rating);
    let model = Model::from_bytes(&bytes).unwrap();
    let all: Vec<&str> = model.user_ids(0, usize::MAX).collect();
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    let page: Vec<&str> = model.user_ids(5, 4).collect();
    assert_eq!(page, all[5..9]);
    assert_eq!(model.user_ids(100, 4).count(), 0);
    assert_eq!(model.user_position_after(all[6]), 7);
    assert_eq!(model.item_ids(38, 10).count(), 2);
}

#[test]
fn truncated_file_is_a_clear_error() {
    let bytes = fixture(ModelKind::Rating);
    for cut in [0, 4, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        let err = Model::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(err, Error::Format(_)), "cut {cut}: {err}");
    }
}

#[test]
fn unknown_version_is_a_clear_error() {
    let bytes = fixture(ModelKind::Rating);
    // Rewrite the version inside the JSON header, keeping its length.
    let needle = br#""format_version":"2""#;
    let pos = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut patched = bytes.clone();
    patched[pos + needle.len() - 2] = b'9';
    let err = Model::from_bytes(&patched).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }));
    assert!(err.to_string().contains("`9`"), "{err}");
    // A version-1 artifact (no v2 parts) still loads.
    patched[pos + needle.len() - 2] = b'1';
    let model = Model::from_bytes(&patched).unwrap();
    assert_eq!(model.info().format_version, 1);
}

#[test]
fn builder_rejects_duplicate_ids_and_bad_shapes() {
    let mut b = testing::random_builder(ModelKind::Rating, 4, 5, 2, 3);
    b.item_ids[1] = b.item_ids[0].clone();
    assert!(b.build().unwrap_err().to_string().contains("duplicate item ID"));
    let mut b = testing::random_builder(ModelKind::Rating, 4, 5, 2, 3);
    b.user_factors.pop();
    assert!(b.build().unwrap_err().to_string().contains("user_factors"));
}

#[test]
fn the_same_parts_build_the_same_bytes() {
    // Content-addressed publishing keys a model by its bytes' hash, so building the same parts
    // twice must give the same file (the metadata is a map, whose order must not leak in).
    let mut b = testing::random_builder(ModelKind::Ranking, 6, 9, 4, 5);
    b.fold_in = Some((2.0, 0.5));
    let first = b.build().unwrap();
    for _ in 0..8 {
        assert_eq!(b.build().unwrap(), first);
    }
    assert_eq!(Model::from_bytes(&first).unwrap().info().num_items, 9);
}

#[test]
fn the_popularity_list_must_be_a_permutation() {
    let bytes = fixture(ModelKind::Rating);
    let mut repeated: Vec<u32> = (0..40).collect();
    repeated[7] = 3;
    let out_of_range: Vec<u32> = (1..=40).collect();
    for bad in [repeated, out_of_range] {
        let data = bad.iter().flat_map(|i| i.to_le_bytes()).collect();
        let patched =
            testing::rewrite(&bytes, "item_popularity", Some((safetensors::Dtype::U32, vec![40], data)));
        let err = Model::from_bytes(&patched).unwrap_err().to_string();
        assert!(err.contains("`item_popularity` is not a permutation of the items"), "{err}");
    }
    // Unchanged, the same list loads.
    let order: Vec<u32> = (0..40).collect();
    let data = order.iter().flat_map(|i| i.to_le_bytes()).collect();
    assert!(
        Model::from_bytes(&testing::rewrite(
            &bytes,
            "item_popularity",
            Some((safetensors::Dtype::U32, vec![40], data))
        ))
        .is_ok()
    );
}
