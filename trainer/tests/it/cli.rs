//! The `trainer` binary end to end on a small generated file: train → artifact → evaluate,
//! recommend, inspect and analyze through the core; bad flags and divergence write nothing.

use std::path::{Path, PathBuf};

use crate::common::{fail, ok, trainer};

fn small_data(dir: &Path) -> PathBuf {
    let path = dir.join("data.csv");
    ok(&[
        "generate",
        "--users",
        "150",
        "--items",
        "90",
        "--interactions",
        "4000",
        "--seed",
        "9",
        "--out",
        path.to_str().unwrap(),
    ]);
    path
}

#[test]
fn train_export_and_use_the_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let data = data.to_str().unwrap();
    let model = dir.path().join("m.safetensors");
    let model = model.to_str().unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "train", "--data", data, "--out", model, "--dim", "16", "--epochs", "5", "--json",
    ]))
    .unwrap();
    assert_eq!(report["users"], 150);
    // The default on rated, timestamped data: a hybrid model on the time-ordered split.
    assert_eq!(report["config"]["objective"], "hybrid");
    assert_eq!(report["experiment"]["split"], "last");
    assert_eq!(report["val_interactions"], 150, "one held-out interaction per user");
    let rmse = report["metrics"]["rmse"].as_f64().unwrap();
    assert!((0.3..1.6).contains(&rmse), "rating head RMSE {rmse}");
    for baseline in ["global_mean", "biases_only", "most_popular", "recently_popular"] {
        assert!(report["baselines"][baseline].is_object(), "{baseline} missing");
    }
    assert!(Path::new(&format!("{}", dir.path().join("m.loss.svg").display())).exists());

    let inspect: serde_json::Value = serde_json::from_str(&ok(&["inspect", model, "--json"])).unwrap();
    assert_eq!(inspect["model"]["num_users"], 150);
    assert_eq!(inspect["model"]["kind"], "ranking");
    assert_eq!(inspect["model"]["rating_head_dim"], 16);
    assert_eq!(inspect["model"]["format_version"], 2);
    assert_eq!(inspect["info"]["data_fingerprint"], report["data_fingerprint"]);
    assert!(inspect["model"]["has_projection"].as_bool().unwrap());

    let eval: serde_json::Value =
        serde_json::from_str(&ok(&["evaluate", "--model", model, "--data", data, "--json"])).unwrap();
    let train_rmse = eval["rmse"].as_f64().unwrap();
    assert!((0.1..rmse).contains(&train_rmse), "training RMSE {train_rmse} vs held-out {rmse}");
    assert_eq!(eval["skipped_unknown"], 0);
    // The time-ordered evaluation prints the baselines beside the model.
    let last: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate", "--model", model, "--data", data, "--split", "last", "--json", "--quiet",
    ]))
    .unwrap();
    assert_eq!(last["pairs"], 150);
    assert!(last["baselines"]["most_popular"]["hr"].is_number());
    // Evaluating on the training data itself is allowed, but it is said plainly.
    let out = trainer(&["evaluate", "--model", model, "--data", data]);
    assert!(out.status.success());
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("interactions the model was trained on"), "{warning}");

    let user = inspect_first_user(model);
    let recs: serde_json::Value =
        serde_json::from_str(&ok(&["recommend", "--model", model, "--user", &user, "-n", "7", "--json"]))
            .unwrap();
    assert_eq!(recs["items"].as_array().unwrap().len(), 7);
    assert_eq!(recs["source"], "personalized");
    let cold: serde_json::Value =
        serde_json::from_str(&ok(&["recommend", "--model", model, "--user", "NOBODY", "--json"])).unwrap();
    assert_eq!(cold["source"], "popular");

    let map = dir.path().join("analysis.json");
    let text = ok(&["analyze", "--model", model, "--out", map.to_str().unwrap()]);
    assert!(text.contains("purity"), "{text}");
    let analysis: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(analysis["item_map"].as_array().unwrap().len(), 90);
}

#[test]
fn a_rating_model_on_constant_ratings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("purchases.csv");
    let mut text = String::from("user_id,item_id,rating,timestamp\n");
    for u in 0..30 {
        for i in 0..8 {
            text.push_str(&format!("U{u},I{},1,{}\n", (u + i) % 20, 1_700_000_000 + u * 100 + i));
        }
    }
    std::fs::write(&path, text).unwrap();
    let model = dir.path().join("m.safetensors");
    let out = trainer(&[
        "train",
        "--data",
        path.to_str().unwrap(),
        "--objective",
        "rating",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("would learn nothing"));
    assert!(!model.exists(), "nothing is written");
    // The default picks a ranking model for it.
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "train",
        "--data",
        path.to_str().unwrap(),
        "--dim",
        "8",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(report["config"]["objective"], "ranking");
}

fn inspect_first_user(model: &str) -> String {
    let bytes = std::fs::read(model).unwrap();
    let m = edgerec_core::Model::from_bytes(&bytes).unwrap();
    m.user_id(0).to_owned()
}

#[test]
fn invalid_flags_are_rejected_before_any_work_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.safetensors");
    let out = out.to_str().unwrap();
    // The data file does not exist: flag validation must come first.
    for (flags, needle) in [
        (vec!["--dim", "0"], "--dim"),
        (vec!["--lr", "0"], "--lr"),
        (vec!["--lr", "-1"], "--lr"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--folds", "1"], "--folds"),
        (vec!["--behavior-weights", "view=1,teleport=3"], "--behavior-weights"),
    ] {
        let mut args = vec!["train", "--data", "/nonexistent.csv", "--out", out];
        args.extend(flags);
        let err = fail(&args);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(!Path::new(out).exists());
}

#[test]
fn unknown_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let out = dir.path().join("never.safetensors");
    let err = fail(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--rating-col",
        "stars",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("stars"), "{err}");
    assert!(!out.exists());
}

#[test]
fn diverging_training_stops_with_a_hint_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let out = dir.path().join("diverged.safetensors");
    let err = fail(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--optimizer",
        "sgd",
        "--lr",
        "50",
        "--reg",
        "0",
        "--epochs",
        "5",
    ]);
    assert!(err.contains("diverged") && err.contains("--lr"), "{err}");
    assert!(!out.exists(), "a failed run must not write an artifact");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("tmp"))
    );
}

#[test]
fn cross_validation_reports_mean_and_std() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--folds",
        "3",
        "--dim",
        "8",
        "--epochs",
        "3",
        "--json",
    ]))
    .unwrap();
    assert_eq!(report["folds"].as_array().unwrap().len(), 3);
    let (mean, std) =
        (report["summary"]["rmse"][0].as_f64().unwrap(), report["summary"]["rmse"][1].as_f64().unwrap());
    assert!(mean > 0.5 && mean < 1.5, "mean RMSE {mean}");
    // Two folds of different data give different errors, but not wildly different ones.
    assert!(std > 0.0 && std < 0.2, "RMSE std {std} over folds");
}

#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let err = fail(&["train", "--data", "/nonexistent.csv", "--device", "cuda"]);
    assert!(err.contains("--features cuda"), "{err}");
}
