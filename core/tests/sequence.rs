//! The sequence part (format v4): builder and loader round trip, validation, the forward pass
//! against a naive f64 reference of the trainer's padded network, and the queries that use it.

use edgerec_core::testing::{SplitMix, random_builder, random_sequence, rewrite, rewrite_with};
use edgerec_core::{
    IndexParams, Model, ModelBuilder, ModelKind, RecencyInfo, RecencyParts, RecommendOptions, SequenceInfo,
    SequenceParts, Source, build_index, names,
};
use safetensors::Dtype;

const USERS: usize = 12;
const ITEMS: usize = 40;
const DIM: usize = 8;
const LEN: usize = 6;
const BLOCKS: usize = 2;

/// A ranking model with a random sequence network; user `u`'s history has `u` items (some
/// longer than `LEN`, so the builder cuts them).
fn sequence_builder(seed: u64) -> ModelBuilder {
    let mut b = random_builder(ModelKind::Ranking, USERS, ITEMS, DIM, seed);
    b.item_bias = vec![0.0; ITEMS];
    b.user_bias = vec![0.0; USERS];
    let mut rng = SplitMix::new(seed ^ 0x5EC);
    let mut parts = random_sequence(&mut rng, DIM, LEN, BLOCKS);
    parts.history = (0..USERS).map(|u| (0..u).map(|_| rng.below(ITEMS) as u32).collect()).collect();
    b.sequence = Some(parts);
    b
}

/// The trainer's network in f64: `LEN` slots, the items right-aligned, padding slots holding a
/// zero embedding and masked as keys (−1e9), the full causal attention matrix over every slot.
fn reference(model: &Model<'_>, parts: &SequenceParts, items: &[usize]) -> Vec<f64> {
    let (d, l) = (DIM, parts.max_len);
    let items = &items[items.len().saturating_sub(l)..];
    let pad = l - items.len();
    let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let ln = |x: &[f64], g: &[f32], b: &[f32]| {
        let mean = x.iter().sum::<f64>() / d as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
        (0..d).map(|i| (x[i] - mean) / (var + 1e-6).sqrt() * f64::from(g[i]) + f64::from(b[i])).collect()
    };
    let lin = |x: &[f64], w: &[f32], b: &[f32]| -> Vec<f64> {
        (0..d)
            .map(|o| f64::from(b[o]) + (0..d).map(|i| x[i] * f64::from(w[i * d + o])).sum::<f64>())
            .collect()
    };
    let mut x: Vec<Vec<f64>> = (0..l)
        .map(|t| {
            let pos = f(&parts.positions[t * d..(t + 1) * d]);
            let emb =
                if t < pad { vec![0.0; d] } else { f(model.item_factors(items[t - pad]).expect("item")) };
            (0..d).map(|i| emb[i] + pos[i]).collect()
        })
        .collect();
    for blk in &parts.blocks {
        let h: Vec<Vec<f64>> = x.iter().map(|r| ln(r, &blk.ln1_g, &blk.ln1_b)).collect();
        let q: Vec<Vec<f64>> = h.iter().map(|r| lin(r, &blk.q_w, &blk.q_b)).collect();
        let k: Vec<Vec<f64>> = h.iter().map(|r| lin(r, &blk.k_w, &blk.k_b)).collect();
        let v: Vec<Vec<f64>> = h.iter().map(|r| lin(r, &blk.v_w, &blk.v_b)).collect();
        for t in 0..l {
            let scores: Vec<f64> = (0..l)
                .map(|j| {
                    let dot = (0..d).map(|i| q[t][i] * k[j][i]).sum::<f64>() / (d as f64).sqrt();
                    if j > t || j < pad { dot - 1e9 } else { dot }
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = e.iter().sum();
            let a: Vec<f64> = (0..d).map(|i| (0..l).map(|j| e[j] / total * v[j][i]).sum()).collect();
            let out = lin(&a, &blk.o_w, &blk.o_b);
            for i in 0..d {
                x[t][i] += out[i];
            }
        }
        for row in x.iter_mut() {
            let h2 = ln(row, &blk.ln2_g, &blk.ln2_b);
            let hidden: Vec<f64> = lin(&h2, &blk.ff1_w, &blk.ff1_b).into_iter().map(|v| v.max(0.0)).collect();
            let out = lin(&hidden, &blk.ff2_w, &blk.ff2_b);
            for i in 0..d {
                row[i] += out[i];
            }
        }
    }
    ln(&x[l - 1], &parts.final_g, &parts.final_b)
}

fn max_rel_diff(got: &[f32], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    got.iter().zip(want).map(|(&g, w)| (f64::from(g) - w).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn a_sequence_model_round_trips_as_version_4() {
    let b = sequence_builder(1);
    let bytes = b.build().expect("builds");
    assert_eq!(bytes, b.build().expect("builds"), "the same model gives the same bytes");
    let model = Model::from_bytes(&bytes).expect("loads");
    let info = model.info();
    assert_eq!(info.format_version, 4);
    assert_eq!(info.sequence, Some(SequenceInfo { max_len: LEN, blocks: BLOCKS }));
    let json = serde_json::to_value(&info).expect("serialises");
    assert_eq!(json["sequence"]["max_len"], LEN);
    let parts = b.sequence.as_ref().expect("sequence");
    for (u, history) in parts.history.iter().enumerate() {
        let user = model.user_index(&b.user_ids[u]).expect("known user");
        let want: Vec<&str> = history[history.len().saturating_sub(LEN)..]
            .iter()
            .map(|&i| b.item_ids[i as usize].as_str())
            .collect();
        let got: Vec<&str> =
            model.sequence_history(user).iter().map(|&i| model.item_id(i as usize)).collect();
        assert_eq!(got, want, "user {u}: the latest {LEN} items, oldest first");
    }
}

#[test]
fn models_without_a_sequence_part_keep_their_versions() {
    let mut b = random_builder(ModelKind::Ranking, USERS, ITEMS, DIM, 2);
    let model_version =
        |b: &ModelBuilder| Model::from_bytes(&b.build().expect("builds")).expect("loads").info();
    let info = model_version(&b);
    assert_eq!((info.format_version, info.sequence), (2, None));
    let json = serde_json::to_value(&info).expect("serialises");
    assert!(json.get("sequence").is_none(), "/health shows no sequence key without one");
    let params = IndexParams { nprobe: 2, ..IndexParams::with_lists(4) };
    b.index = Some(build_index(&b.item_factors, &b.item_bias, DIM, &params).expect("index"));
    assert_eq!(model_version(&b).format_version, 3);
    // With an index and a sequence part: version 4, items numbered list by list.
    let mut s = sequence_builder(3);
    s.index = Some(build_index(&s.item_factors, &s.item_bias, DIM, &params).expect("index"));
    let bytes = s.build().expect("builds");
    let model = Model::from_bytes(&bytes).expect("loads");
    assert_eq!(model.info().format_version, 4);
    assert!(model.info().index.is_some());
    let v2 = include_bytes!("fixtures/v2-index.safetensors");
    assert_eq!(Model::from_bytes(v2).expect("the v2 fixture loads").info().format_version, 2);
}

#[test]
fn the_forward_pass_agrees_with_an_f64_reference_of_the_padded_network() {
    for seed in [4, 5, 6] {
        let b = sequence_builder(seed);
        let bytes = b.build().expect("builds");
        let model = Model::from_bytes(&bytes).expect("loads");
        let parts = b.sequence.as_ref().expect("sequence");
        let mut rng = SplitMix::new(seed);
        for n in [1, 2, LEN - 1, LEN, LEN + 7] {
            let items: Vec<usize> = (0..n).map(|_| rng.below(ITEMS)).collect();
            let got = model.sequence_state(&items).expect("runs");
            let want = reference(&model, parts, &items);
            let diff = max_rel_diff(&got, &want);
            assert!(diff < 1e-5, "seed {seed}, {n} items: relative difference {diff:e}");
        }
    }
}

#[test]
fn a_history_longer_than_max_len_is_cut_to_the_latest() {
    let bytes = sequence_builder(7).build().expect("builds");
    let model = Model::from_bytes(&bytes).expect("loads");
    let items: Vec<usize> = (0..LEN + 10).map(|k| (k * 13 + 1) % ITEMS).collect();
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(
        bits(model.sequence_state(&items).expect("runs")),
        bits(model.sequence_state(&items[10..]).expect("runs"))
    );
    assert!(model.sequence_state(&[]).is_err());
    assert!(model.sequence_state(&[ITEMS]).is_err());
}

/// The top `n` item indices by `state · item`, excluding `excluded`.
fn by_dot(model: &Model<'_>, state: &[f32], excluded: &[usize], n: usize) -> Vec<usize> {
    let mut scored: Vec<(f64, usize)> = (0..model.num_items())
        .filter(|i| !excluded.contains(i))
        .map(|i| {
            let row = model.item_factors(i).expect("item");
            (row.iter().zip(state).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum(), i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(n).map(|(_, i)| i).collect()
}

#[test]
fn a_known_users_session_runs_the_network_over_history_then_session() {
    let b = sequence_builder(8);
    let bytes = b.build().expect("builds");
    let model = Model::from_bytes(&bytes).expect("loads");
    let opts = RecommendOptions { top_n: 10, ..RecommendOptions::default() };
    for u in [0, 3, USERS - 1] {
        let user_id = model.user_id(u);
        let session = [(model.item_id(5), 1.0), ("NOPE", 1.0), (model.item_id(9), 2.0)];
        let recs = model.recommend_session(user_id, &session, &opts).expect("answers");
        assert_eq!(recs.source, Source::Session);
        assert_eq!(recs.unknown_items, vec!["NOPE".to_owned()]);
        let mut items: Vec<usize> = model.sequence_history(u).iter().map(|&i| i as usize).collect();
        items.extend([5, 9]);
        let state = model.sequence_state(&items).expect("runs");
        let mut excluded: Vec<usize> = model.seen_items(u).map(|(i, _)| i).collect();
        excluded.extend([5, 9]);
        let got: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
        assert_eq!(got, by_dot(&model, &state, &excluded, 10), "user {u}");
        // Nothing known in the session: the stored vector, as `recommend`.
        let plain = model.recommend(user_id, &opts).expect("answers");
        let unknown = model.recommend_session(user_id, &[("NOPE", 1.0)], &opts).expect("answers");
        let idx = |r: &edgerec_core::Recommendations<'_>| r.items.iter().map(|s| s.index).collect::<Vec<_>>();
        assert_eq!(idx(&unknown), idx(&plain));
    }
}

#[test]
fn anonymous_interactions_run_the_network_over_the_known_items() {
    let bytes = sequence_builder(9).build().expect("builds");
    let model = Model::from_bytes(&bytes).expect("loads");
    let opts = RecommendOptions { top_n: 8, ..RecommendOptions::default() };
    let clicks = [(model.item_id(3), 1.0), (model.item_id(30), 1.0), ("NOPE", 1.0), (model.item_id(3), 1.0)];
    let recs = model.recommend_for_interactions(&clicks, &opts).expect("answers");
    assert_eq!(recs.source, Source::FoldIn);
    assert_eq!(recs.unknown_items, vec!["NOPE".to_owned()]);
    let state = model.sequence_state(&[3, 30, 3]).expect("runs");
    let got: Vec<usize> = recs.items.iter().map(|s| s.index).collect();
    assert_eq!(got, by_dot(&model, &state, &[3, 30], 8));
    let none = model.recommend_for_interactions(&[("NOPE", 1.0)], &opts).expect("answers");
    assert_eq!(none.source, Source::Popular);
}

fn load_error(bytes: &[u8]) -> String {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("a corrupt sequence part loaded"),
        Err(e) => e.to_string(),
    }
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn a_corrupt_sequence_part_is_refused_with_a_clear_error() {
    let bytes = sequence_builder(10).build().expect("builds");
    let model = Model::from_bytes(&bytes).expect("loads");
    let q_w = names::seq_block_tensor(1, "q_w");

    let bad_shape = rewrite(
        &bytes,
        names::SEQ_POSITIONS,
        Some((Dtype::F32, vec![LEN + 1, DIM], vec![0; (LEN + 1) * DIM * 4])),
    );
    assert!(load_error(&bad_shape).contains("seq.positions"), "{}", load_error(&bad_shape));

    let mut nan = vec![0u8; DIM * DIM * 4];
    nan[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = load_error(&rewrite(&bytes, &q_w, Some((Dtype::F32, vec![DIM, DIM], nan))));
    assert!(e.contains("seq.block1.q_w") && e.contains("non-finite value at 3"), "{e}");

    let e = load_error(&rewrite(&bytes, &q_w, None));
    assert!(e.contains("missing tensor `seq.block1.q_w`"), "{e}");

    let stray = rewrite(
        &bytes,
        &names::seq_block_tensor(2, "q_w"),
        Some((Dtype::F32, vec![DIM, DIM], vec![0; DIM * DIM * 4])),
    );
    assert!(load_error(&stray).contains("unexpected tensor `seq.block2.q_w`"));

    let nnz = (0..USERS).map(|u| model.sequence_history(u).len()).sum::<usize>();
    let mut indices: Vec<u32> = (0..USERS).flat_map(|u| model.sequence_history(u).to_vec()).collect();
    indices[nnz - 1] = ITEMS as u32;
    let e = load_error(&rewrite(
        &bytes,
        names::SEQ_HISTORY_INDICES,
        Some((Dtype::U32, vec![nnz], u32_bytes(&indices))),
    ));
    assert!(e.contains("seq.history.indices") && e.contains("out of range"), "{e}");

    // Everyone's history in user 0's row: longer than seq_max_len.
    let mut indptr = vec![nnz as u32; USERS + 1];
    indptr[0] = 0;
    let e = load_error(&rewrite(
        &bytes,
        names::SEQ_HISTORY_INDPTR,
        Some((Dtype::U32, vec![USERS + 1], u32_bytes(&indptr))),
    ));
    assert!(e.contains("seq.history.indptr") && e.contains("more than `seq_max_len`"), "{e}");

    let e = load_error(&rewrite_with(&bytes, "none", None, &[(names::META_SEQ_BLOCKS, Some("0"))]));
    assert!(e.contains("blocks must be in 1..="), "{e}");
    let e = load_error(&rewrite_with(&bytes, "none", None, &[(names::META_SEQ_MAX_LEN, None)]));
    assert!(e.contains("seq_max_len"), "{e}");
    let e = load_error(&rewrite_with(&bytes, "none", None, &[(names::META_VERSION, Some("2"))]));
    assert!(e.contains("comes with format version 4"), "{e}");

    let plain = random_builder(ModelKind::Ranking, USERS, ITEMS, DIM, 11).build().expect("builds");
    let e = load_error(&rewrite_with(&plain, "none", None, &[(names::META_VERSION, Some("4"))]));
    assert!(e.contains("must carry the sequence part"), "{e}");
}

#[test]
fn the_builder_refuses_a_bad_sequence_part() {
    let err = |b: &ModelBuilder| b.build().err().map(|e| e.to_string()).unwrap_or_default();
    let mut b = sequence_builder(12);
    b.recency = Some(RecencyParts {
        info: RecencyInfo { weight: 1.0, decay: 0.8, window: 4 },
        history: vec![Vec::new(); USERS],
    });
    assert!(err(&b).contains("no recency component"));
    let mut b = sequence_builder(12);
    if let Some(s) = b.sequence.as_mut() {
        s.blocks[0].ff2_b.pop();
    }
    assert!(err(&b).contains("seq.block0.ff2_b has 7 values, expected 8"), "{}", err(&b));
    let mut b = sequence_builder(12);
    if let Some(s) = b.sequence.as_mut() {
        s.history[2].push(ITEMS as u32);
    }
    assert!(err(&b).contains("out of range"));
    let mut b = sequence_builder(12);
    if let Some(s) = b.sequence.as_mut() {
        s.positions[0] = f32::INFINITY;
    }
    assert!(err(&b).contains("non-finite"));
}
