//! Compact item factors (int8 with a scale per row, f16): dequantised values within the
//! quantisation error of the originals, every query bit-identical to an f32 model holding the
//! dequantised values, and the loader's checks of the compact parts.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use edgerec_core::testing;
use edgerec_core::testing::rewrite;
use edgerec_core::{Error, Model, ModelBuilder, ModelKind, Quantization, RecommendOptions};
use half::f16;
use proptest::prelude::*;
use safetensors::{Dtype, SafeTensors};

/// The same model with f32 item factors equal to `compact`'s dequantised values, and f32 item
/// biases equal to its f16 ones.
fn dequantised_twin(b: &ModelBuilder, compact: &Model<'_>) -> Vec<u8> {
    let mut twin = b.clone();
    twin.item_quantization = Quantization::F32;
    twin.item_bias = b.item_bias.iter().map(|&x| f16::from_f32(x).to_f32()).collect();
    twin.item_factors = b
        .item_ids
        .iter()
        .flat_map(|id| compact.item_factors(compact.item_index(id).unwrap()).unwrap().to_vec())
        .collect();
    twin.build().unwrap()
}

fn opts(top_n: usize, exclude_rated: bool) -> RecommendOptions {
    RecommendOptions { top_n, exclude_rated, ..RecommendOptions::default() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn compact_models_answer_like_their_dequantised_twin(
        seed in any::<u64>(),
        users in 1usize..8,
        items in prop_oneof![2usize..60, 250usize..600],
        dim in prop_oneof![1usize..20, Just(32), Just(64)],
        int8 in any::<bool>(),
        ranking in any::<bool>(),
        top_n in 1usize..40,
    ) {
        let kind = if ranking { ModelKind::Ranking } else { ModelKind::Rating };
        let mut b = testing::random_builder(kind, users, items, dim, seed);
        b.item_quantization = if int8 { Quantization::Int8 } else { Quantization::F16 };
        let bytes = b.build().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        prop_assert_eq!(model.info().item_factors, b.item_quantization);

        // Within the quantisation error of the originals.
        for (i, id) in b.item_ids.iter().enumerate() {
            let orig = &b.item_factors[i * dim..(i + 1) * dim];
            let got = model.item_factors(model.item_index(id).unwrap()).unwrap();
            let max = orig.iter().fold(0f32, |m, x| m.max(x.abs()));
            for (&o, &g) in orig.iter().zip(got) {
                // int8: half a step, the step max / 127 rounded up to an f16 scale.
                let tol = if int8 { max / 127.0 * (1.0 + 1.0 / 1024.0) * 0.5 + 1e-6 } else { o.abs() * (1.0 / 2048.0) + 1e-7 };
                prop_assert!((o - g).abs() <= tol, "{o} vs {g} (tol {tol})");
            }
        }

        // Every query equals the f32 twin's, bit for bit.
        let twin_bytes = dequantised_twin(&b, &model);
        let twin = Model::from_bytes(&twin_bytes).unwrap();
        prop_assert_eq!(twin.info().item_factors, Quantization::F32);
        for u in 0..model.num_users() {
            let id = model.user_id(u);
            prop_assert_eq!(model.recommend(id, &opts(top_n, u % 2 == 0)).unwrap(), twin.recommend(id, &opts(top_n, u % 2 == 0)).unwrap());
            for i in (0..items).step_by(7) {
                prop_assert_eq!(model.score(u, i).map(f32::to_bits), twin.score(u, i).map(f32::to_bits));
                prop_assert_eq!(model.predict(id, model.item_id(i)).unwrap().to_bits(), twin.predict(id, model.item_id(i)).unwrap().to_bits());
            }
        }
        let clicks: Vec<(&str, f32)> = (0..3).map(|k| (model.item_id((k * 5) % items), 1.0 + k as f32)).collect();
        let (a, t) = (model.recommend_for_interactions(&clicks, &opts(top_n, true)), twin.recommend_for_interactions(&clicks, &opts(top_n, true)));
        prop_assert_eq!(a.ok(), t.ok());
        let (a, t) = (model.recommend_session(model.user_id(0), &clicks, &opts(top_n, true)), twin.recommend_session(model.user_id(0), &clicks, &opts(top_n, true)));
        prop_assert_eq!(a.ok(), t.ok());
        let item = model.item_id(seed as usize % items);
        prop_assert_eq!(model.similar_items(item, top_n, None).ok(), twin.similar_items(item, top_n, None).ok());
    }
}

#[test]
fn compact_artifacts_are_smaller() {
    let mut b = testing::random_builder(ModelKind::Ranking, 2, 2000, 64, 3);
    b.seen.clear();
    let f32_len = b.build().unwrap().len();
    b.item_quantization = Quantization::F16;
    let f16_len = b.build().unwrap().len();
    b.item_quantization = Quantization::Int8;
    let int8_len = b.build().unwrap().len();
    // 2000·64 values: 4, 2 and 1 byte (+ a 2-byte scale per row); compact factors also store
    // the 2000 item biases in 2 bytes instead of 4.
    assert!(f32_len - f16_len >= 2000 * 64 * 2 + 2000 * 2 - 64, "{f32_len} {f16_len}");
    assert!(f32_len - int8_len >= 2000 * 64 * 3 - 2000 * 2 + 2000 * 2 - 64, "{f32_len} {int8_len}");
}

#[test]
fn f16_refuses_values_out_of_its_range() {
    let mut b = testing::random_builder(ModelKind::Ranking, 2, 5, 2, 3);
    b.item_factors[3] = 1e6;
    b.item_quantization = Quantization::F16;
    assert!(b.build().unwrap_err().to_string().contains("f16 range"));
}

#[test]
fn the_loader_checks_compact_item_factors() {
    let mut b = testing::random_builder(ModelKind::Ranking, 3, 6, 4, 5);
    b.item_quantization = Quantization::Int8;
    let bytes = b.build().unwrap();
    assert!(Model::from_bytes(&bytes).is_ok());
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let values = st.tensor("item_factors").unwrap().data().to_vec();
    // Beside compact factors, the scales and the item biases are F16.
    assert_eq!(st.tensor("item_factors.scales").unwrap().dtype(), Dtype::F16);
    assert_eq!(st.tensor("item_bias").unwrap().dtype(), Dtype::F16);
    let scale_bits: Vec<u16> = bytemuck::pod_collect_to_vec(st.tensor("item_factors.scales").unwrap().data());
    let scales: Vec<f32> = scale_bits.iter().map(|&h| f16::from_bits(h).to_f32()).collect();
    let bias_bits: Vec<u16> = bytemuck::pod_collect_to_vec(st.tensor("item_bias").unwrap().data());
    let f32s = |v: &[f32]| bytemuck::cast_slice::<f32, u8>(v).to_vec();
    let invalid = |bytes: Vec<u8>, needle: &str| {
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains(needle), "expected `{needle}` in: {err}");
    };

    // -128 is outside the symmetric range the builder writes.
    let mut v = values.clone();
    v[5] = 0x80;
    invalid(rewrite(&bytes, "item_factors", Some((Dtype::I8, vec![6, 4], v))), "-128");
    // Scales: negative, infinite, too large to dequantise finitely, wrong length, missing.
    for bad in [-1.0, f32::INFINITY, f32::NAN, f32::MAX / 100.0] {
        let mut s = scales.clone();
        s[2] = bad;
        invalid(rewrite(&bytes, "item_factors.scales", Some((Dtype::F32, vec![6], f32s(&s)))), "scale");
    }
    // F32 scales (as earlier builds wrote them) load and answer alike.
    let wide = Model::from_bytes(&rewrite(
        &bytes,
        "item_factors.scales",
        Some((Dtype::F32, vec![6], f32s(&scales))),
    ))
    .unwrap()
    .item_factors(2)
    .unwrap()
    .to_vec();
    assert_eq!(wide, Model::from_bytes(&bytes).unwrap().item_factors(2).unwrap());
    // F16 scales and item biases: an infinity and a NaN.
    let f16s = |v: &[u16]| bytemuck::cast_slice::<u16, u8>(v).to_vec();
    for bits in [0x7c00u16, 0x7e00] {
        let mut s = scale_bits.clone();
        s[4] = bits;
        invalid(rewrite(&bytes, "item_factors.scales", Some((Dtype::F16, vec![6], f16s(&s)))), "non-finite");
        let mut b = bias_bits.clone();
        b[1] = bits;
        invalid(rewrite(&bytes, "item_bias", Some((Dtype::F16, vec![6], f16s(&b)))), "non-finite");
    }
    let short = rewrite(&bytes, "item_factors.scales", Some((Dtype::F32, vec![5], f32s(&scales[..5]))));
    assert!(matches!(Model::from_bytes(&short).unwrap_err(), Error::Shape { .. }));
    let missing = rewrite(&bytes, "item_factors.scales", None);
    assert!(matches!(Model::from_bytes(&missing).unwrap_err(), Error::MissingTensor("item_factors.scales")));
    // Values of the wrong shape, or of a dtype the format does not know.
    let wrong_shape = rewrite(&bytes, "item_factors", Some((Dtype::I8, vec![6, 3], values[..18].to_vec())));
    assert!(matches!(Model::from_bytes(&wrong_shape).unwrap_err(), Error::Shape { .. }));
    let wrong_dtype = rewrite(&bytes, "item_factors", Some((Dtype::U8, vec![6, 4], values.clone())));
    assert!(matches!(Model::from_bytes(&wrong_dtype).unwrap_err(), Error::Dtype { .. }));
    // Scales beside f32 factors are refused rather than ignored.
    let plain = testing::random_builder(ModelKind::Ranking, 3, 6, 4, 5).build().unwrap();
    invalid(rewrite(&plain, "item_factors.scales", Some((Dtype::F32, vec![6], f32s(&scales)))), "int8");
    // f16: an infinity and a NaN.
    b.item_quantization = Quantization::F16;
    let bytes = b.build().unwrap();
    for bits in [0x7c00u16, 0x7e00] {
        let mut v: Vec<u16> = bytemuck::pod_collect_to_vec(
            SafeTensors::deserialize(&bytes).unwrap().tensor("item_factors").unwrap().data(),
        );
        v[7] = bits;
        invalid(
            rewrite(
                &bytes,
                "item_factors",
                Some((Dtype::F16, vec![6, 4], bytemuck::cast_slice(&v).to_vec())),
            ),
            "non-finite",
        );
    }
    // Version 1 stores f32 item factors only.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains(r#""format_version":"2""#));
    let v1 = |bytes: &[u8]| {
        let from = br#""format_version":"2""#;
        let pos = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = bytes.to_vec();
        out[pos + 18] = b'1';
        out
    };
    invalid(v1(&bytes), "version 1");
    // ... and item biases as F32 only.
    let f16_bias = v1(&rewrite(&plain, "item_bias", Some((Dtype::F16, vec![6], f16s(&bias_bits)))));
    assert!(matches!(Model::from_bytes(&f16_bias).unwrap_err(), Error::Dtype { name: "item_bias", .. }));
}

/// Format v5's compact item tables: categories in the narrowest dtype and no all-zero item
/// biases, answering exactly as the same model stored in full.
#[test]
fn compact_item_tables_answer_like_full_ones() {
    let mut b = testing::random_builder(ModelKind::Ranking, 30, 200, 8, 5);
    b.item_bias = vec![0.0; 200];
    b.item_quantization = Quantization::Int8;
    let full = b.build().unwrap();
    b.compact_item_tables = true;
    let compact = b.build().unwrap();
    let st = SafeTensors::deserialize(&compact).unwrap();
    assert_eq!(st.tensor(edgerec_core::names::ITEM_CATEGORY).unwrap().dtype(), Dtype::U8);
    assert!(st.tensor(edgerec_core::names::ITEM_BIAS).is_err(), "all-zero biases are left out");
    // 3 bytes of categories and 2 of (f16) biases per item.
    assert!(full.len() - compact.len() >= 200 * 5, "{} -> {}", full.len(), compact.len());

    let (f, c) = (Model::from_bytes(&full).unwrap(), Model::from_bytes(&compact).unwrap());
    assert_eq!((f.info().format_version, c.info().format_version), (2, 5));
    let tech = RecommendOptions { categories: Some(vec!["tech".into()]), ..opts(7, true) };
    for u in 0..f.num_users() {
        let id = f.user_id(u);
        for o in [opts(10, true), tech.clone()] {
            assert_eq!(f.recommend(id, &o).unwrap(), c.recommend(id, &o).unwrap());
        }
    }
    assert_eq!(f.recommend("nobody", &tech).unwrap(), c.recommend("nobody", &tech).unwrap());
    for i in 0..f.num_items() {
        assert_eq!(f.item_category(i), c.item_category(i));
    }
}

/// U16 past 256 categories; biases that are not all zero are kept; without the option, or with
/// nothing to compact, the builder writes the version it wrote before.
#[test]
fn compact_item_tables_pick_the_narrowest_dtype_and_version() {
    let mut b = testing::random_builder(ModelKind::Ranking, 10, 600, 4, 9);
    b.item_categories = Some((0..600).map(|i| format!("c{}", i % 300)).collect());
    b.compact_item_tables = true;
    let bytes = b.build().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor(edgerec_core::names::ITEM_CATEGORY).unwrap().dtype(), Dtype::U16);
    assert_eq!(st.tensor(edgerec_core::names::ITEM_BIAS).unwrap().dtype(), Dtype::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.info().format_version, 5);
    for (i, id) in b.item_ids.iter().enumerate() {
        let c = b.item_categories.as_ref().unwrap()[i].as_str();
        assert_eq!(model.item_category(model.item_index(id).unwrap()), Some(c));
    }
    b.item_categories = None;
    assert_eq!(Model::from_bytes(&b.build().unwrap()).unwrap().info().format_version, 2);
}

/// Below version 5 a narrow category table or a missing item bias is refused.
#[test]
fn narrow_item_tables_need_version_5() {
    let mut b = testing::random_builder(ModelKind::Ranking, 10, 50, 4, 3);
    b.item_bias = vec![0.0; 50];
    b.compact_item_tables = true;
    let v5 = b.build().unwrap();
    let st = SafeTensors::deserialize(&v5).unwrap();
    let cats = st.tensor(edgerec_core::names::ITEM_CATEGORY).unwrap();
    let as_v4 = testing::rewrite_with(
        &v5,
        edgerec_core::names::ITEM_CATEGORY,
        Some((cats.dtype(), cats.shape().to_vec(), cats.data().to_vec())),
        &[("format_version", Some("2"))],
    );
    let e = Model::from_bytes(&as_v4).unwrap_err().to_string();
    assert!(e.contains("item_bias"), "{e}");
    let zeros = vec![0u8; 4 * 50];
    let with_bias = rewrite(&as_v4, edgerec_core::names::ITEM_BIAS, Some((Dtype::F32, vec![50], zeros)));
    let e = Model::from_bytes(&with_bias).unwrap_err().to_string();
    assert!(e.contains("item_category") && e.contains("format version 5"), "{e}");
    Model::from_bytes(&v5).unwrap();
}
