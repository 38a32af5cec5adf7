//! Format v2: the recency component, session-aware queries and the rating head, against naive
//! oracles; and the loader's checks of the new parts.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::kernel::dot;
use edgerec_core::testing;
use edgerec_core::{
    Error, Model, ModelBuilder, ModelKind, RatingHeadParts, RecencyInfo, RecencyParts, RecommendOptions,
    Source,
};
use proptest::prelude::*;

/// A ranking model with a recency component (history: item `(u * 7 + k) % items`, newest first).
fn with_recency(users: usize, items: usize, dim: usize, seed: u64, info: RecencyInfo) -> ModelBuilder {
    let mut b = testing::random_builder(ModelKind::Ranking, users, items, dim, seed);
    b.rating_range = None;
    let history = (0..users)
        .map(|u| {
            let mut h: Vec<u32> = Vec::new();
            for k in 0..info.window {
                let i = ((u * 7 + k * 3) % items) as u32;
                if !h.contains(&i) {
                    h.push(i);
                }
            }
            h
        })
        .collect();
    b.recency = Some(RecencyParts { info, history });
    b
}

/// The scoring vector the brief defines, computed plainly.
fn oracle_vector(model: &Model<'_>, user: usize, newest_first: &[usize], info: RecencyInfo) -> Vec<f32> {
    let mut v = model.user_factors(user).unwrap().to_vec();
    if info.weight == 0.0 {
        return v;
    }
    let d = v.len();
    let mut acc = vec![0f32; d];
    let (mut w, mut total) = (1.0f32, 0.0f32);
    for &i in newest_first.iter().take(info.window) {
        for (a, q) in acc.iter_mut().zip(model.item_factors(i).unwrap()) {
            *a += w * q;
        }
        total += w;
        w *= info.decay;
    }
    if total > 0.0 {
        for (o, a) in v.iter_mut().zip(&acc) {
            *o += info.weight / total * a;
        }
    }
    v
}

fn oracle_top(model: &Model<'_>, v: &[f32], excluded: &[usize], n: usize) -> Vec<usize> {
    let bias: Vec<f32> = (0..model.num_items())
        .map(|i| {
            model.score(0, i).unwrap() - dot(model.user_factors(0).unwrap(), model.item_factors(i).unwrap())
        })
        .collect();
    let mut all: Vec<(usize, f32)> = (0..model.num_items())
        .filter(|i| !excluded.contains(i))
        .map(|i| (i, bias[i] + dot(v, model.item_factors(i).unwrap())))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter().take(n).map(|(i, _)| i).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn session_recommend_matches_the_oracle(
        seed in any::<u64>(),
        users in 1usize..8,
        items in prop_oneof![10usize..80, 250usize..400],
        dim in prop_oneof![1usize..12, Just(32), Just(64)],
        weight in prop_oneof![Just(0.0f32), 0.1f32..8.0],
        decay in 0.05f32..1.0,
        window in 1usize..12,
        clicks in proptest::collection::vec(0usize..400, 0..5),
        top_n in 1usize..20,
    ) {
        let info = RecencyInfo { weight, decay, window };
        let bytes = with_recency(users, items, dim, seed, info).build().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let user = (seed as usize) % users;
        let clicks: Vec<usize> = clicks.into_iter().filter(|&i| i < items).collect();
        let interactions: Vec<(&str, f32)> = clicks.iter().map(|&i| (model.item_id(i), 1.0)).collect();
        let opts = RecommendOptions { top_n, ..RecommendOptions::default() };
        let got = model.recommend_session(model.user_id(user), &interactions, &opts).unwrap();

        let mut newest: Vec<usize> = clicks.iter().rev().copied().collect();
        newest.extend(model.recent_items(user).iter().map(|&i| i as usize));
        let mut excluded: Vec<usize> = model.seen_items(user).map(|(i, _)| i).collect();
        excluded.extend(&clicks);
        if clicks.is_empty() || weight > 0.0 {
            let v = oracle_vector(&model, user, &newest, info);
            let want = oracle_top(&model, &v, &excluded, top_n);
            let got_idx: Vec<usize> = got.items.iter().map(|s| s.index).collect();
            prop_assert_eq!(got_idx, want);
        }
        let expected_source = if clicks.is_empty() { Source::Personalized } else { Source::Session };
        prop_assert_eq!(got.source, expected_source);
        prop_assert!(got.items.iter().all(|s| !excluded.contains(&s.index)));
        prop_assert!(got.items.iter().all(|s| s.predicted_rating.is_none()), "no rating head");
    }
}

#[test]
fn clicks_shift_a_known_users_list_and_are_excluded() {
    let info = RecencyInfo { weight: 4.0, decay: 0.5, window: 5 };
    let bytes = with_recency(20, 120, 16, 3, info).build().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let user = model.user_id(4);
    let opts = RecommendOptions::default();
    let before = model.recommend(user, &opts).unwrap();
    let clicked: Vec<(&str, f32)> = (0..3).map(|k| (model.item_id(50 + k), 1.0)).collect();
    let after = model.recommend_session(user, &clicked, &opts).unwrap();
    assert_ne!(before.items, after.items);
    assert!(after.items.iter().all(|s| !(50..53).contains(&s.index)));
    // Unknown items are reported, not an error; an unknown user is a visitor.
    let odd = model.recommend_session(user, &[("NOPE", 1.0)], &opts).unwrap();
    assert_eq!(odd.unknown_items, vec!["NOPE".to_owned()]);
    assert_eq!(odd.items, before.items);
    let visitor = model.recommend_session("NOBODY", &clicked, &opts).unwrap();
    assert_eq!(visitor.source, Source::FoldIn);
    // Without recency (weight 0), clicks still shift the list, through fold-in.
    let mut plain = model_without_recency(&bytes);
    plain.set_recency(RecencyInfo { weight: 0.0, ..info }).unwrap();
    let shifted = plain.recommend_session(user, &clicked, &opts).unwrap();
    assert_eq!(shifted.source, Source::Session);
    assert!(shifted.items.iter().all(|s| !(50..53).contains(&s.index)));
}

fn model_without_recency(bytes: &[u8]) -> Model<'_> {
    Model::from_bytes(bytes).unwrap()
}

#[test]
fn the_rating_head_reports_ratings_and_the_order_stays_the_rankers() {
    let (users, items, dim) = (6, 40, 8);
    let mut b = testing::random_builder(ModelKind::Ranking, users, items, dim, 9);
    let head = testing::random_builder(ModelKind::Rating, users, items, 5, 10);
    b.rating_head = Some(RatingHeadParts {
        dim: 5,
        global_bias: 3.5,
        user_factors: head.user_factors.clone(),
        item_factors: head.item_factors.clone(),
        user_bias: head.user_bias.clone(),
        item_bias: head.item_bias.clone(),
    });
    let bytes = b.build().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.info().rating_head_dim, Some(5));
    let user = model.user_index(&b.user_ids[2]).unwrap();
    let recs = model
        .recommend_index(user, &RecommendOptions { top_n: 40, exclude_rated: false, ..Default::default() })
        .unwrap();
    // Ordered by the ranking score, not by the rating.
    assert!(recs.items.windows(2).all(|w| w[0].score >= w[1].score));
    // The head disagrees with the ranker here, so the reported ratings are the head's
    // predictions made non-increasing in rank: pooled into runs that keep the runs' sums.
    let raw: Vec<f32> = recs.items.iter().map(|s| model.predict_index(user, s.index).unwrap()).collect();
    assert!(raw.windows(2).any(|w| w[0] < w[1]), "the fixture should make the head disagree");
    let reported: Vec<f32> = recs.items.iter().map(|s| s.predicted_rating.unwrap()).collect();
    assert_pooled(&raw, &reported);
    let anonymous =
        model.recommend_for_interactions(&[(model.item_id(1), 1.0)], &RecommendOptions::default()).unwrap();
    let ratings: Vec<f32> = anonymous.items.iter().map(|s| s.predicted_rating.unwrap()).collect();
    assert!(ratings.iter().all(|r| (1.0..=5.0).contains(r)));
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "{ratings:?}");
    let unknown = model.recommend("U-nobody", &RecommendOptions { top_n: 20, ..Default::default() }).unwrap();
    let ratings: Vec<f32> = unknown.items.iter().map(|s| s.predicted_rating.unwrap()).collect();
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "the popular fallback too: {ratings:?}");
    // A rating model cannot carry a head.
    let mut bad = testing::random_builder(ModelKind::Rating, 3, 5, 2, 1);
    bad.rating_head = b.rating_head.clone();
    assert!(bad.build().is_err());
}

/// `reported` is `raw` made non-increasing by pooling: in range, non-increasing, each maximal run
/// of equal values has the mean of the raw values it replaced, and in-order stretches of `raw`
/// outside the runs are kept exactly.
fn assert_pooled(raw: &[f32], reported: &[f32]) {
    assert_eq!(raw.len(), reported.len());
    assert!(reported.iter().all(|r| (1.0..=5.0).contains(r)));
    assert!(reported.windows(2).all(|w| w[0] >= w[1]), "{reported:?}");
    let mut start = 0;
    while start < reported.len() {
        let end = start + reported[start..].iter().take_while(|&&r| r == reported[start]).count();
        let mean = raw[start..end].iter().map(|&r| f64::from(r)).sum::<f64>() / (end - start) as f64;
        assert!(
            (mean - f64::from(reported[start])).abs() < 1e-5,
            "run {start}..{end}: {mean} vs {}",
            reported[start]
        );
        start = end;
    }
}

/// Rewrites a metadata value inside the JSON header, keeping its length.
fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let pos = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap();
    let mut out = bytes.to_vec();
    out[pos..pos + from.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn the_loader_checks_the_v2_parts() {
    let info = RecencyInfo { weight: 2.0, decay: 0.5, window: 4 };
    let bytes = with_recency(5, 30, 4, 2, info).build().unwrap();
    assert!(Model::from_bytes(&bytes).is_ok());
    // A window smaller than the stored rows, a decay out of range, a negative weight.
    for (from, to) in [
        (r#""recency_window":"4""#, r#""recency_window":"2""#),
        (r#""recency_decay":"0.5""#, r#""recency_decay":"1.5""#),
        (r#""recency_weight":"2""#, r#""recency_weight":"x""#),
    ] {
        let err = Model::from_bytes(&patch(&bytes, from, to)).unwrap_err();
        assert!(matches!(err, Error::Invalid(_) | Error::Metadata(_)), "{from}: {err}");
    }
    // Version 1 ignores the v2 parts.
    let v1 = patch(&bytes, r#""format_version":"2""#, r#""format_version":"1""#);
    let model = Model::from_bytes(&v1).unwrap();
    assert!(model.info().recency.is_none());
    // set_recency validates and cannot grow the window.
    let mut model = Model::from_bytes(&bytes).unwrap();
    assert!(model.set_recency(RecencyInfo { window: 9, ..info }).is_err());
    assert!(model.set_recency(RecencyInfo { decay: 0.0, ..info }).is_err());
    assert!(model.set_recency(RecencyInfo { weight: 0.0, ..info }).is_ok());
    // The builder refuses histories of the wrong size and items out of range.
    let mut b = with_recency(5, 30, 4, 2, info);
    if let Some(r) = &mut b.recency {
        r.history[0] = vec![99];
    }
    assert!(b.build().unwrap_err().to_string().contains("out of range"));
}

/// Without a recency component, a click refits the user toward their trained factors: their
/// list moves less than a fresh fold-in of the same interactions would move it.
#[test]
fn a_click_nudges_rather_than_replaces_a_users_list_without_recency() {
    for kind in [ModelKind::Rating, ModelKind::Ranking] {
        let bytes = testing::random_builder(kind, 12, 200, 8, 21).build().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let opts = RecommendOptions { top_n: 20, ..RecommendOptions::default() };
        let (mut nudged, mut fresh) = (0, 0);
        for u in 0..12 {
            let user = model.user_id(u);
            let trained: Vec<usize> =
                model.recommend(user, &opts).unwrap().items.iter().map(|s| s.index).collect();
            let click = [(model.item_id((u * 17 + 5) % 200), 5.0f32)];
            let session = model.recommend_session(user, &click, &opts).unwrap();
            let mut all: Vec<(&str, f32)> = model.seen_items(u).map(|(i, v)| (model.item_id(i), v)).collect();
            all.extend_from_slice(&click);
            let visitor = model.recommend_for_interactions(&all, &opts).unwrap();
            nudged += session.items.iter().filter(|s| trained.contains(&s.index)).count();
            fresh += visitor.items.iter().filter(|s| trained.contains(&s.index)).count();
        }
        assert!(nudged > fresh, "{kind:?}: {nudged} of the trained items kept, fresh fold-in {fresh}");
    }
}
