//! Loads arbitrary bytes as a model artifact and, when they load, runs every kind of query on
//! the model: the loader must never panic or read out of bounds, and neither may any query on
//! a model it accepted.

#![no_main]

use edgerec_core::{Model, RecommendOptions, Search, UserRecord};
use libfuzzer_sys::fuzz_target;

fn queries(model: &Model<'_>) {
    let n_users = model.num_users().min(6);
    let n_items = model.num_items().min(6);
    let mut opts = RecommendOptions { top_n: 7, ..RecommendOptions::default() };
    if let Some(c) = model.categories().first() {
        opts.categories = Some(vec![(*c).to_owned()]);
    }
    opts.exclude_items = (0..n_items).step_by(2).map(|i| model.item_id(i).to_owned()).collect();
    let clicks: Vec<(&str, f32)> = (0..n_items).map(|i| (model.item_id(i), 1.0 + i as f32)).collect();
    for u in 0..n_users {
        let id = model.user_id(u);
        let _ = model.recommend(id, &RecommendOptions::default());
        let _ = model.recommend(id, &opts);
        let _ = model.recommend_session(id, &clicks, &opts);
        // The same user answered from their record, as if kept outside the artifact.
        if let Some(record) = model.user_record(u) {
            if let Ok(decoded) = UserRecord::decode(&record.encode(), model) {
                let _ = model.recommend_record(&decoded, &opts);
            }
        }
        for i in 0..n_items {
            let _ = model.predict(id, model.item_id(i));
            let _ = model.score(u, i);
        }
    }
    let _ = model.recommend("nobody", &opts);
    let _ = model.recommend_for_interactions(&clicks, &RecommendOptions::default());
    let _ = model.recommend_for_interactions(&clicks[..clicks.len().min(1)], &opts);
    for i in 0..n_items {
        let _ = model.similar_items(model.item_id(i), 5, None);
        let _ = model.item_factors(i);
        let _ = model.item_projection(i);
    }
    let _ = model.info();
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut model) = Model::from_bytes(data) else { return };
    queries(&model);
    // The same queries by exact search, and by an index probing a single list.
    let search = model.search();
    if model.set_search(Search::Exact).is_ok() && search != Search::Exact {
        queries(&model);
        if model.set_search(Search::Index { nprobe: 1 }).is_ok() {
            queries(&model);
        }
    }
});
