//! `trainer evaluate-index` on a 20,000-item model built through the core, and the export
//! options `--quantize` / `--index` / `--item-map` on a small trained model.

use std::path::Path;

use edgerec_core::{IndexParams, ModelBuilder, ModelKind, build_index};

use crate::common::{ok, trainer};

/// A ranking model whose items sit around 50 centres (as trained factors cluster), with an
/// index of 141 lists probed 4 at a time.
fn clustered_model(path: &Path, index: bool) {
    let (users, items, dim) = (300usize, 20_000usize, 32usize);
    let mut state = 7u64;
    let mut normal = move || {
        let mut s = 0f32;
        for _ in 0..12 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            s += (state >> 40) as f32 / (1u64 << 24) as f32;
        }
        s - 6.0
    };
    let centres: Vec<f32> = (0..50 * dim).map(|_| normal()).collect();
    let mut b = ModelBuilder::new(ModelKind::Ranking, dim);
    b.user_ids = (0..users).map(|u| format!("u{u}")).collect();
    b.item_ids = (0..items).map(|i| format!("i{i}")).collect();
    b.user_factors = (0..users * dim).map(|_| normal()).collect();
    b.item_factors =
        (0..items * dim).map(|x| centres[(x / dim % 50) * dim + x % dim] + 0.3 * normal()).collect();
    b.user_bias = vec![0.0; users];
    b.item_bias = (0..items).map(|_| 0.1 * normal()).collect();
    if index {
        let params = IndexParams { nprobe: 4, ..IndexParams::with_lists(141) };
        b.index = Some(build_index(&b.item_factors, &b.item_bias, dim, &params).unwrap());
    }
    std::fs::write(path, b.build().unwrap()).unwrap();
}

#[test]
fn evaluate_index_reports_recall_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("big.safetensors");
    clustered_model(&model, true);
    let model = model.to_str().unwrap();

    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["evaluate-index", "--model", model, "--queries", "150", "--json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let default = run(&[]);
    let recall = default["recall_at_10"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&recall), "{default}");
    for side in ["exact", "index"] {
        let (p50, p99) =
            (default[side]["p50_ms"].as_f64().unwrap(), default[side]["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p50 <= p99, "{side}: {default}");
    }
    assert_eq!(default["nprobe"], 4);
    assert_eq!(default["lists"], 141);
    assert_eq!(default["items"], 20_000);
    assert_eq!(default["artifact_bytes"].as_u64().unwrap(), std::fs::metadata(model).unwrap().len());
    // A generous nprobe finds nearly all of the exact top 10; every list is exact search.
    assert!(run(&["--nprobe", "40"])["recall_at_10"].as_f64().unwrap() >= 0.95);
    assert_eq!(run(&["--nprobe", "141"])["recall_at_10"].as_f64().unwrap(), 1.0);
    // The table form and the errors.
    assert!(ok(&["evaluate-index", "--model", model, "--queries", "20"]).contains("recall@10"));
    let out = trainer(&["evaluate-index", "--model", model, "--nprobe", "142"]);
    assert!(!out.status.success());
    let plain = dir.path().join("plain.safetensors");
    clustered_model(&plain, false);
    let out = trainer(&["evaluate-index", "--model", plain.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no index"));
}

#[test]
fn train_exports_compact_factors_and_skips_the_index_for_small_catalogues() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    let data = data.to_str().unwrap();
    ok(&[
        "generate",
        "--users",
        "80",
        "--items",
        "60",
        "--interactions",
        "2000",
        "--seed",
        "3",
        "--out",
        data,
    ]);
    for (q, want) in [("int8", "int8"), ("f16", "f16"), ("none", "f32")] {
        let model = dir.path().join(format!("{q}.safetensors"));
        let model = model.to_str().unwrap();
        ok(&[
            "train",
            "--data",
            data,
            "--epochs",
            "3",
            "--quantize",
            q,
            "--index",
            "auto",
            "--out",
            model,
            "--quiet",
        ]);
        let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", model, "--json"])).unwrap();
        assert_eq!(inspect["model"]["item_factors"], want, "{inspect}");
        // Compact factors bring compact item tables (format v5); f32 keeps the older version.
        let version = if q == "none" { 2 } else { 5 };
        assert_eq!(inspect["model"]["format_version"], version, "{inspect}");
        assert!(inspect["model"]["index"].is_null(), "60 items get no index: {inspect}");
        ok(&["recommend", "--model", model, "--user", "a-visitor"]);
    }
}

/// `--item-map`: `auto` stores the 2-D map below 50,000 items, `off` leaves it out (8 bytes
/// per item), `on` keeps it; every artifact loads and answers.
#[test]
fn train_item_map_flag_stores_or_leaves_out_the_projection() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    let data = data.to_str().unwrap();
    ok(&[
        "generate",
        "--users",
        "60",
        "--items",
        "40",
        "--interactions",
        "1200",
        "--seed",
        "5",
        "--out",
        data,
    ]);
    let mut sizes = Vec::new();
    for (flag, stored) in [("auto", true), ("on", true), ("off", false)] {
        let model = dir.path().join(format!("{flag}.safetensors"));
        let model = model.to_str().unwrap();
        ok(&["train", "--data", data, "--item-map", flag, "--out", model, "--quiet"]);
        let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", model, "--json"])).unwrap();
        assert_eq!(inspect["model"]["has_projection"], stored, "--item-map {flag}: {inspect}");
        ok(&["recommend", "--model", model, "--user", "a-visitor"]);
        sizes.push(std::fs::metadata(model).unwrap().len());
    }
    assert!(sizes[2] < sizes[1], "off leaves out 8 bytes per item: {sizes:?}");
}
