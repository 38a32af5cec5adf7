//! The sequence model end to end: it learns what order teaches (on data where only order
//! predicts the next item), the artifact it exports answers through the core as the trainer
//! computed it, and bad sessions are handled as for every other model.

use std::sync::OnceLock;

use edgerec_core::{Model, RecommendOptions};
use edgerec_trainer::dataset::{Dataset, Interaction};
use edgerec_trainer::train::config::{Objective, TrainParams, ValidParams};
use edgerec_trainer::train::experiment::{Experiment, ExperimentParams};
use edgerec_trainer::train::fit::Verbosity;
use edgerec_trainer::train::pipeline;
use edgerec_trainer::train::sequence::SeqArgs;
use edgerec_trainer::train::split;

const ITEMS: usize = 40;

/// Users walk a hidden cycle over the items, each from its own random start, one step at a
/// time (the next item is the successor of the last one), except that every fourth step on
/// average jumps to a random item and walks on from there; the held-out last step is always a
/// walk. Every item is about equally popular; what predicts the next item is the last one.
fn cycle_data(users: usize, len: usize) -> Dataset {
    let mut next = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        next = next.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (next >> 33) as usize
    };
    // The cycle visits the items in a shuffled order, so item IDs carry no hint.
    let mut order: Vec<usize> = (0..ITEMS).collect();
    for k in (1..ITEMS).rev() {
        order.swap(k, rand() % (k + 1));
    }
    let mut interactions = Vec::new();
    for u in 0..users {
        let mut at = rand() % ITEMS;
        let mut seen = Vec::new();
        for t in 0..len {
            at = if t > 0 && t + 1 < len && rand() % 4 == 0 { rand() % ITEMS } else { (at + 1) % ITEMS };
            while seen.contains(&at) {
                at = (at + 1) % ITEMS;
            }
            seen.push(at);
            interactions.push(Interaction {
                user: u as u32,
                item: order[at] as u32,
                rating: 1.0,
                timestamp: 1_000 + t as i64,
                behavior: None,
            });
        }
    }
    Dataset {
        user_ids: (0..users).map(|u| format!("U{u:03}")).collect(),
        item_ids: (0..ITEMS).map(|i| format!("I{i:03}")).collect(),
        interactions,
        ..Dataset::default()
    }
}

fn params(objective: Objective) -> ValidParams {
    let seq =
        SeqArgs { max_len: 12, epochs: 30, patience: 30, batch_users: 16, lr: 5e-3, ..SeqArgs::default() };
    TrainParams { objective, dim: 16, seq, ..TrainParams::default() }.check().unwrap()
}

fn experiment() -> Experiment {
    ExperimentParams { eval_users: 0, ..ExperimentParams::default() }.check().unwrap()
}

#[test]
fn auto_picks_the_sequence_model_where_order_teaches_and_it_wins() {
    let data = cycle_data(120, 15);
    let exp = experiment().resolve(&data.interactions);
    // The defaults' objective: auto compares both on the inner split and keeps the better.
    let seq =
        pipeline::run(&params(Objective::Auto).resolve(&data.interactions), &exp, &data, Verbosity::Quiet)
            .unwrap();
    let als = pipeline::run(&params(Objective::Ranking), &exp, &data, Verbosity::Quiet).unwrap();
    let choice = seq.choice.as_ref().expect("auto reports its choice");
    assert_eq!(seq.objective, Objective::Sequence, "{}", choice.reason);
    assert!(choice.order.as_ref().is_some_and(|o| o.ordered), "{choice:?}");
    let [matrix, sequence] = &choice.candidates[..] else { panic!("two candidates: {choice:?}") };
    assert_eq!((matrix.objective, sequence.objective), (Objective::Ranking, Objective::Sequence));
    assert!(sequence.ndcg > matrix.ndcg, "{choice:?}");
    assert!(seq.weights.sequence.is_some() && seq.recency.is_none());
    let pop = &seq.baselines["most_popular"];
    eprintln!(
        "HR@10 / NDCG@10: sequence {:.3}/{:.3}, iALS + recency {:.3}/{:.3}, most popular {:.3}/{:.3}",
        seq.metrics.hr, seq.metrics.ndcg, als.metrics.hr, als.metrics.ndcg, pop.hr, pop.ndcg
    );
    assert!(seq.metrics.hr >= 0.9, "the next item follows the last; HR@10 {}", seq.metrics.hr);
    assert!(
        seq.metrics.ndcg > 1.1 * als.metrics.ndcg,
        "sequence {} vs iALS {}",
        seq.metrics.ndcg,
        als.metrics.ndcg
    );
    assert!(seq.best_epoch >= 1 && !seq.seq_history.is_empty());
}

#[test]
fn auto_keeps_factorisation_without_training_a_sequence_model_where_order_says_nothing() {
    // The same walks with each user's timestamps shuffled: the items a user saw are the same,
    // their order is noise.
    let mut data = cycle_data(120, 15);
    let mut next = 7u64;
    for chunk in data.interactions.chunks_mut(15) {
        for k in (1..chunk.len()).rev() {
            next = next.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (next >> 33) as usize % (k + 1);
            let (a, b) = (chunk[k].timestamp, chunk[j].timestamp);
            chunk[k].timestamp = b;
            chunk[j].timestamp = a;
        }
    }
    let exp = experiment().resolve(&data.interactions);
    let cfg = params(Objective::Auto).resolve(&data.interactions);
    let out = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
    let choice = out.choice.as_ref().expect("auto reports its choice");
    assert_eq!(out.objective, Objective::Ranking, "{}", choice.reason);
    assert!(out.seq_history.is_empty() && out.weights.sequence.is_none(), "no sequence model was trained");
    assert_eq!(choice.candidates.len(), 1);
    assert!(choice.reason.contains("no order in the data"), "{}", choice.reason);
}

/// One sequence model on short cycle walks, trained once and shared by the tests below.
fn trained() -> &'static [u8] {
    static MODEL: OnceLock<Vec<u8>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let data = cycle_data(40, 9);
        let cfg = params(Objective::Sequence);
        let exp = experiment().resolve(&data.interactions);
        let out = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
        let rank = split::item_id_rank(&data);
        pipeline::builder(&cfg, &data, &out.weights, &data.interactions, out.recency, &rank).build().unwrap()
    })
}

#[test]
fn exported_user_vectors_are_the_cores_forward_pass_over_their_history() {
    let model = Model::from_bytes(trained()).unwrap();
    assert_eq!(model.info().format_version, 4);
    let mut worst = 0f32;
    for u in 0..model.num_users() {
        let history: Vec<usize> = model.sequence_history(u).iter().map(|&i| i as usize).collect();
        assert_eq!(history.len(), 9);
        let state = model.sequence_state(&history).unwrap();
        let stored = model.user_factors(u).unwrap();
        let scale = stored.iter().map(|x| x.abs()).fold(1e-6, f32::max);
        for (a, b) in state.iter().zip(stored) {
            worst = worst.max((a - b).abs() / scale);
        }
    }
    // candle sums in another order than the core: agreement to float rounding, not bits.
    assert!(worst < 1e-4, "the core's state differs from the trainer's by {worst} (relative)");
}

#[test]
fn sessions_continue_the_stored_history_and_ignore_unknown_items() {
    let model = Model::from_bytes(trained()).unwrap();
    let opts = RecommendOptions { top_n: 5, ..RecommendOptions::default() };
    let user = model.user_id(0);
    let history: Vec<usize> = model.sequence_history(0).iter().map(|&i| i as usize).collect();
    let clicked = (0..model.num_items()).find(|i| !history.contains(i)).unwrap();
    let id = model.item_id(clicked);
    let with_unknown = model.recommend_session(user, &[(id, 1.0), ("NOPE", 1.0)], &opts).unwrap();
    let plain = model.recommend_session(user, &[(id, 1.0)], &opts).unwrap();
    assert_eq!(with_unknown.unknown_items, ["NOPE"]);
    let ids = |r: &edgerec_core::Recommendations<'_>| r.items.iter().map(|s| s.index).collect::<Vec<_>>();
    assert_eq!(ids(&with_unknown), ids(&plain));
    // The session is the history continued: the same ranking as the state over both.
    let mut all = history.clone();
    all.push(clicked);
    let state = model.sequence_state(&all).unwrap();
    let mut scored: Vec<(f32, usize)> = (0..model.num_items())
        .filter(|i| !all.contains(i))
        .map(|i| (model.item_factors(i).unwrap().iter().zip(&state).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<usize> = scored.iter().take(5).map(|&(_, i)| i).collect();
    assert_eq!(ids(&plain), expected);
    // Only unknown items: the stored state, as with no session.
    let none = model.recommend_session(user, &[("NOPE", 1.0)], &opts).unwrap();
    assert_eq!(ids(&none), ids(&model.recommend(user, &opts).unwrap()));
}
