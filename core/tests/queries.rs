//! Optimised queries against naive full sorts, round trips, and the loader under mutation.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::testing;
use edgerec_core::{Model, ModelKind, RecommendOptions, Source};
use proptest::prelude::*;

fn naive_top(scores: Vec<(usize, f32)>, n: usize) -> Vec<(usize, f32)> {
    let mut all = scores;
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn recommend_matches_full_sort(
        seed in any::<u64>(),
        users in 1usize..12,
        // Up to three scoring blocks (256 items each), at odd and at specialised dimensions.
        items in prop_oneof![1usize..80, 200usize..700],
        dim in prop_oneof![1usize..20, Just(32), Just(64)],
        top_n in 1usize..30,
        exclude_rated in any::<bool>(),
        excluded in proptest::collection::vec(0usize..700, 0..6),
        category in proptest::option::of(0usize..3),
        ranking in any::<bool>(),
    ) {
        let kind = if ranking { ModelKind::Ranking } else { ModelKind::Rating };
        let b = testing::random_builder(kind, users, items, dim, seed);
        let bytes = b.build().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let user = (seed as usize) % users;
        let user_id = model.user_id(user).to_owned();
        let exclude_items: Vec<String> = excluded.iter().filter(|&&i| i < items).map(|&i| model.item_id(i).to_owned()).collect();
        let known_categories = model.categories();
        let categories = category.map(|c| vec![known_categories[c % known_categories.len()].to_owned()]);
        let opts = RecommendOptions { top_n, exclude_rated, exclude_items: exclude_items.clone(), categories: categories.clone(), unavailable: None, ..RecommendOptions::default() };
        let got = model.recommend(&user_id, &opts).unwrap();
        prop_assert_eq!(got.source, Source::Personalized);

        let seen: Vec<usize> = model.seen_items(user).map(|(i, _)| i).collect();
        let candidates: Vec<(usize, f32)> = (0..items)
            .filter(|i| !(exclude_rated && seen.contains(i)))
            .filter(|i| !exclude_items.iter().any(|e| e == model.item_id(*i)))
            .filter(|i| categories.as_ref().is_none_or(|c| c[0] == model.item_category(*i).unwrap()))
            .map(|i| (i, model.score(user, i).unwrap()))
            .collect();
        let want = naive_top(candidates, top_n);
        let got_idx: Vec<usize> = got.items.iter().map(|s| s.index).collect();
        let want_idx: Vec<usize> = want.iter().map(|s| s.0).collect();
        prop_assert_eq!(got_idx, want_idx);
        for (g, w) in got.items.iter().zip(&want) {
            let expected = if ranking { w.1 } else { w.1.clamp(1.0, 5.0) };
            prop_assert_eq!(g.score.to_bits(), expected.to_bits());
            prop_assert_eq!(g.item_id, model.item_id(w.0));
        }
    }

    #[test]
    fn similar_items_match_full_sort(
        seed in any::<u64>(),
        items in prop_oneof![2usize..80, 200usize..700],
        dim in prop_oneof![1usize..20, Just(64)],
        n in 1usize..30,
        off in proptest::collection::vec(0usize..700, 0..40),
    ) {
        let b = testing::random_builder(ModelKind::Rating, 3, items, dim, seed);
        let bytes = b.build().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let item = (seed as usize) % items;
        // Unavailable items (some past the catalogue, ignored) never appear, and the list is
        // still the best `n` of the rest.
        let off: Vec<usize> = off.into_iter().filter(|&j| j < items).collect();
        let (unavailable, unknown) = model.unavailable(off.iter().map(|&j| model.item_id(j)));
        prop_assert!(unknown.is_empty());
        let q = model.item_factors(item).unwrap();
        let norm = |v: &[f32]| edgerec_core::kernel::dot(v, v).sqrt();
        let cands: Vec<(usize, f32)> = (0..items)
            .filter(|&j| j != item && !off.contains(&j))
            .map(|j| {
                let v = model.item_factors(j).unwrap();
                let denom = norm(q) * norm(v);
                (j, if denom > 0.0 { edgerec_core::kernel::dot(q, v) / denom } else { 0.0 })
            })
            .collect();
        let want = naive_top(cands, n);
        let got = model.similar_items(model.item_id(item), n, Some(&unavailable)).unwrap();
        let got: Vec<(usize, u32)> = got.iter().map(|s| (s.index, s.score.to_bits())).collect();
        let want: Vec<(usize, u32)> = want.iter().map(|s| (s.0, s.1.to_bits())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn dot_matches_plain_loop(v in proptest::collection::vec((-10f32..10.0, -10f32..10.0), 0..200)) {
        let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
        let scale: f64 = a.iter().zip(&b).map(|(x, y)| f64::from((x * y).abs())).sum::<f64>() + 1.0;
        prop_assert!((f64::from(edgerec_core::kernel::dot(&a, &b)) - plain).abs() <= 1e-5 * scale);
    }

    /// Random byte flips and truncations of a valid artifact never panic the loader, and a
    /// model that still loads answers queries without panicking.
    #[test]
    fn loader_never_panics_on_mutations(
        seed in any::<u64>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let b = testing::random_builder(ModelKind::Rating, 5, 17, 4, seed);
        let mut bytes = b.build().unwrap();
        for (pos, value) in &flips {
            let p = pos.index(bytes.len());
            bytes[p] = *value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(model) = Model::from_bytes(&bytes) {
            for u in 0..model.num_users() {
                let _ = model.recommend(model.user_id(u), &RecommendOptions::default());
            }
            for i in 0..model.num_items() {
                let _ = model.similar_items(model.item_id(i), 5, None);
            }
            let _ = model.recommend_for_interactions(&[(model.item_id(0), 5.0)], &RecommendOptions::default());
        }
    }
}

#[test]
fn round_trip_scores_are_bit_identical() {
    let b = testing::random_builder(ModelKind::Rating, 30, 50, 16, 7);
    let bytes = b.build().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!((model.num_users(), model.num_items(), model.dim()), (30, 50, 16));
    for (u, uid) in b.user_ids.iter().enumerate() {
        let mu = model.user_index(uid).unwrap();
        assert_eq!(model.user_factors(mu).unwrap(), &b.user_factors[u * 16..(u + 1) * 16]);
        for (i, iid) in b.item_ids.iter().enumerate() {
            let mi = model.item_index(iid).unwrap();
            let expected = b.global_bias
                + b.user_bias[u]
                + b.item_bias[i]
                + edgerec_core::kernel::dot(
                    &b.user_factors[u * 16..(u + 1) * 16],
                    &b.item_factors[i * 16..(i + 1) * 16],
                );
            assert_eq!(model.score(mu, mi).unwrap().to_bits(), expected.to_bits());
            assert_eq!(model.item_category(mi).unwrap(), b.item_categories.as_ref().unwrap()[i].as_str());
            let p = b.item_projection.as_ref().unwrap();
            assert_eq!(model.item_projection(mi).unwrap(), [p[2 * i], p[2 * i + 1]]);
        }
    }
    // Seen items survive the permutation.
    for &(u, i, v) in &b.seen {
        let mu = model.user_index(&b.user_ids[u as usize]).unwrap();
        let mi = model.item_index(&b.item_ids[i as usize]).unwrap();
        assert!(model.seen_items(mu).any(|(j, w)| j == mi && w == v));
    }
    // The owned form answers the same.
    let owned = edgerec_core::OwnedModel::from_vec(bytes.clone()).unwrap();
    let uid = model.user_id(3);
    assert_eq!(
        owned.model().recommend(uid, &RecommendOptions::default()).unwrap(),
        model.recommend(uid, &RecommendOptions::default()).unwrap()
    );
}

/// The item map is optional (`trainer train --item-map`): an artifact loads with and without
/// it, and without it `Model::item_map` computes a PCA of the factors instead.
#[test]
fn an_artifact_loads_with_and_without_the_item_projection() {
    for quantization in [edgerec_core::Quantization::F32, edgerec_core::Quantization::Int8] {
        let mut b = testing::random_builder(ModelKind::Ranking, 20, 120, 8, 11);
        b.item_quantization = quantization;
        let with = b.build().unwrap();
        b.item_projection = None;
        let without = b.build().unwrap();
        // 8 bytes per item, and the tensor's entry in the header.
        assert!(with.len() - without.len() >= 120 * 8, "{quantization:?}");

        let stored = Model::from_bytes(&with).unwrap();
        assert!(stored.info().has_projection);
        let points = stored.item_map();
        for i in 0..stored.num_items() {
            assert_eq!(stored.item_projection(i).unwrap(), [points[2 * i], points[2 * i + 1]]);
        }

        let model = Model::from_bytes(&without).unwrap();
        assert!(!model.info().has_projection && model.item_projection(0).is_none());
        // Everything else is the same model.
        let uid = model.user_id(3);
        let opts = RecommendOptions::default();
        assert_eq!(model.recommend(uid, &opts).unwrap(), stored.recommend(uid, &opts).unwrap());
        // Below `ITEM_MAP_SAMPLE` items the computed map is the PCA of every (dequantised) row.
        let rows: Vec<f32> =
            (0..model.num_items()).flat_map(|i| model.item_factors(i).unwrap().to_vec()).collect();
        let computed = model.item_map();
        assert_eq!(&*computed, &edgerec_core::pca2(&rows, model.num_items(), 8)[..]);
        assert!(computed.iter().all(|v| v.is_finite()) && computed.iter().any(|&v| v != 0.0));
        assert_eq!(computed, Model::from_bytes(&without).unwrap().item_map(), "deterministic");
    }
}
