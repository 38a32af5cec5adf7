//! Decodes arbitrary bytes as a user record against a fixed model (rating head, recency, int8
//! rows, an index) and, when it decodes, answers for it: the decoder must never panic or read out
//! of bounds, and neither may a recommendation for a record it accepted.

#![no_main]

use std::sync::OnceLock;

use edgerec_core::{
    IndexParams, Model, ModelBuilder, ModelKind, OwnedModel, Quantization, RatingHeadParts, RecencyInfo,
    RecencyParts, RecommendOptions, UserRecord, build_index,
};
use libfuzzer_sys::fuzz_target;

fn model() -> &'static OwnedModel {
    static MODEL: OnceLock<OwnedModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let (users, items, dim) = (3usize, 40usize, 4usize);
        let value = |k: usize| ((k * 37 % 17) as f32 - 8.0) / 8.0;
        let mut b = ModelBuilder::new(ModelKind::Ranking, dim);
        b.user_ids = (0..users).map(|u| format!("u{u}")).collect();
        b.item_ids = (0..items).map(|i| format!("i{i:02}")).collect();
        b.item_categories = Some((0..items).map(|i| ["a", "b"][i % 2].to_owned()).collect());
        b.user_factors = (0..users * dim).map(value).collect();
        b.item_factors = (0..items * dim).map(|k| value(k + 5)).collect();
        b.user_bias = vec![0.0; users];
        b.item_bias = (0..items).map(|k| value(k) / 4.0).collect();
        b.seen = vec![(0, 1, 1.0), (0, 7, 2.0), (1, 3, 1.0)];
        b.rating_head = Some(RatingHeadParts {
            dim: 2,
            global_bias: 3.0,
            user_factors: (0..users * 2).map(value).collect(),
            item_factors: (0..items * 2).map(value).collect(),
            user_bias: vec![0.1; users],
            item_bias: vec![0.2; items],
        });
        let info = RecencyInfo { weight: 1.0, decay: 0.5, window: 4 };
        b.recency = Some(RecencyParts { info, history: vec![vec![2, 9], vec![], vec![5]] });
        b.item_quantization = Quantization::Int8;
        let params = IndexParams { lists: 4, nprobe: 1, iterations: 3, seed: 1, sample_per_list: 8 };
        b.index = build_index(&b.item_factors, &b.item_bias, dim, &params).ok();
        OwnedModel::from_vec(b.build().expect("the fixed model builds")).expect("and loads")
    })
}

fn answer(model: &Model<'_>, record: &UserRecord) {
    let _ = model.recommend_record(record, &RecommendOptions::default());
    let opts = RecommendOptions {
        top_n: 39,
        exclude_rated: false,
        exclude_items: vec!["i03".into()],
        categories: Some(vec!["b".into()]),
        unavailable: None,
        ..RecommendOptions::default()
    };
    let _ = model.recommend_record(record, &opts);
}

fuzz_target!(|data: &[u8]| {
    let model = model().model();
    if let Ok(record) = UserRecord::decode(data, model) {
        answer(model, &record);
        assert_eq!(UserRecord::decode(&record.encode(), model).ok().as_ref(), Some(&record));
    }
});
