//! Explanations: how faithful they are, measured. For each recommended item the top `because`
//! item is compared with the history item whose removal changes the served score most (the
//! score recomputed without it, through the public API: the item as the only candidate).
//! Sequence models are explained by removal itself, so they must agree every time; the exact
//! split of the linear models (implicit ALS, with and without the recency component) is
//! measured and printed, and must agree most of the time.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::testing::{SplitMix, random_builder, random_sequence};
use edgerec_core::{Model, ModelBuilder, ModelKind, RecencyInfo, RecencyParts, RecommendOptions};

const ITEMS: usize = 60;
const DIM: usize = 8;

/// The served score of `item` for a visitor with `interactions`.
fn score(model: &Model<'_>, interactions: &[(String, f32)], item: &str) -> f32 {
    let opts = RecommendOptions {
        top_n: 1,
        exclude_rated: false,
        candidates: Some(vec![item.to_owned()]),
        ..RecommendOptions::default()
    };
    let recs = model.recommend_for_interactions(interactions, &opts).unwrap();
    recs.items.first().map_or(0.0, |s| s.score)
}

/// The share of explained items whose top `because` item is the one whose removal lowers the
/// score most, over `visitors` random visitors' top 5.
fn agreement(bytes: &[u8], visitors: usize, seed: u64) -> (usize, usize) {
    let model = Model::from_bytes(bytes).unwrap();
    let mut rng = SplitMix::new(seed);
    let (mut agree, mut total) = (0, 0);
    for _ in 0..visitors {
        let interactions: Vec<(String, f32)> =
            (0..5).map(|_| (model.item_id(rng.below(ITEMS)).to_owned(), 1.0 + rng.below(3) as f32)).collect();
        let opts = RecommendOptions { top_n: 5, ..RecommendOptions::default() };
        let recs = model.recommend_for_interactions(&interactions, &opts).unwrap();
        let items: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
        let because = model.explain(None, &interactions, &items).unwrap();
        for (s, b) in recs.items.iter().zip(&because) {
            let Some(top) = b.first() else { continue };
            let full = score(&model, &interactions, s.item_id);
            // Removing an item removes each of its interactions.
            let mut drops: Vec<(f32, &str)> = interactions
                .iter()
                .map(|(id, _)| {
                    let rest: Vec<(String, f32)> =
                        interactions.iter().filter(|(j, _)| j != id).cloned().collect();
                    (full - score(&model, &rest, s.item_id), id.as_str())
                })
                .collect();
            drops.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            total += 1;
            agree += usize::from(drops[0].1 == top.item_id);
            let shares: f32 = b.iter().map(|x| x.share).sum();
            assert!(b.len() <= 3 && shares <= 1.0 + 1e-5 && b.iter().all(|x| x.share > 0.0), "{b:?}");
        }
    }
    (agree, total)
}

fn ranking(seed: u64, recency: bool) -> Vec<u8> {
    let mut b: ModelBuilder = random_builder(ModelKind::Ranking, 4, ITEMS, DIM, seed);
    b.item_bias = vec![0.0; ITEMS];
    if recency {
        let info = RecencyInfo { weight: 0.5, decay: 0.8, window: 5 };
        b.recency = Some(RecencyParts { info, history: vec![Vec::new(); 4] });
    }
    b.build().unwrap()
}

#[test]
fn the_top_reason_is_the_item_whose_removal_costs_the_most() {
    let (a, n) = agreement(&ranking(3, false), 60, 1);
    println!("implicit ALS: the top `because` item is the largest removal effect for {a} of {n} items");
    assert!(n >= 100 && a * 10 >= n * 7, "{a} of {n}");
    let (a, n) = agreement(&ranking(4, true), 60, 2);
    println!("implicit ALS with recency: {a} of {n} items");
    assert!(n >= 100 && a * 10 >= n * 7, "{a} of {n}");

    let mut b = random_builder(ModelKind::Ranking, 4, ITEMS, DIM, 5);
    b.item_bias = vec![0.0; ITEMS];
    b.user_bias = vec![0.0; 4];
    let mut parts = random_sequence(&mut SplitMix::new(9), DIM, 6, 2);
    parts.history = vec![Vec::new(); 4];
    b.sequence = Some(parts);
    let (a, n) = agreement(&b.build().unwrap(), 40, 3);
    println!("sequence (leave-one-out): {a} of {n} items");
    assert!(n >= 50);
    assert_eq!(a, n, "leave-one-out names the largest removal effect by construction");
}

#[test]
fn a_known_user_is_explained_from_their_history_and_the_session() {
    let bytes = ranking(6, true);
    let model = Model::from_bytes(&bytes).unwrap();
    let user = model.user_id(0);
    let seen: Vec<&str> = model.seen_items(0).map(|(i, _)| model.item_id(i)).collect();
    let recs = model.recommend(user, &RecommendOptions::default()).unwrap();
    let items: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
    let none: [(&str, f32); 0] = [];
    for b in model.explain(Some(user), &none, &items).unwrap() {
        assert!(b.iter().all(|x| seen.contains(&x.item_id)), "{b:?} not from {seen:?}");
    }
    // A session item is a reason too, and a visitor with nothing has none.
    let session = [(model.item_id(7), 3.0f32)];
    let explained = model.explain(Some(user), &session, &items).unwrap();
    assert!(explained.iter().flatten().any(|x| x.index == 7));
    assert!(model.explain(None, &none, &items).unwrap().iter().all(Vec::is_empty));
    assert!(model.explain(None, &none, &[ITEMS]).is_err());
}
